"""sandbox_followers, sandbox_follower_messages: who follows the sandbox's 公众号, and what
the follower page pushed to the shop's callback with the shop's answers

Revision ID: e83e8784d4fd
Revises: 64f027e8bf08
Create Date: 2026-12-07 13:29:34.630102

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e83e8784d4fd"
down_revision = "64f027e8bf08"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_follower_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.String(length=700), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("sent_xml", sa.Text(), nullable=False),
        sa.Column("safe_mode", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("reply_xml", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_follower_messages")),
    )
    with op.batch_alter_table("sandbox_follower_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_follower_messages_openid"), ["openid"], unique=False
        )

    op.create_table(
        "sandbox_followers",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("followed_at", sa.DateTime(), nullable=True),
        sa.Column("last_interaction_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_sandbox_followers")),
    )


def downgrade():
    op.drop_table("sandbox_followers")
    with op.batch_alter_table("sandbox_follower_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_follower_messages_openid"))
    op.drop_table("sandbox_follower_messages")
