"""job_runs: when each scheduled job last ran

One row per job (reconcile, the bill check, recommendations, backups), overwritten by each
run, so `flask shop doctor` can tell whether the timers run and whether their last run went
well.

Revision ID: ddccf745b648
Revises: dcafea0da2f6
Create Date: 2026-12-07 16:21:17.497161

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "ddccf745b648"
down_revision = "dcafea0da2f6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )


def downgrade():
    op.drop_table("job_runs")
