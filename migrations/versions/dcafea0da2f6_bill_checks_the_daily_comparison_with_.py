"""bill_checks: the daily comparison with WeChat's bill

One row per Beijing day that `flask orders bill` compared: the differences it found (or why
the bill could not be had), what became of the creator's message about them, and when the
creator marked them handled. The studio shows a banner while a row needs attention.

Revision ID: dcafea0da2f6
Revises: f3808e2faf8b
Create Date: 2026-12-07 16:20:05.814075

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "dcafea0da2f6"
down_revision = "f3808e2faf8b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bill_checks",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.Column("notice", sa.String(length=200), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_bill_checks")),
    )


def downgrade():
    op.drop_table("bill_checks")
