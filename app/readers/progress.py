"""Reading progress: where a reader is in each item, for 继续阅读 and the library.

Opening a lesson records progress, and inside WeChat every reader has a session: a course
launch is many readers writing at once. So the write never happens in the page's own
transaction, which has read by then (on SQLite such a transaction cannot become a writer
while another one commits: "database is locked", whatever the busy timeout).
`record_opened` only notes the lesson, and only when the stored progress is another one
(a reload writes nothing). When the request ends, once its response is built and before it
is sent, `save_noted` writes the note in one upsert on a connection of its own that takes
the write lock first (`writing_apart`). The next page the reader asks for, from any worker,
sees it. A write that fails is logged; the page it follows is served all the same.
"""

from dataclasses import asdict, dataclass

import sqlalchemy as sa
from flask import current_app, g

from app.extensions import db
from app.models import Product, Reader, ReadingProgress, Section
from app.models.base import utcnow
from app.readers.snapshot import Bookmark
from app.transactions import writing_apart

_NOTE_KEY = "reading_progress_note"


@dataclass(frozen=True)
class _Note:
    reader_id: int
    product_id: int
    section_id: int


def init_app(app) -> None:
    app.teardown_request(save_noted)


_progress = ReadingProgress.__table__
_sections = Section.__table__
_products = Product.__table__

# A lesson served from the page cache still records the reader's progress: the section by
# its address and what is stored for it now, in one statement built once.
_OPENED = (
    sa.select(_sections.c.id, _sections.c.product_id, _progress.c.section_id)
    .join(_products, _products.c.id == _sections.c.product_id)
    .outerjoin(
        _progress,
        sa.and_(
            _progress.c.product_id == _sections.c.product_id,
            _progress.c.reader_id == sa.bindparam("reader_id"),
        ),
    )
    .where(_products.c.slug == sa.bindparam("slug"), _sections.c.position == sa.bindparam("pos"))
)


def record_opened(
    reader_id: int, bookmark: Bookmark | None, product_slug: str, position: int
) -> None:
    """This reader, whose bookmark in the item is `bookmark`, opened this section: noted when
    the bookmark is elsewhere, and saved when the request ends (see above). A reload costs
    nothing; a move, one query by the section's address, no rows loaded (a lesson served from
    the page cache records it too)."""
    if bookmark is not None and bookmark.position == position:
        return
    row = (
        db.session.connection()
        .execute(_OPENED, {"reader_id": reader_id, "slug": product_slug, "pos": position})
        .first()
    )
    if row is not None and row.section_id != row.id:
        setattr(g, _NOTE_KEY, _Note(reader_id, row.product_id, row.id))


def save_noted(error: BaseException | None = None) -> None:
    """Write the progress this request noted, unless the request failed."""
    note = g.pop(_NOTE_KEY, None)
    if note is None or error is not None:
        return
    # The request is over: its session ends first, so that nothing it holds is waited for.
    db.session.remove()
    try:
        with writing_apart() as connection:
            saved = {**asdict(note), "updated_at": utcnow()}
            connection.execute(_save_statement(connection.dialect.name), saved)
    except sa.exc.SQLAlchemyError:  # bookkeeping: the reader's page is not at stake
        current_app.logger.warning("reading progress not saved", exc_info=True)


def _save_statement(dialect: str) -> sa.Insert:
    """The reader's progress in this item, created or moved to the section, in one statement
    (the same syntax on SQLite and PostgreSQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(ReadingProgress.__table__)
    return statement.on_conflict_do_update(
        index_elements=["reader_id", "product_id"],
        set_={
            "section_id": statement.excluded.section_id,
            "updated_at": statement.excluded.updated_at,
        },
    )


def last_read_section(reader: Reader | None, product: Product) -> Section | None:
    if reader is None:
        return None
    return db.session.scalar(
        sa.select(Section)
        .join(ReadingProgress, ReadingProgress.section_id == Section.id)
        .where(ReadingProgress.reader_id == reader.id, ReadingProgress.product_id == product.id)
    )
