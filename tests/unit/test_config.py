import os

from app import create_app


def _app(tmp_path, monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return create_app(instance_path=str(tmp_path))


def test_flask_prefixed_environment_overrides(tmp_path, monkeypatch):
    app = _app(
        tmp_path,
        monkeypatch,
        FLASK_WECHAT_APPID="wx1234567890abcdef",
        FLASK_WECHAT_APP_SECRET="s3cret",
        FLASK_WECHAT_MCH_ID="1900000109",
    )
    assert app.config["WECHAT_APPID"] == "wx1234567890abcdef"
    # from_prefixed_env parses numbers as JSON; ids must stay strings.
    assert app.config["WECHAT_MCH_ID"] == "1900000109"
    assert app.config["WECHAT_SANDBOX"] is False


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text('SHOP_TIMEZONE = "Asia/Tokyo"\n')
    assert _app(tmp_path, monkeypatch).config["SHOP_TIMEZONE"] == "Asia/Tokyo"


def test_sandbox_is_on_without_credentials_and_fills_test_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_WECHAT_APPID", raising=False)
    app = _app(tmp_path, monkeypatch)
    assert app.config["WECHAT_SANDBOX"] is True
    assert app.config["WECHAT_APPID"].startswith("wx")
    assert len(app.config["WECHAT_PAY_API_KEY"]) == 32


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    first = _app(tmp_path, monkeypatch).config["SECRET_KEY"]
    second = _app(tmp_path, monkeypatch).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == first
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"


def test_sqlite_database_lives_in_the_instance_folder(tmp_path, monkeypatch):
    uri = _app(tmp_path, monkeypatch).config["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{tmp_path / 'shop.db'}"


def test_cookies_are_secure_when_the_public_url_is_https(tmp_path, monkeypatch):
    https = _app(tmp_path, monkeypatch, FLASK_PUBLIC_BASE_URL="https://shop.example.com")
    assert https.config["SESSION_COOKIE_SECURE"] is True
    assert https.config["REMEMBER_COOKIE_SECURE"] is True
    with https.test_request_context("/"):
        from flask import session

        session["probe"] = 1
        response = https.make_response("")
        https.session_interface.save_session(https, session, response)
    assert "Secure" in response.headers["Set-Cookie"]


def test_cookies_are_not_secure_over_plain_http_unless_asked(tmp_path, monkeypatch):
    plain = _app(tmp_path / "plain", monkeypatch, FLASK_PUBLIC_BASE_URL="http://127.0.0.1:5000")
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.delenv("FLASK_PUBLIC_BASE_URL")
    asked = _app(tmp_path / "asked", monkeypatch, FLASK_SESSION_COOKIE_SECURE="true")
    assert asked.config["SESSION_COOKIE_SECURE"] is True
    explicit = _app(
        tmp_path / "explicit",
        monkeypatch,
        FLASK_PUBLIC_BASE_URL="https://shop.example.com",
        FLASK_SESSION_COOKIE_SECURE="false",
    )
    assert explicit.config["SESSION_COOKIE_SECURE"] is False
