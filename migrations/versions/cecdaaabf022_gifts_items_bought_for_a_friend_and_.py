"""gifts: items bought for a friend and free reads passed on

请朋友读: a gift is a link whose first claimer gets the item, made when an order marked
as a gift is paid, or by a buyer passing on the one free read an article allows. Orders
bought as gifts are outside the one-open-purchase-per-item index (a reader may buy for
as many friends as they like).

Revision ID: cecdaaabf022
Revises: 1124144d7e42
Create Date: 2026-12-07 20:20:01.195426

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "cecdaaabf022"
down_revision = "1124144d7e42"
branch_labels = None
depends_on = None

OPEN_PURCHASE = "status = 'pending' AND kind = 'purchase'"
OPEN_OWN_PURCHASE = "status = 'pending' AND kind = 'purchase' AND NOT is_gift"


def upgrade():
    op.create_table(
        "gifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("giver_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["readers.id"], name=op.f("fk_gifts_claimed_by_readers")
        ),
        sa.ForeignKeyConstraint(
            ["giver_id"], ["readers.id"], name=op.f("fk_gifts_giver_id_readers")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_gifts_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_gifts_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gifts")),
        sa.UniqueConstraint("order_id", name=op.f("uq_gifts_order_id")),
        sa.UniqueConstraint("token", name=op.f("uq_gifts_token")),
    )
    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gifts_claimed_by"), ["claimed_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_gifts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gifts_giver_id"), ["giver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gifts_product_id"), ["product_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_gift", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_index("uq_orders_open_per_reader_product")
        batch_op.create_index(
            "uq_orders_open_per_reader_product",
            ["reader_id", "product_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_OWN_PURCHASE),
            postgresql_where=sa.text(OPEN_OWN_PURCHASE),
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "buyers_share_a_read", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("buyers_share_a_read")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("uq_orders_open_per_reader_product")
        batch_op.create_index(
            "uq_orders_open_per_reader_product",
            ["reader_id", "product_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_PURCHASE),
            postgresql_where=sa.text(OPEN_PURCHASE),
        )
        batch_op.drop_column("is_gift")

    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gifts_product_id"))
        batch_op.drop_index(batch_op.f("ix_gifts_giver_id"))
        batch_op.drop_index(batch_op.f("ix_gifts_created_at"))
        batch_op.drop_index(batch_op.f("ix_gifts_claimed_by"))

    op.drop_table("gifts")
