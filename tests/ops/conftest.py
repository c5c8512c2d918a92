import pytest
import sqlalchemy as sa

from app.extensions import db


def forget_migrations(app) -> None:
    """A database never migrated. On PostgreSQL the tests share one database, and drop_all
    leaves alembic's own table (stamped by an earlier test) behind."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def never_migrated():
    return forget_migrations
