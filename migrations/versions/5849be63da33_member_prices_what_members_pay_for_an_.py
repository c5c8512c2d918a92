"""member prices: what members pay for an item their pass covers

An item may set a member price: readers whose 会员 pass covers it pay that instead of
reading it free. Existing items have none (members read them free, as before).

Revision ID: 5849be63da33
Revises: 5c37c94d8ac9
Create Date: 2026-12-07 20:52:58.114051

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5849be63da33"
down_revision = "5c37c94d8ac9"
branch_labels = None
depends_on = None

BELOW_PRICE = "member_price_fen IS NULL OR (member_price_fen > 0 AND member_price_fen < price_fen)"


def upgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_price_fen", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_products_member_price_below_price"), BELOW_PRICE)


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_products_member_price_below_price"), type_="check")
        batch_op.drop_column("member_price_fen")
