"""The committed migrations build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.models.base import render_migration_item


def _drop_everything():
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def test_migrations_match_the_models(app):
    with app.app_context():
        _drop_everything()
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "render_as_batch": True,
                    "render_item": render_migration_item,
                },
            )
            assert compare_metadata(context, db.metadata) == []


def test_migrations_downgrade_cleanly(app):
    with app.app_context():
        _drop_everything()
        upgrade()
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
