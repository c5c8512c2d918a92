"""audio and video lessons: media, their processing jobs, uploads and readers' progress

A lesson (or an item) may have an audio or video body: `media`, made into encrypted HLS by
jobs in `media_jobs` that `flask shop media-worker` takes; `media_uploads` are files still
arriving in chunks; `media_progress` is how far each reader has played each media.

Revision ID: 7142cd431ccd
Revises: dd73eb2403e2
Create Date: 2026-12-07 22:36:15.063801

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7142cd431ccd"
down_revision = "dd73eb2403e2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "audio",
                "video",
                name="media_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "processing",
                "ready",
                "failed",
                name="media_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("renditions", sa.JSON(), nullable=False),
        sa.Column("has_poster", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("key_hex", sa.String(length=32), nullable=False),
        sa.Column("preview_seconds", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.String(length=300), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("duration_ms > 0", name=op.f("ck_media_media_duration_positive")),
        sa.CheckConstraint(
            "preview_seconds IS NULL OR preview_seconds > 0",
            name=op.f("ck_media_media_preview_positive"),
        ),
        sa.CheckConstraint(
            "progress BETWEEN 0 AND 100", name=op.f("ck_media_media_progress_percent")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_media_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_media_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_section_id"), ["section_id"], unique=False)

    op.create_table(
        "media_uploads",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("received_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "received_bytes <= size_bytes", name=op.f("ck_media_uploads_media_upload_within_size")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_media_uploads_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_media_uploads_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_media_uploads")),
    )
    op.create_table(
        "media_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="media_job_state",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("leased_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_media_jobs_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_jobs")),
    )
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_jobs_media_id"), ["media_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_jobs_state"), ["state"], unique=False)

    op.create_table(
        "media_progress",
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("position_ms", sa.Integer(), nullable=False),
        sa.Column("furthest_ms", sa.Integer(), nullable=False),
        sa.Column("played_ms", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_media_progress_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reader_id"],
            ["readers.id"],
            name=op.f("fk_media_progress_reader_id_readers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reader_id", "media_id", name=op.f("pk_media_progress")),
    )
    with op.batch_alter_table("media_progress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_progress_media_id"), ["media_id"], unique=False)


def downgrade():
    with op.batch_alter_table("media_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_progress_media_id"))

    op.drop_table("media_progress")
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_media_jobs_media_id"))

    op.drop_table("media_jobs")
    op.drop_table("media_uploads")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_section_id"))
        batch_op.drop_index(batch_op.f("ix_media_product_id"))

    op.drop_table("media")
