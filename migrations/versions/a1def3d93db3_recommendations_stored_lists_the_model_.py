"""recommendations: stored lists, the model row, slot counters, order rec_slot

Revision ID: a1def3d93db3
Revises: 90b85c853b95
Create Date: 2026-11-26 02:38:06.684101

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1def3d93db3"
down_revision = "90b85c853b95"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rec_slot_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(length=20), nullable=False),
        sa.Column("product_key", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "slot", "product_key", name=op.f("pk_rec_slot_daily")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "recs_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("popular", sa.JSON(), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recs_model")),
    )
    op.create_table(
        "item_recs",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("also_bought", sa.JSON(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_item_recs_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_item_recs")),
    )
    op.create_table(
        "reader_recs",
        sa.Column("reader_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reader_id"],
            ["readers.id"],
            name=op.f("fk_reader_recs_reader_id_readers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reader_id", name=op.f("pk_reader_recs")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rec_slot", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("rec_slot")

    op.drop_table("reader_recs")
    op.drop_table("item_recs")
    op.drop_table("recs_model")
    op.drop_table("rec_slot_daily")
