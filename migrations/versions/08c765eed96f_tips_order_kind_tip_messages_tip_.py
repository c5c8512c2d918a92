"""tips: order kind, tip messages, tip settings

Revision ID: 08c765eed96f
Revises: 46b64b0ab0b4
Create Date: 2026-11-26 01:03:38.663987

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "08c765eed96f"
down_revision = "46b64b0ab0b4"
branch_labels = None
depends_on = None

OPEN_PURCHASE = "status = 'pending' AND kind = 'purchase'"
OPEN_ORDER = "status = 'pending'"


def upgrade():
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=100), nullable=False),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(length=20), nullable=False),
        sa.Column("message_hidden_at", sa.DateTime(), nullable=True),
        sa.Column("request_token", sa.String(length=43), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_tips_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tips")),
        sa.UniqueConstraint("order_id", name=op.f("uq_tips_order_id")),
        sa.UniqueConstraint("request_token", name=op.f("uq_tips_request_token")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "purchase",
                    "tip",
                    name="order_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=20,
                ),
                server_default="purchase",
                nullable=False,
            )
        )
        batch_op.alter_column("product_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_orders_purchase_has_product"), "kind = 'tip' OR product_id IS NOT NULL"
        )
        batch_op.drop_index("uq_orders_open_per_reader_product")
        batch_op.create_index(
            "uq_orders_open_per_reader_product",
            ["reader_id", "product_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_PURCHASE),
            postgresql_where=sa.text(OPEN_PURCHASE),
        )

    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tip_presets_fen",
                sa.JSON(),
                server_default="[200, 500, 1000, 2000, 5000]",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("tip_max_fen", sa.Integer(), server_default="50000", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "tip_thanks_note",
                sa.String(length=200),
                server_default="谢谢你的赞赏！你的支持是我继续写下去的动力。",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("tip_show_amounts", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.drop_column("tip_show_amounts")
        batch_op.drop_column("tip_thanks_note")
        batch_op.drop_column("tip_max_fen")
        batch_op.drop_column("tip_presets_fen")

    # Tips have no item to keep as an order of the old kind: they go with their table.
    op.execute("DELETE FROM tips")
    op.execute(
        "DELETE FROM payment_events WHERE order_id IN (SELECT id FROM orders WHERE kind = 'tip')"
    )
    op.execute("DELETE FROM refunds WHERE order_id IN (SELECT id FROM orders WHERE kind = 'tip')")
    op.execute("DELETE FROM orders WHERE kind = 'tip'")
    op.drop_table("tips")
    # The index names `kind`, so it goes before the column does (outside the batch, which
    # would otherwise copy the old index onto the rebuilt table).
    op.drop_index("uq_orders_open_per_reader_product", table_name="orders")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_purchase_has_product"), type_="check")
        batch_op.alter_column("product_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_constraint(op.f("ck_orders_order_kind"), type_="check")
        batch_op.drop_column("kind")
    op.create_index(
        "uq_orders_open_per_reader_product",
        "orders",
        ["reader_id", "product_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_ORDER),
        postgresql_where=sa.text(OPEN_ORDER),
    )
