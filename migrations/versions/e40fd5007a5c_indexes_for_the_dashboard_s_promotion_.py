"""indexes for the dashboard's promotion effects: discounted orders, points by kind and time

营销效果 reads the discounted orders of a range and the points given and spent in it; on a
shop with a million orders, without these, it read every order and every ledger line.

Revision ID: e40fd5007a5c
Revises: 7142cd431ccd
Create Date: 2026-12-07 23:00:48.943120

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e40fd5007a5c"
down_revision = "7142cd431ccd"
branch_labels = None
depends_on = None

# As app/models/orders.py has it: a query must name the condition exactly so for SQLite.
DISCOUNTED = "coupon_id IS NOT NULL OR points_spent > 0 OR list_price_fen != amount_fen"


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_discounted",
            ["status", "created_at"],
            unique=False,
            sqlite_where=sa.text(DISCOUNTED),
            postgresql_where=sa.text(DISCOUNTED),
        )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_points_entries_kind_created_at", ["kind", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_kind_created_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_discounted")
