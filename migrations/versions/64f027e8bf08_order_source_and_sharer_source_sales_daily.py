"""orders.source and orders.sharer_id, source_sales_daily, wechat_qr_codes: attribution

What brought each order's reader (a 公众号 link, a share card, a poster) and who shared it;
its daily rollup for the dashboard; and the posters' 带参数二维码, kept per scene. The
rollups are rebuilt on the next dashboard visit (their state is reset), so the new one
starts complete; orders from before count as direct. The sandbox keeps the codes it makes.

Revision ID: 64f027e8bf08
Revises: eda02589c3c8
Create Date: 2026-12-07 13:26:48.266683

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "64f027e8bf08"
down_revision = "eda02589c3c8"
branch_labels = None
depends_on = None

SOURCES = ("menu", "reply", "search", "share", "poster", "direct")


def upgrade():
    op.create_table(
        "source_sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("sharer_key", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("refund_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "source", "sharer_key", "kind", name=op.f("pk_source_sales_daily")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "wechat_qr_codes",
        sa.Column("scene", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scene", name=op.f("pk_wechat_qr_codes")),
    )
    op.create_table(
        "sandbox_qr_codes",
        sa.Column("ticket", sa.String(length=200), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("scene", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ticket", name=op.f("pk_sandbox_qr_codes")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source",
                sa.Enum(
                    *SOURCES,
                    name="order_source",
                    native_enum=False,
                    create_constraint=True,
                    length=20,
                ),
                server_default="direct",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("sharer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_sharer_id_readers"),
            "readers",
            ["sharer_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute("DELETE FROM rollup_state")


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_orders_sharer_id_readers"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_orders_order_source"), type_="check")
        batch_op.drop_column("sharer_id")
        batch_op.drop_column("source")
    op.drop_table("sandbox_qr_codes")
    op.drop_table("wechat_qr_codes")
    op.drop_table("source_sales_daily")
    op.execute("DELETE FROM rollup_state")
