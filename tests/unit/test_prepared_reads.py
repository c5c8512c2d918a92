"""PreparedRead: a statement compiled once and run on the driver, read as SQLAlchemy would."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ReaderRecs, WebSession
from app.prepared_reads import PreparedRead
from app.readers import web_sessions
from tests import factories

_sessions = WebSession.__table__
_recs = ReaderRecs.__table__


def test_values_come_back_converted_as_their_types_say(app):
    read = PreparedRead(
        sa.select(_sessions.c.id, _sessions.c.last_seen_at, _recs.c["items"])
        .join(_recs, _recs.c.reader_id == _sessions.c.reader_id)
        .where(_sessions.c.id == sa.bindparam("key", type_=sa.String))
    )
    with app.app_context():
        reader = factories.reader("o-prepared")
        db.session.add(ReaderRecs(reader_id=reader.id, items=[3, 1, 2]))
        _token, live = web_sessions.start(reader_id=reader.id)
        db.session.commit()
        [(key, seen, items)] = read.rows(key=live.key)
        assert read.rows(key="nobody") == []
    assert key == live.key
    assert isinstance(seen, datetime) and seen.tzinfo is UTC
    assert abs((seen - live.last_seen_at).total_seconds()) < 1e-3
    assert items == [3, 1, 2]


def test_a_failed_read_raises_sqlalchemys_error_and_the_next_one_works(app):
    broken = PreparedRead(sa.select(sa.literal_column("no_such_column")).select_from(_sessions))
    count = PreparedRead(sa.select(sa.func.count()).select_from(_sessions))
    with app.app_context():
        for _ in range(3):  # more than once: each failure's connection went back clean
            with pytest.raises(sa.exc.DBAPIError):
                broken.rows()
            assert count.rows() == [(0,)]
