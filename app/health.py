"""Is the shop fit to serve: does the database answer, and is its schema the code's?

Read by /healthz (polled every few seconds by Docker, systemd or a monitor) and by
`flask shop doctor`, so both judge the same way. Cheap: the migrations' head is read from
migrations/ once per process; each check is one query, a second only when the first fails.
"""

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask, current_app

from app.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    database: bool  # it answered
    migrations_current: bool  # alembic's revision in the database is migrations/'s head

    @property
    def ok(self) -> bool:
        return self.database and self.migrations_current


def check() -> Health:
    try:
        applied = _applied_revisions()
    except sa.exc.SQLAlchemyError:
        # No alembic_version table (never migrated), or no database at all: ask it plainly.
        answers = _database_answers()
        if not answers:
            log.warning("health: the database does not answer")
        return Health(database=answers, migrations_current=False)
    return Health(database=True, migrations_current=applied == migration_heads())


def migration_heads(app: Flask | None = None) -> frozenset[str]:
    """The head revisions of migrations/ (one unless branches are left unmerged), read once
    per process: the files do not change under a running process."""
    app = app or current_app._get_current_object()
    heads = app.extensions.get("migration_heads")
    if heads is None:
        directory = app.extensions["migrate"].directory
        heads = frozenset(ScriptDirectory(directory).get_heads())
        app.extensions["migration_heads"] = heads
    return heads


def _applied_revisions() -> frozenset[str]:
    with db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        return frozenset(row[0] for row in rows)


def _database_answers() -> bool:
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return False
    return True
