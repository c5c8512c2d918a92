"""Alembic environment for the shop: the engine and metadata come from the Flask app."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
# Keep the app's own loggers: Alembic's logging file must not silence them.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate_ext = current_app.extensions["migrate"]
engine = migrate_ext.db.engine
target_metadata = migrate_ext.db.metadata
config.set_main_option(
    "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate_ext.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty_revisions(context, revision, directives):
        # `flask db migrate` with no model change writes no empty revision file.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    configure_args = dict(migrate_ext.configure_args)
    configure_args.setdefault("process_revision_directives", skip_empty_revisions)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys_off(connection)
        context.configure(connection=connection, target_metadata=target_metadata, **configure_args)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_sqlite_references(connection)
        if sqlite:
            # Not back to the pool with enforcement off: the next connection is a fresh one,
            # which turns it on as every connection does (app._tune_sqlite).
            connection.invalidate()


# SQLite cannot alter a column or a constraint: a batch migration copies the table, drops the old
# one and renames the copy. With foreign keys enforced, dropping `orders` while payment events and
# refunds point at it fails, so an existing shop could not upgrade. SQLite's own recipe: switch
# enforcement off for the migration and check every reference before committing.


def _sqlite_foreign_keys_off(connection) -> None:
    # On the driver's connection: the pragma is ignored inside a transaction, and SQLAlchemy's
    # would open one first.
    connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")


def _check_sqlite_references(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows pointing at nothing: {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
