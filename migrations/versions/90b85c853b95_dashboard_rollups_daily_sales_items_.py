"""dashboard rollups: daily sales, items, hours, page views, buyers, cohorts

Revision ID: 90b85c853b95
Revises: 08c765eed96f
Create Date: 2026-11-26 01:44:40.812021

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "90b85c853b95"
down_revision = "08c765eed96f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "buyer_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reader_ids", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_buyer_days")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "buyer_firsts",
        sa.Column("reader_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("reader_id", name=op.f("pk_buyer_firsts")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("buyer_firsts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buyer_firsts_first_day"), ["first_day"], unique=False)

    op.create_table(
        "cohort_monthly",
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cohort", "month", name=op.f("pk_cohort_monthly")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "item_sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_key", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("refund_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "product_key", "kind", name=op.f("pk_item_sales_daily")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "page_views_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_key", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "product_key", name=op.f("pk_page_views_daily")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "purchases_hourly",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "hour", name=op.f("pk_purchases_hourly")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(), nullable=True),
        sa.Column("folded_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_state")),
    )
    op.create_table(
        "sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("refund_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "channel", name=op.f("pk_sales_daily")),
        sqlite_with_rowid=False,
    )


def downgrade():
    op.drop_table("sales_daily")
    op.drop_table("rollup_state")
    op.drop_table("purchases_hourly")
    op.drop_table("page_views_daily")
    op.drop_table("item_sales_daily")
    op.drop_table("cohort_monthly")
    with op.batch_alter_table("buyer_firsts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buyer_firsts_first_day"))

    op.drop_table("buyer_firsts")
    op.drop_table("buyer_days")
