import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigurationError
from app.payments.wechatpay_v2 import WeChatPayV2Gateway
from app.sandbox import pay_protocol

REPO = Path(__file__).resolve().parents[2]


def _app(tmp_path, monkeypatch, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return create_app(instance_path=str(tmp_path))


LIVE = {
    "FLASK_WECHAT_APPID": "wx1234567890abcdef",
    "FLASK_WECHAT_APP_SECRET": "0123456789abcdef0123456789abcdef",
    "FLASK_WECHAT_MCH_ID": "1900000109",
    "FLASK_WECHAT_PAY_API_KEY": "livepaykey0123456789abcdefABCDEF",
    "FLASK_PUBLIC_BASE_URL": "https://shop.example.com",
}


def test_flask_prefixed_environment_overrides(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, **LIVE)
    assert app.config["WECHAT_APPID"] == "wx1234567890abcdef"
    # from_prefixed_env parses numbers as JSON; ids must stay strings.
    assert app.config["WECHAT_MCH_ID"] == "1900000109"
    assert app.config["WECHAT_SANDBOX"] is False
    assert "sandbox" not in app.blueprints


def _refusal(tmp_path, monkeypatch, **env) -> str:
    with pytest.raises(ConfigurationError) as refused:
        _app(tmp_path, monkeypatch, **env)
    return refused.value.message


def test_a_missing_app_secret_refuses_to_start_instead_of_running_the_sandbox(
    tmp_path, monkeypatch
):
    message = _refusal(tmp_path, monkeypatch, **(LIVE | {"FLASK_WECHAT_APP_SECRET": ""}))
    assert "WECHAT_APP_SECRET" in message
    assert "WECHAT_APPID" not in message and "WECHAT_PAY_API_KEY" not in message


def test_an_empty_pay_key_refuses_to_start(tmp_path, monkeypatch):
    # With an empty key wechatpy would verify notifications signed with an empty key.
    message = _refusal(tmp_path, monkeypatch, **(LIVE | {"FLASK_WECHAT_PAY_API_KEY": ""}))
    assert "WECHAT_PAY_API_KEY" in message


def test_every_missing_or_malformed_key_is_named_and_no_value_is_shown(tmp_path, monkeypatch):
    message = _refusal(
        tmp_path,
        monkeypatch,
        FLASK_WECHAT_APPID="wx123",
        FLASK_WECHAT_MCH_ID="mch-19000",
        FLASK_WECHAT_PAY_API_KEY="short-secret-key",
    )
    lines = message.splitlines()[1:]
    assert len(lines) == 5, message
    for key in (
        "WECHAT_APPID",
        "WECHAT_APP_SECRET",
        "WECHAT_MCH_ID",
        "WECHAT_PAY_API_KEY",
        "PUBLIC_BASE_URL",
    ):
        assert any(key in line for line in lines), key
    assert "short-secret-key" not in message and "mch-19000" not in message


def test_certificate_and_key_come_as_a_pair_of_existing_files(tmp_path, monkeypatch):
    cert = tmp_path / "apiclient_cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----")
    message = _refusal(tmp_path, monkeypatch, **(LIVE | {"FLASK_WECHAT_PAY_CERT_PATH": str(cert)}))
    assert "WECHAT_PAY_KEY_PATH" in message
    message = _refusal(
        tmp_path,
        monkeypatch,
        **(
            LIVE
            | {
                "FLASK_WECHAT_PAY_CERT_PATH": str(cert),
                "FLASK_WECHAT_PAY_KEY_PATH": str(tmp_path / "missing_key.pem"),
            }
        ),
    )
    assert "WECHAT_PAY_KEY_PATH" in message and "不存在" in message


def test_the_sandbox_runs_when_asked_for_by_name(tmp_path, monkeypatch):
    app = _app(
        tmp_path, monkeypatch, FLASK_WECHAT_SANDBOX="true", FLASK_WECHAT_APPID="wx1234567890abcdef"
    )
    assert app.config["WECHAT_SANDBOX"] is True
    assert len(app.config["WECHAT_PAY_API_KEY"]) == 32
    assert "sandbox" in app.blueprints


def test_a_sandbox_switch_that_is_not_a_yes_or_no_refuses_to_start(tmp_path, monkeypatch):
    assert "WECHAT_SANDBOX" in _refusal(tmp_path, monkeypatch, FLASK_WECHAT_SANDBOX="maybe")


def test_switching_the_sandbox_off_by_name_needs_every_credential(tmp_path, monkeypatch):
    message = _refusal(tmp_path, monkeypatch, FLASK_WECHAT_SANDBOX="false")
    assert "WECHAT_APPID" in message and "WECHAT_PAY_API_KEY" in message


def test_nothing_signs_or_verifies_with_an_empty_key():
    with pytest.raises(ValueError):
        pay_protocol.sign({"appid": "wx1", "total_fee": "1"}, "")


def test_the_gateway_refuses_an_empty_pay_key(app):
    app.config["WECHAT_PAY_API_KEY"] = ""
    with pytest.raises(ConfigurationError):
        WeChatPayV2Gateway.from_app(app)


@pytest.mark.parametrize(
    "command",
    [["flask", "db", "upgrade"], ["flask", "shop", "demo"], ["flask", "run"]],
    ids=" ".join,
)
def test_every_flask_command_refuses_with_one_message(tmp_path, command):
    result = _run(tmp_path, command)
    assert result.returncode != 0
    assert "WECHAT_APP_SECRET" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "shop.db").exists()


def test_flask_help_still_works(tmp_path):
    result = _run(tmp_path, ["flask", "--help"])
    assert result.returncode == 0 and "Usage" in result.stdout


def test_gunicorn_refuses_to_boot(tmp_path):
    result = _run(tmp_path, ["gunicorn", "--bind", "127.0.0.1:0", "--workers", "1", "wsgi:app"])
    assert result.returncode != 0
    assert "WECHAT_APP_SECRET" in result.stderr


def _run(tmp_path, command):
    """A command of the shop's as an operator runs it, with a live config that lacks its secret."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLASK_")},
        **LIVE,
        "FLASK_WECHAT_APP_SECRET": "",
        "FLASK_APP": "wsgi.py",
        "SHOP_INSTANCE_PATH": str(tmp_path),
    }
    executable = Path(sys.executable).parent / command[0]
    return subprocess.run(
        [str(executable), *command[1:]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


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


AES_KEY = "a" * 43


def test_an_aes_key_without_a_token_refuses_to_start(tmp_path, monkeypatch):
    message = _refusal(tmp_path, monkeypatch, **(LIVE | {"FLASK_WECHAT_ENCODING_AES_KEY": AES_KEY}))
    assert "WECHAT_TOKEN" in message and AES_KEY not in message


def test_a_malformed_token_or_aes_key_refuses_to_start(tmp_path, monkeypatch):
    settings = {"FLASK_WECHAT_TOKEN": "x", "FLASK_WECHAT_ENCODING_AES_KEY": "short"}
    message = _refusal(tmp_path, monkeypatch, **(LIVE | settings))
    assert "WECHAT_TOKEN" in message and "WECHAT_ENCODING_AES_KEY" in message


def test_a_live_shop_without_a_token_starts_with_the_callback_off(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, **LIVE)
    assert app.config["WECHAT_TOKEN"] == ""
    assert app.test_client().get("/wechat/callback").status_code == 404


TEMPLATE_ID = "Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk"


def test_template_ids_without_the_official_accounts_credentials_refuse_to_start(
    tmp_path, monkeypatch
):
    """The demo would otherwise start in sandbox mode and hand every message to the sandbox."""
    message = _refusal(tmp_path, monkeypatch, FLASK_WECHAT_TEMPLATE_PURCHASE=TEMPLATE_ID)
    assert "WECHAT_TEMPLATE_PURCHASE" in message and "WECHAT_APPID" in message
    assert "WECHAT_SANDBOX" in message and TEMPLATE_ID not in message


def test_template_ids_may_be_tried_in_the_sandbox_asked_for_by_name(tmp_path, monkeypatch):
    app = _app(
        tmp_path,
        monkeypatch,
        FLASK_WECHAT_SANDBOX="true",
        FLASK_WECHAT_TEMPLATE_TIP=TEMPLATE_ID,
    )
    assert app.config["WECHAT_SANDBOX"] is True
    assert app.config["WECHAT_TEMPLATE_TIP"] == TEMPLATE_ID


def test_a_live_shop_takes_template_ids_and_refuses_malformed_ones(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, **(LIVE | {"FLASK_WECHAT_TEMPLATE_CREATOR": TEMPLATE_ID}))
    assert app.config["WECHAT_TEMPLATE_CREATOR"] == TEMPLATE_ID
    message = _refusal(
        tmp_path, monkeypatch, **(LIVE | {"FLASK_WECHAT_TEMPLATE_CREATOR": "模板 一"})
    )
    assert "WECHAT_TEMPLATE_CREATOR" in message and "格式不对" in message
