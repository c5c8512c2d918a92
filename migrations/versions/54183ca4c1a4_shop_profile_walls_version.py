"""shop_profile.walls_version: the supporter walls' own page-cache version

Tips used to bump content_version, so every paid tip expired every cached page of the shop;
now they bump walls_version, which only the pages that show a supporter wall carry in their
cache key. Existing shops start at 1.

Revision ID: 54183ca4c1a4
Revises: ddccf745b648
Create Date: 2026-12-07 17:38:28.034174

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "54183ca4c1a4"
down_revision = "ddccf745b648"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("walls_version", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade():
    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.drop_column("walls_version")
