"""readers' chosen name and avatar; the sandbox's snapshot-page grants

Since WeChat stopped describing readers (snsapi_userinfo answers "微信用户" and a grey
default picture), readers name themselves on 我的: `chosen_name` and `chosen_avatar` (an
uploaded file's name) sit beside what WeChat said and win over it. WeChat's placeholder was
stored as if it were a name until now; it is cleared, so it never counts as one.

`sandbox_oauth_grants.snapshot_openid` lets the sandbox play a 朋友圈 snapshot page, whose
grants name a stand-in openid.

Revision ID: 4089750b1041
Revises: e83e8784d4fd
Create Date: 2026-12-07 13:28:08.810329

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4089750b1041"
down_revision = "e83e8784d4fd"
branch_labels = None
depends_on = None

# WeChat's placeholder name, and the image id in the URL of its grey default picture.
PLACEHOLDER_NICKNAME = "微信用户"
DEFAULT_AVATAR_ID = (
    "POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg"
)


def upgrade():
    with op.batch_alter_table("readers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chosen_name", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("chosen_avatar", sa.String(length=64), nullable=True))

    with op.batch_alter_table("sandbox_oauth_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snapshot_openid", sa.String(length=64), nullable=True))

    readers = sa.table("readers", sa.column("nickname"), sa.column("avatar_url"))
    op.execute(
        readers.update()
        .where(readers.c.nickname == PLACEHOLDER_NICKNAME)
        .values(nickname=None)
    )
    op.execute(
        readers.update()
        .where(readers.c.avatar_url.like(f"%/{DEFAULT_AVATAR_ID}/%"))
        .values(avatar_url=None)
    )


def downgrade():
    with op.batch_alter_table("sandbox_oauth_grants", schema=None) as batch_op:
        batch_op.drop_column("snapshot_openid")

    with op.batch_alter_table("readers", schema=None) as batch_op:
        batch_op.drop_column("chosen_avatar")
        batch_op.drop_column("chosen_name")
