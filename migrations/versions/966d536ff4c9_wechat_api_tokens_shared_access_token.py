"""wechat_api_tokens: the Official Account's access token, shared by every process; the
sandbox's tokens and pushed menu

Revision ID: 966d536ff4c9
Revises: c7e2a94d5b1f
Create Date: 2026-12-07 12:22:43.923287

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "966d536ff4c9"
down_revision = "c7e2a94d5b1f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sandbox_api_tokens",
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_sandbox_api_tokens")),
    )
    op.create_table(
        "sandbox_menus",
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("appid", name=op.f("pk_sandbox_menus")),
    )
    op.create_table(
        "wechat_api_tokens",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("refreshing_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_wechat_api_tokens")),
    )


def downgrade():
    op.drop_table("wechat_api_tokens")
    op.drop_table("sandbox_menus")
    op.drop_table("sandbox_api_tokens")
