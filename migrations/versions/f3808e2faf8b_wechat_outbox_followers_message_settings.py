"""wechat_outbox, wechat_followers: the 公众号's messages after a payment

The messages owed about paid orders (queued with the payment, sent after it, with their
outcome), what the shop knows of who follows the 公众号 and when they last interacted (which
decides between a template message, a customer-service message and none), the creator's
message settings on the shop profile, the messages the sandbox got, and whether a sandbox
follower turned the account's messages off.

Revision ID: f3808e2faf8b
Revises: 4089750b1041
Create Date: 2026-12-07 13:27:23.984211

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3808e2faf8b"
down_revision = "4089750b1041"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table(
        "wechat_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("recipient", _enum("message_recipient", "buyer", "creator"), nullable=False),
        sa.Column("kind", _enum("message_kind", "purchase", "tip"), nullable=False),
        sa.Column(
            "status",
            _enum("message_status", "queued", "retrying", "sent", "skipped", "failed"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("channel", _enum("message_channel", "template", "custom"), nullable=True),
        sa.Column("openid", sa.String(length=64), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("errmsg", sa.String(length=200), nullable=False),
        sa.Column("msgid", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_wechat_outbox_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_outbox")),
        sa.UniqueConstraint(
            "order_id",
            "recipient",
            "kind",
            name=op.f("uq_wechat_outbox_order_id_recipient_kind"),
        ),
    )
    with op.batch_alter_table("wechat_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wechat_outbox_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_wechat_outbox_order_id"), ["order_id"], unique=False)

    op.create_table(
        "wechat_followers",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=True),
        sa.Column("subscribed_known_at", sa.DateTime(), nullable=True),
        sa.Column("last_interaction_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_wechat_followers")),
    )
    with op.batch_alter_table("wechat_followers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wechat_followers_last_interaction_at"),
            ["last_interaction_at"],
            unique=False,
        )

    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_templates", sa.JSON(), server_default="{}", nullable=False)
        )
        batch_op.add_column(
            sa.Column("creator_openid", sa.String(length=64), server_default="", nullable=False)
        )

    with op.batch_alter_table("sandbox_followers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refuses_messages", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "sandbox_sent_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("touser", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("msgid", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_sent_messages")),
    )
    with op.batch_alter_table("sandbox_sent_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_sent_messages_touser"), ["touser"], unique=False
        )


def downgrade():
    with op.batch_alter_table("sandbox_sent_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_sent_messages_touser"))
    op.drop_table("sandbox_sent_messages")
    with op.batch_alter_table("sandbox_followers", schema=None) as batch_op:
        batch_op.drop_column("refuses_messages")

    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.drop_column("creator_openid")
        batch_op.drop_column("message_templates")

    with op.batch_alter_table("wechat_followers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_followers_last_interaction_at"))
    op.drop_table("wechat_followers")

    with op.batch_alter_table("wechat_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_outbox_order_id"))
        batch_op.drop_index(batch_op.f("ix_wechat_outbox_next_attempt_at"))
    op.drop_table("wechat_outbox")
