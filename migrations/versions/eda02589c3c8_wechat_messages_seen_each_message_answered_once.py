"""wechat_messages_seen: the callback answers each message or event once

Revision ID: eda02589c3c8
Revises: 966d536ff4c9
Create Date: 2026-12-07 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "eda02589c3c8"
down_revision = "966d536ff4c9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wechat_messages_seen",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_wechat_messages_seen")),
    )


def downgrade():
    op.drop_table("wechat_messages_seen")
