"""membership reminders: when a reader was told their pass ends soon

`flask shop remind-members` tells readers a few days before their 会员 pass ends, once
per ending; memberships.reminded_at records it.

Revision ID: dd73eb2403e2
Revises: 5849be63da33
Create Date: 2026-12-07 20:59:07.491922

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "dd73eb2403e2"
down_revision = "5849be63da33"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
