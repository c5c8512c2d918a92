"""Reading progress: where a reader is in each item, for 继续阅读 and the library."""

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Product, Reader, ReadingProgress, Section
from app.models.base import utcnow


def record_progress(reader: Reader, section: Section) -> None:
    progress = db.session.scalar(
        sa.select(ReadingProgress).where(
            ReadingProgress.reader_id == reader.id,
            ReadingProgress.product_id == section.product_id,
        )
    )
    if progress is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    ReadingProgress(
                        reader_id=reader.id, product_id=section.product_id, section_id=section.id
                    )
                )
        except IntegrityError:  # another tab recorded first; the next visit updates it
            pass
        return
    progress.section_id = section.id
    progress.updated_at = utcnow()


def last_read_section(reader: Reader | None, product: Product) -> Section | None:
    if reader is None:
        return None
    return db.session.scalar(
        sa.select(Section)
        .join(ReadingProgress, ReadingProgress.section_id == Section.id)
        .where(ReadingProgress.reader_id == reader.id, ReadingProgress.product_id == product.id)
    )


def last_read_by_product(reader: Reader) -> dict[int, Section]:
    rows = db.session.execute(
        sa.select(ReadingProgress.product_id, Section)
        .join(Section, ReadingProgress.section_id == Section.id)
        .where(ReadingProgress.reader_id == reader.id)
    )
    return {product_id: section for product_id, section in rows}


def last_read_section_id(reader_id: int, product_slug: str) -> int | None:
    """The section the reader last opened in this item, by its slug: one small query, for
    the page cache's key (the page itself loads the section)."""
    return db.session.scalar(
        sa.select(ReadingProgress.section_id)
        .join(Product, Product.id == ReadingProgress.product_id)
        .where(ReadingProgress.reader_id == reader_id, Product.slug == product_slug)
    )
