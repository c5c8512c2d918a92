"""offers, coupons, pay what you want, and the price on the order

Limited-time offers and coupons, with the uses reserved against a coupon; items sold
随心付 (the reader chooses the amount, at least a minimum; their price is the suggestion);
every order
keeps the price it was made at line by line (list price, discounts) and the coupon it
used. An order brought to 0 by a coupon is paid when placed and never goes to WeChat: the
pay channel "none", the only one whose amount may be (and must be) 0. Existing orders get
their amount as their list price and no lines.

Revision ID: 25f9a950d1a4
Revises: 54183ca4c1a4
Create Date: 2026-12-07 19:11:19.143486

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "25f9a950d1a4"
down_revision = "54183ca4c1a4"
branch_labels = None
depends_on = None

PWYW = "NOT pay_what_you_want OR (price_fen > 0 AND min_price_fen BETWEEN 0 AND price_fen)"
CHANNELS = "channel IN ('jsapi', 'h5', 'native')"
CHANNELS_WITH_NONE = "channel IN ('jsapi', 'h5', 'native', 'none')"


def upgrade():
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "amount",
                "percent",
                name="coupon_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("amount_off_fen", sa.Integer(), nullable=True),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("min_spend_fen", sa.Integer(), nullable=False),
        sa.Column("for_all_items", sa.Boolean(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("total_limit", sa.Integer(), nullable=True),
        sa.Column("per_reader_limit", sa.Integer(), nullable=False),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'amount' AND amount_off_fen > 0 AND percent_off IS NULL)"
            " OR (kind = 'percent' AND percent_off BETWEEN 1 AND 100 AND amount_off_fen IS NULL)",
            name=op.f("ck_coupons_coupon_discount_fits_kind"),
        ),
        sa.CheckConstraint(
            "min_spend_fen >= 0", name=op.f("ck_coupons_coupon_min_spend_not_negative")
        ),
        sa.CheckConstraint(
            "per_reader_limit >= 1", name=op.f("ck_coupons_coupon_per_reader_at_least_one")
        ),
        sa.CheckConstraint(
            "total_limit IS NULL OR total_limit >= 1", name=op.f("ck_coupons_coupon_total_limit")
        ),
        sa.CheckConstraint("used_count >= 0", name=op.f("ck_coupons_coupon_used_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    op.create_table(
        "coupon_products",
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_products_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_coupon_products_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("coupon_id", "product_id", name=op.f("pk_coupon_products")),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_offers_offer_ends_after_start")),
        sa.CheckConstraint("price_fen > 0", name=op.f("ck_offers_offer_price_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_offers_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_product_id"), ["product_id"], unique=False)

    op.create_table(
        "coupon_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("discount_fen", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "reserved",
                "kept",
                "released",
                name="coupon_use_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_uses_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_coupon_uses_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["readers.id"], name=op.f("fk_coupon_uses_reader_id_readers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_uses")),
        sa.UniqueConstraint("order_id", name=op.f("uq_coupon_uses_order_id")),
    )
    with op.batch_alter_table("coupon_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_uses_coupon_id"), ["coupon_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupon_uses_reader_id"), ["reader_id"], unique=False)

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pay_what_you_want", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("min_price_fen", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(op.f("ck_products_pay_what_you_want_fits_price"), PWYW)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("list_price_fen", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("price_lines", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("coupon_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_coupon_id"), ["coupon_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_coupon_id_coupons"), "coupons", ["coupon_id"], ["id"]
        )
    op.execute("UPDATE orders SET list_price_fen = amount_fen")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("list_price_fen", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f("ck_orders_pay_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_pay_channel"), CHANNELS_WITH_NONE)
        batch_op.drop_constraint(op.f("ck_orders_amount_positive"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_orders_amount_positive"), "amount_fen > 0 OR channel = 'none'"
        )
        batch_op.create_check_constraint(
            op.f("ck_orders_unpaid_channel_is_free"), "channel != 'none' OR amount_fen = 0"
        )


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_unpaid_channel_is_free"), type_="check")
        batch_op.drop_constraint(op.f("ck_orders_amount_positive"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_amount_positive"), "amount_fen > 0")
        batch_op.drop_constraint(op.f("ck_orders_pay_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_pay_channel"), CHANNELS)
        batch_op.drop_constraint(batch_op.f("fk_orders_coupon_id_coupons"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_orders_coupon_id"))
        batch_op.drop_column("coupon_id")
        batch_op.drop_column("price_lines")
        batch_op.drop_column("list_price_fen")

    with op.batch_alter_table("coupon_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_uses_reader_id"))
        batch_op.drop_index(batch_op.f("ix_coupon_uses_coupon_id"))

    op.drop_table("coupon_uses")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_product_id"))

    op.drop_table("offers")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_products_pay_what_you_want_fits_price"), type_="check")
        batch_op.drop_column("min_price_fen")
        batch_op.drop_column("pay_what_you_want")
    op.drop_table("coupon_products")
    op.drop_table("coupons")
