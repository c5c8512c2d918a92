"""transactions.writing(): one unit of work that commits, or rolls back and re-raises."""

import sqlite3

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Tag
from app.transactions import writing

pytestmark = pytest.mark.usefixtures("app_ctx")


def _stored_slugs() -> list[str]:
    """What the database holds, seen from a connection of its own (not the session's)."""
    with db.engine.connect() as connection:
        return list(connection.scalars(sa.select(Tag.slug).order_by(Tag.slug)))


def test_the_block_is_committed_when_it_ends():
    with writing():
        db.session.add(Tag(slug="kept", name="留下"))
        assert _stored_slugs() == []  # not before the block ends
    assert not db.session().in_transaction()
    assert _stored_slugs() == ["kept"]


def test_an_exception_rolls_the_block_back_and_goes_on():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), writing():
        db.session.add(Tag(slug="gone", name="消失"))
        db.session.flush()  # written to the transaction, not yet committed
        raise Boom
    assert not db.session().in_transaction()
    assert db.session.scalars(sa.select(Tag.slug)).all() == []
    assert _stored_slugs() == []


def test_a_read_transaction_already_open_is_ended_and_the_write_still_lands():
    db.session.add(Tag(slug="before", name="之前"))
    db.session.commit()
    assert db.session.scalars(sa.select(Tag.slug)).all() == ["before"]
    assert db.session().in_transaction()  # the read above opened one
    with writing():
        if db.engine.dialect.name == "sqlite":
            # The write lock is held from the start of the block, before anything is written:
            # a second writer cannot begin (on PostgreSQL, row locks do that job instead).
            other = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        db.session.add(Tag(slug="during", name="之中"))
    assert _stored_slugs() == ["before", "during"]
