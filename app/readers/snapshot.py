"""What a signed-in page knows about its reader, read in one round trip.

Inside WeChat every reader is signed in, and every catalog page depends on a few facts about
them: what they own (已购 badges, open lessons, the library), where they are in each item
(继续学习), their stored 为你推荐 list, and for 我的 their name and picture. Read together
with the session itself (see web_sessions.find_live), they cost a signed-in page one
statement, not one per fact.

The statement is a UNION ALL of one small part per fact, each row tagged with its part, so it
runs unchanged on SQLite and PostgreSQL. It is built once: a request pays only for running it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

import sqlalchemy as sa

from app.catalog import entitlements
from app.extensions import db
from app.models import Entitlement, Product, Reader, ReaderRecs, ReadingProgress, Section
from app.models.base import UTCDateTime, utcnow
from app.models.readers import display_name
from app.prepared_reads import PreparedRead

# The parts of a snapshot's statement, as tagged in its rows (SESSION is web_sessions').
SESSION, READER, OWNED, BOOKMARK, FOR_YOU, MEMBER = range(6)


@dataclass(frozen=True)
class Bookmark:
    """Where a reader is in one item: the section they last opened."""

    product_id: int
    section_id: int
    position: int


@dataclass(frozen=True)
class Profile:
    """What 我的 shows of a reader: WeChat's name and picture, and the ones they chose
    (see models.Reader)."""

    reader_id: int
    is_guest: bool
    nickname: str | None
    avatar_url: str | None
    chosen_name: str | None = None
    chosen_avatar: str | None = None

    @property
    def known_name(self) -> str | None:
        return self.chosen_name or self.nickname

    @property
    def display_name(self) -> str:
        return display_name(self.reader_id, self.is_guest, self.known_name)


@dataclass(frozen=True)
class ReaderSnapshot:
    profile: Profile | None = None
    # What the reader owns: product id -> when it was granted, newest first.
    owned_since: Mapping[int, datetime] = field(default_factory=lambda: MappingProxyType({}))
    bookmarks: Mapping[str, Bookmark] = field(default_factory=lambda: MappingProxyType({}))
    for_you: tuple[int, ...] = ()  # the stored list as it is, owned items included
    # What the reader's running memberships open (会员): theirs to read, not in their library.
    member_items: frozenset[int] = frozenset()

    @property
    def owned(self) -> frozenset[int]:
        return frozenset(self.owned_since) | self.member_items


NOBODY = ReaderSnapshot()

_readers = Reader.__table__
_entitlements = Entitlement.__table__
_progress = ReadingProgress.__table__
_sections = Section.__table__
_products = Product.__table__
_recs = ReaderRecs.__table__


def _none(type_: sa.types.TypeEngine) -> sa.ColumnElement:
    # A NULL of the column's type where a part does not fill it: PostgreSQL types a bare
    # NULL in a UNION as text, and the rows are read with the first part's types.
    return sa.cast(sa.null(), type_)


def columns(
    part: int,
    first=None,
    second=None,
    third=None,
    slug=None,
    items=None,
    at=None,
    name=None,
    picture=None,
    chosen_name=None,
    chosen_picture=None,
) -> list[sa.ColumnElement]:
    """One part's row: its tag, three integers, a slug, a JSON list, a time and four more
    strings, each NULL where the part has nothing to put."""

    def column(value, type_, name):
        return (value if value is not None else _none(type_)).label(name)

    return [
        sa.literal_column(str(part), sa.Integer).label("part"),
        column(first, sa.Integer, "first"),
        column(second, sa.Integer, "second"),
        column(third, sa.Integer, "third"),
        column(slug, sa.String, "slug"),
        column(items, sa.JSON, "items"),
        column(at, UTCDateTime, "at"),
        column(name, sa.String, "name"),
        column(picture, sa.String, "picture"),
        column(chosen_name, sa.String, "chosen_name"),
        column(chosen_picture, sa.String, "chosen_picture"),
    ]


def parts(reader_id: sa.ColumnElement) -> list[sa.Select]:
    """The reader's facts as parts of a UNION ALL, for the reader whose id `reader_id` gives."""
    return [
        sa.select(
            *columns(
                READER,
                first=_readers.c.id,
                second=sa.case(
                    (_readers.c.openid.is_(None), sa.literal_column("1")),
                    else_=sa.literal_column("0"),
                ),
                name=_readers.c.nickname,
                picture=_readers.c.avatar_url,
                chosen_name=_readers.c.chosen_name,
                chosen_picture=_readers.c.chosen_avatar,
            )
        ).where(_readers.c.id == reader_id),
        sa.select(
            *columns(OWNED, first=_entitlements.c.product_id, at=_entitlements.c.granted_at)
        ).where(_entitlements.c.reader_id == reader_id),
        sa.select(
            *columns(
                BOOKMARK,
                first=_progress.c.product_id,
                second=_sections.c.id,
                third=_sections.c.position,
                slug=_products.c.slug,
            )
        )
        .join(_sections, _sections.c.id == _progress.c.section_id)
        .join(_products, _products.c.id == _progress.c.product_id)
        .where(_progress.c.reader_id == reader_id),
        sa.select(*columns(FOR_YOU, items=_recs.c["items"])).where(_recs.c.reader_id == reader_id),
        _member_part(reader_id),
    ]


def _member_part(reader_id: sa.ColumnElement) -> sa.Select:
    covered = entitlements.covered_by_memberships(
        reader_id, sa.bindparam("now", type_=sa.DateTime)
    ).subquery()
    return sa.select(*columns(MEMBER, first=covered.c.id))


def now_param() -> str | datetime:
    """The moment memberships are judged at, as the statement's `now` takes it. The prepared
    read passes parameters to the driver as they are: SQLite compares the text UTC times are
    stored as; PostgreSQL wants a timestamp (a naive one: they are stored without a zone)."""
    now = utcnow().replace(tzinfo=None)
    if db.engine.dialect.name == "postgresql":
        return now
    return now.strftime("%Y-%m-%d %H:%M:%S.%f")


class Row(NamedTuple):
    """A row of a snapshot's statement (see columns)."""

    part: int
    first: int | None
    second: int | None
    third: int | None
    slug: str | None
    items: list | None
    at: datetime | None
    name: str | None
    picture: str | None
    chosen_name: str | None
    chosen_picture: str | None


def tagged(rows: Iterable[tuple]) -> list[Row]:
    return [Row(*row) for row in rows]


def fold(rows: Iterable[Row]) -> ReaderSnapshot:
    """A snapshot from the rows of the reader's parts (other parts' rows are skipped)."""
    profile = None
    owned: list[tuple[datetime, int]] = []
    bookmarks: dict[str, Bookmark] = {}
    for_you: tuple[int, ...] = ()
    members: set[int] = set()
    for row in rows:
        if row.part == READER:
            profile = Profile(
                row.first,
                bool(row.second),
                row.name,
                row.picture,
                row.chosen_name,
                row.chosen_picture,
            )
        elif row.part == OWNED:
            owned.append((row.at, row.first))
        elif row.part == BOOKMARK:
            bookmarks[row.slug] = Bookmark(row.first, row.second, row.third)
        elif row.part == FOR_YOU and row.items:
            for_you = tuple(row.items)
        elif row.part == MEMBER:
            members.add(row.first)
    owned.sort(reverse=True)  # newest first, as the library lists them
    return ReaderSnapshot(
        profile,
        MappingProxyType({product_id: at for at, product_id in owned}),
        MappingProxyType(bookmarks),
        for_you,
        frozenset(members),
    )


_OF_READER = PreparedRead(sa.union_all(*parts(sa.bindparam("reader_id", type_=sa.Integer))))


def of_reader(reader_id: int) -> ReaderSnapshot:
    """A reader's snapshot by id: for a request that started the reader's session itself."""
    return fold(tagged(_OF_READER.rows(reader_id=reader_id, now=now_param())))
