"""points: the readers' balance, its ledger and the shop's rates

积分: each reader's balance (never below 0, a CHECK says so) and the ledger of every
change to it; what an order spent and earned; the shop's rates (earning is off until the
creator sets a rate). Existing readers start at 0.

Revision ID: 1124144d7e42
Revises: 25f9a950d1a4
Create Date: 2026-12-07 19:56:00.262710

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "1124144d7e42"
down_revision = "25f9a950d1a4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "points_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "earned",
                "spent",
                "returned",
                "reversed",
                name="points_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "balance_after >= 0", name=op.f("ck_points_entries_points_never_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_points_entries_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"], ["readers.id"], name=op.f("fk_points_entries_reader_id_readers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
    )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_points_entries_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_points_entries_reader_id"), ["reader_id"], unique=False
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_spent", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("points_earned", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("readers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_balance", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_readers_points_not_negative"), "points_balance >= 0"
        )

    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_earn_per_yuan", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("points_per_yuan", sa.Integer(), server_default="100", nullable=False)
        )
        batch_op.add_column(
            sa.Column("points_max_percent", sa.Integer(), server_default="20", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("shop_profile", schema=None) as batch_op:
        batch_op.drop_column("points_max_percent")
        batch_op.drop_column("points_per_yuan")
        batch_op.drop_column("points_earn_per_yuan")

    with op.batch_alter_table("readers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_readers_points_not_negative"), type_="check")
        batch_op.drop_column("points_balance")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("points_earned")
        batch_op.drop_column("points_spent")

    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_entries_reader_id"))
        batch_op.drop_index(batch_op.f("ix_points_entries_order_id"))

    op.drop_table("points_entries")
