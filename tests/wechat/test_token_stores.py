"""The 公众号's access token in either store, the database's table or Redis
(WECHAT_TOKEN_REDIS_URL, against a real redis-server started here): shared by every process,
fetched once when many ask at once, refreshed after WeChat refuses it; and with Redis down,
"no token now" rather than an error page.

The Redis cases are skipped when redis-server is not installed, unless REQUIRE_REDIS is set
(.ci/run sets it)."""

import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from app.config import ConfigurationError
from app.extensions import db
from app.sandbox import official_account as sandbox_oa
from app.wechat import api_tokens, menu
from app.wechat.menu import default_menu
from app.wechat.official_account import ShopWeChatClient
from app.wechat.token_stores import RedisStore, TokenUnavailable
from tests.conftest import make_app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but redis-server is not installed")
        pytest.skip("redis-server is not installed (apt install redis-server); .ci/run has it")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["database", "redis"])
def shop(app_factory, request):
    """Makes apps (processes) that share one token store: the database, or one Redis."""
    if request.param == "database":
        return app_factory
    import redis

    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return lambda: app_factory(WECHAT_TOKEN_REDIS_URL=url)


def _token(app) -> str:
    with app.app_context():
        return ShopWeChatClient(app).access_token


def _issued(app) -> int:
    with app.app_context():
        return sandbox_oa.tokens_issued()


def test_one_token_serves_every_process(shop):
    first, second = shop(), shop()
    token = _token(first)
    assert _token(second) == token == _token(first) and _issued(first) == 1
    with first.app_context():
        in_table = db.session.execute(db.text("SELECT count(*) FROM wechat_api_tokens")).scalar()
    redis_url = first.config["WECHAT_TOKEN_REDIS_URL"]
    if redis_url:  # in Redis, and the database's table not used at all
        stored = RedisStore(redis_url).read(f"{first.config['WECHAT_APPID']}_access_token")
        assert stored.value == token and in_table == 0
    else:
        assert in_table == 1


def test_processes_asking_at_once_fetch_once(shop, monkeypatch):
    app = shop()
    monkeypatch.setattr(api_tokens, "WAIT_STEP", 0.01)
    fetches, got = [], []

    def slow_fetch():
        fetches.append(True)
        time.sleep(0.3)
        return f"token-{len(fetches)}", 7200

    def ask():
        with app.app_context():
            got.append(api_tokens.current("wx_test_access_token", slow_fetch))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["token-1"] * 4 and len(fetches) == 1


def test_a_refused_token_is_replaced_once_and_the_call_retried(shop):
    app = shop()
    old = _token(app)
    with app.app_context():
        sandbox_oa.revoke_tokens()
        db.session.commit()
        ShopWeChatClient(app).menu.create(default_menu("https://shop.example.com/about"))
        assert json.loads(sandbox_oa.pushed_menu_body())["button"][0]["key"] == "kcfk"
        # A second process that still holds the refused token finds the new one stored.
        assert api_tokens.refresh(f"{app.config['WECHAT_APPID']}_access_token", None, old)
    assert _token(app) != old and _issued(app) == 2


def test_the_redis_lease_is_taken_only_while_the_token_is_due(app_factory, redis_url):
    app = app_factory(WECHAT_TOKEN_REDIS_URL=redis_url)
    store = RedisStore(redis_url)
    with app.app_context():
        assert store.claim("x", None)  # nothing stored: due
        assert not store.claim("x", None)  # the lease is held
        store.put("x", "v1", api_tokens.utcnow() + api_tokens.REFRESH_BEFORE * 2)
        assert not store.claim("x", None)  # fresh: not due, whoever asks
        assert store.claim("x", "v1")  # the one WeChat refused: due
        store.release("x")
        assert not store.claim("x", "v0")  # refused an older one: already replaced


def test_redis_down_is_no_token_now_not_an_error(app_factory):
    app = app_factory(WECHAT_TOKEN_REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0")
    with app.app_context(), pytest.raises(TokenUnavailable):
        _ = ShopWeChatClient(app).access_token
    with app.test_request_context():
        answer = menu.show()
    assert not answer.ok and "连不上" in answer.message


def test_a_redis_url_that_is_not_one_refuses_to_start(tmp_path):
    with pytest.raises(ConfigurationError) as refused:
        make_app(tmp_path, WECHAT_TOKEN_REDIS_URL="localhost:6379")
    assert "WECHAT_TOKEN_REDIS_URL" in str(refused.value)
