"""Transactions that read and then write, made safe on SQLite as on PostgreSQL.

On SQLite a transaction that starts as a reader and then writes fails at once ("database is
locked") when another writer committed in between; the busy timeout does not help it. So a
service that will write opens its transaction with BEGIN IMMEDIATE, which waits for the
write lock first. On PostgreSQL the option means nothing; row locks (SELECT ... FOR UPDATE)
and unique constraints do the same job there.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from app.extensions import db


def begin_write() -> None:
    """End whatever this session was reading and start a writing transaction.

    Call it at the start of a unit of work that changes money or access; commit at the end.
    """
    if db.session().in_transaction():
        db.session.commit()
    db.session.connection(execution_options={"sqlite_begin_immediate": True})


@contextmanager
def writing() -> Iterator[None]:
    """One unit of work around services that leave the commit to their caller.

    Takes the write lock, commits when the block ends, and rolls back (then re-raises) when
    it raises, so a refused form or a failed step leaves nothing half written:

        try:
            with writing():
                shop_settings.save_profile(submitted)
        except ProfileRefused as error:
            ...  # nothing was saved
    """
    begin_write()
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


@contextmanager
def writing_apart() -> Iterator[sa.Connection]:
    """A transaction on a connection of its own, holding the write lock from its start.

    For bookkeeping written after a response is built (page views, reading progress, a
    session's last-seen mark): it neither waits for nor commits anything of the request's
    session, and it commits when the block ends (rolls back when it raises). Close the
    request's session first if it may have written, or on SQLite this waits for that lock.
    """
    with (
        db.engine.connect().execution_options(sqlite_begin_immediate=True) as connection,
        connection.begin(),
    ):
        yield connection
