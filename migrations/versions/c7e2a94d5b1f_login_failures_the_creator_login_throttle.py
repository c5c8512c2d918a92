"""login_failures: the creator login throttle's count, shared by every worker

Revision ID: c7e2a94d5b1f
Revises: 600a5cc6ff0a
Create Date: 2026-12-04 19:55:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7e2a94d5b1f"
down_revision = "600a5cc6ff0a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_failed_at"), ["failed_at"])
        batch_op.create_index(batch_op.f("ix_login_failures_ip"), ["ip"])
        batch_op.create_index(batch_op.f("ix_login_failures_username"), ["username"])


def downgrade():
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_username"))
        batch_op.drop_index(batch_op.f("ix_login_failures_ip"))
        batch_op.drop_index(batch_op.f("ix_login_failures_failed_at"))
    op.drop_table("login_failures")
