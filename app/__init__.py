"""The shop's application factory."""

import os
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as shop_config
from app.web.public_address import PublicAddress


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the shop. Its instance folder (config, secret, SQLite, uploads) is ./instance
    unless given here or in SHOP_INSTANCE_PATH, so one checkout can serve several shops."""
    instance_path = instance_path or os.environ.get("SHOP_INSTANCE_PATH") or None
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_object(shop_config.DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    shop_config.finalize(app)

    if app.config["PUBLIC_BASE_URL"]:
        app.wsgi_app = PublicAddress(app.wsgi_app, app.config["PUBLIC_BASE_URL"])
    if app.config["PROXY_FIX_HOPS"]:
        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    register_logging(app)
    register_compression(app)  # first: its after_request hook runs last, on final headers
    register_extensions(app)
    register_security_headers(app)
    register_static_assets(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_logging(app: Flask) -> None:
    from app import error_reporting
    from app.payments import event_log

    if not app.testing:
        event_log.send_to_stderr()
    error_reporting.init_app(app)


def register_extensions(app: Flask) -> None:
    # Both sets of tables are always registered, so migrations do not depend on the mode.
    from app import models  # noqa: F401
    from app.accounts import wechat_sign_in
    from app.accounts.session import SNAPSHOT_PAGE_KEY, mark_session_seen
    from app.accounts.session_cookie import SessionCookieInterface
    from app.analytics import counters
    from app.extensions import csrf, db, limiter, login_manager, migrate
    from app.readers import progress
    from app.sandbox import models as sandbox_models  # noqa: F401
    from app.sharing import touch
    from app.web import page_cache, request_limits

    app.session_interface = SessionCookieInterface()
    wechat_sign_in.init_app(app)  # first: nothing is counted or served before it
    counters.init_app(app)  # counts product views, cached ones too
    touch.init_app(app)  # notes the link that brought the reader, on cached pages too
    # Then the cache, so its hits skip every other hook. A snapshot page's every page carries
    # its banner: never a page shared with other readers.
    page_cache.init_app(app, private_session_keys=(SNAPSHOT_PAGE_KEY,))
    request_limits.init_app(app)  # then body limits, before CSRF reads a form
    progress.init_app(app)  # a lesson's progress is saved as its request ends
    # App-context teardowns run in reverse order: registered before the database's, this one
    # runs after the request's database session is closed.
    app.teardown_appcontext(mark_session_seen)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.creator_login"
    login_manager.login_message = "请先登录创作者后台"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)

    @login_manager.user_loader
    def load_creator(session_id: str):
        """The creator of a login session, while the server-side session is live and the
        password has not changed since it began."""
        from app.accounts.session import current_session
        from app.models import Creator

        creator_id, _, stamp = session_id.partition(".")
        live = current_session()
        if live is None or live.creator_id is None or str(live.creator_id) != creator_id:
            return None
        creator = db.session.get(Creator, live.creator_id)
        return creator if creator is not None and creator.session_stamp == stamp else None


def _tune_sqlite(engine: sa.Engine) -> None:
    """WAL and a busy timeout for several workers; foreign keys on; real transactions.

    pysqlite opens transactions lazily and knows nothing of SAVEPOINT; taking over BEGIN
    (SQLAlchemy's documented recipe) makes nested transactions behave as on PostgreSQL.
    """

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        # See app.transactions.begin_write: a writer takes the lock before it reads.
        immediate = connection.get_execution_options().get("sqlite_begin_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def register_security_headers(app: Flask) -> None:
    from app.web import security_headers

    security_headers.init_app(app)


def register_compression(app: Flask) -> None:
    from app.web import compression

    compression.init_app(app)


def register_static_assets(app: Flask) -> None:
    from app.web import static_assets

    static_assets.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.accounts import bp as accounts_bp
    from app.web.url_ids import DatabaseIntConverter

    # Before any route is added: every <int:...> in the shop is bounded.
    app.url_map.converters["int"] = DatabaseIntConverter
    from app.checkout import api as api_bp
    from app.checkout import bp as checkout_bp
    from app.media import bp as media_bp
    from app.official_account import bp as official_account_bp
    from app.sharing import bp as sharing_bp
    from app.storefront import bp as storefront_bp
    from app.studio import bp as studio_bp
    from app.web.health import bp as health_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(storefront_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(checkout_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(studio_bp)
    app.register_blueprint(official_account_bp)
    app.register_blueprint(sharing_bp)
    app.register_blueprint(media_bp)
    if app.config["WECHAT_SANDBOX"]:
        from app.sandbox import bp as sandbox_bp

        app.register_blueprint(sandbox_bp)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from app.cli import orders_cli, recs_cli, shop_cli, stats_cli, wechat_cli

    app.cli.add_command(shop_cli)
    app.cli.add_command(orders_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(recs_cli)
    app.cli.add_command(wechat_cli)
