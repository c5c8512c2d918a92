"""memberships: passes for a number of days to all or chosen items

会员: a product of kind "membership" is a plan, a pass of membership_days that opens the items
in membership_items (every published item when it names none); memberships are the
stretches of time readers bought, one after another. The product kind's CHECK gains the
new kind.

Revision ID: 5c37c94d8ac9
Revises: cecdaaabf022
Create Date: 2026-12-07 20:33:16.949339

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c37c94d8ac9"
down_revision = "cecdaaabf022"
branch_labels = None
depends_on = None

KINDS = "kind IN ('article', 'course', 'column', 'download'"
MEMBERSHIP_HAS_DAYS = (
    "(kind = 'membership' AND membership_days > 0)"
    " OR (kind != 'membership' AND membership_days IS NULL)"
)


def upgrade():
    op.create_table(
        "membership_items",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["products.id"],
            name=op.f("fk_membership_items_plan_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_membership_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "product_id", name=op.f("pk_membership_items")),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_memberships_membership_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_memberships_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["products.id"], name=op.f("fk_memberships_plan_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["readers.id"], name=op.f("fk_memberships_reader_id_readers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_ends_at"), ["ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_reader_id"), ["reader_id"], unique=False)

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("membership_days", sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f("ck_products_product_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_products_product_kind"), KINDS + ", 'membership')"
        )
        batch_op.create_check_constraint(
            op.f("ck_products_membership_has_days"), MEMBERSHIP_HAS_DAYS
        )


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_products_membership_has_days"), type_="check")
        batch_op.drop_constraint(op.f("ck_products_product_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_products_product_kind"), KINDS + ")")
        batch_op.drop_column("membership_days")

    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_reader_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_plan_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_order_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_ends_at"))

    op.drop_table("memberships")
    op.drop_table("membership_items")
