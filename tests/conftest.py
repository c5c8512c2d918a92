"""Fixtures: an app per test with a fresh database (SQLite, or PostgreSQL when asked)."""

import os
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from tests import factories

TEST_PAY_KEY = "192006250b4c09247ec02edce69f6a2d"


def _database_url(tmp_path) -> str:
    if os.environ.get("SHOP_TEST_DB") == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.fail("SHOP_TEST_DB=postgresql needs TEST_DATABASE_URL")
        return url
    return f"sqlite:///{tmp_path / 'test.db'}"


def make_app(tmp_path, **overrides):
    """An app on a fresh, empty database; tests pass overrides for what they exercise."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "WECHAT_SANDBOX": True,
        "WECHAT_PAY_API_KEY": TEST_PAY_KEY,
        "RATELIMIT_ENABLED": False,
        "PAGE_CACHE_SIZE": 0,
        "SANDBOX_CLOSE_MIN_AGE": 0,  # tests that need WeChat's five minutes ask for them
        "ROLLUP_FOLD_LAG_SECONDS": 0,  # the dashboard sees a payment at once
    }
    app = create_app({**config, **overrides}, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        _drop_everything()
        db.create_all()
    return app


def _drop_everything():
    """Every table, alembic's own too: on PostgreSQL the tests share one database, and a test
    that migrated or stamped it must not leave the next one "already migrated"."""
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def _dispose(app):
    with app.app_context():
        db.session.remove()
        _drop_everything()
        db.engine.dispose()


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    _dispose(app)


@pytest.fixture
def app_factory(tmp_path):
    """For tests that need other settings than the default app's (one app per test)."""
    made = []

    def factory(**overrides):
        made.append(make_app(tmp_path, **overrides))
        return made[-1]

    yield factory
    for app in made:
        _dispose(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


def sign_in_as(app, client, reader_id: int) -> None:
    """Give the test client a live session for this reader, as a sign-in would."""
    from app.readers import web_sessions

    with app.app_context():
        token, _ = web_sessions.start(reader_id=reader_id)
        db.session.commit()
    with client.session_transaction() as session:
        session["sid"] = token


def session_reader_id(app, client) -> int | None:
    """The reader the client's session cookie opens now, if any."""
    from datetime import timedelta

    from app.readers import web_sessions

    with client.session_transaction() as session:
        token = session.get("sid")
    if token is None:
        return None
    with app.app_context():
        live, _ = web_sessions.find_live(token, timedelta(days=365))
    return live.reader_id if live else None


WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class WeChatSignIn:
    """Walks a test client through the sandbox's OAuth screens, as a reader would."""

    def __init__(self, client):
        self.client = client

    def start(self, next_path="/", scope=None, **headers):
        query = {"next": next_path}
        if scope:
            query["scope"] = scope
        response = self.client.get("/auth/wechat", query_string=query, headers=headers)
        assert response.status_code == 302
        return response.location

    def authorize_page(self, authorize_url):
        return self.client.get(path_of(authorize_url))

    def decide(
        self, authorize_url, *, nickname=None, openid=None, decision="allow", snapshot=False
    ):
        """Answer the sandbox's authorize screen; `snapshot` plays a 朋友圈 snapshot page."""
        page = self.authorize_page(authorize_url)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        form = dict(urlsplit(authorize_url).query and _query(authorize_url))
        form.update(decision=decision)
        if token:
            form["csrf_token"] = token.group(1)
        if nickname:
            form["new_nickname"] = nickname
        if openid:
            form["openid"] = openid
        if snapshot:
            form["snapshot"] = "1"
        response = self.client.post(urlsplit(authorize_url).path, data=form)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response.location

    def finish(self, callback_url):
        return self.client.get(path_of(callback_url))

    def sign_in(self, nickname="测试读者", next_path="/", scope=None, openid=None):
        callback = self.decide(
            self.start(next_path, scope), nickname=None if openid else nickname, openid=openid
        )
        return self.finish(callback)


def _query(url):
    from urllib.parse import parse_qsl

    return parse_qsl(urlsplit(url).query)


@pytest.fixture
def wechat(client):
    return WeChatSignIn(client)


@pytest.fixture
def article(app):
    """A published paid article, ¥19.90, titled 写作课; its slug."""
    with app.app_context():
        item = factories.product(title="写作课", price_fen=1990)
        db.session.commit()
        return item.slug


def creator_client(app):
    """A new client of this app, logged in as the shop's creator (created here)."""
    from app.readers.creators import create_creator

    with app.app_context():
        create_creator("creator", "correct horse battery")
        db.session.commit()
    client = app.test_client()
    page = client.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/creator/login",
        data={"username": "creator", "password": "correct horse battery", "csrf_token": token},
    )
    return client


@pytest.fixture
def studio(app):
    """A client logged in as the shop's creator."""
    return creator_client(app)


@pytest.fixture
def statements(app, monkeypatch):
    """The SQL statements the app sends from now on, transaction control left out: those
    run through SQLAlchemy and the prepared reads that go straight to the driver."""
    import sqlalchemy as sa

    from app.prepared_reads import PreparedRead

    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    real_rows = PreparedRead.rows

    def recorded_rows(self, **params):
        seen.append(str(self._statement))
        return real_rows(self, **params)

    monkeypatch.setattr(PreparedRead, "rows", recorded_rows)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    """Real media files, made once per run by the shop's ffmpeg: a 9-second tone (mp3) and a
    9-second test pattern with a tone (mp4, 640×360)."""
    from tests.media.helpers import make_audio, make_video

    folder = tmp_path_factory.mktemp("media-samples")
    return {"audio": make_audio(folder), "video": make_video(folder)}
