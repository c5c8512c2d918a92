"""downloads counted per buyer against a cap; courses that forbid seeking ahead

products.download_limit caps how often each buyer may download each file (download_counts
keeps the count); products.no_seek_ahead keeps a first viewing from skipping ahead.

Revision ID: 5c18d6d3af4e
Revises: e40fd5007a5c
Create Date: 2026-12-07 23:07:16.710474

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c18d6d3af4e"
down_revision = "e40fd5007a5c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "download_counts",
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["product_files.id"],
            name=op.f("fk_download_counts_file_id_product_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"],
            ["readers.id"],
            name=op.f("fk_download_counts_reader_id_readers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reader_id", "file_id", name=op.f("pk_download_counts")),
    )
    with op.batch_alter_table("download_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_download_counts_file_id"), ["file_id"], unique=False)

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("download_limit", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("no_seek_ahead", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("no_seek_ahead")
        batch_op.drop_column("download_limit")

    with op.batch_alter_table("download_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_download_counts_file_id"))

    op.drop_table("download_counts")
