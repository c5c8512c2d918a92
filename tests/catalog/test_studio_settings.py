"""The creator's settings page: the shop profile, the tip form, WeChat's configuration as it
stands (never a secret), and changing the password."""

import re

import pytest
import sqlalchemy as sa

from app.catalog import queries
from app.extensions import db
from app.models import ShopProfile
from app.payments import tips
from app.readers.creators import create_creator
from tests.conftest import TEST_PAY_KEY
from tests.payflow import csrf_token_in

PASSWORD = "correct horse battery"  # the `studio` fixture's


def _post(client, path, **form):
    page = client.get("/studio/settings").get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token_in(page), **form})


def _profile(**changes):
    form = {"name": "慢读小馆", "tagline": "每周一篇", "creator_name": "木白", "intro_md": "你好"}
    return {**form, **changes}


def _log_in(client, password, username="creator"):
    page = client.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(
        "/creator/login", data={"username": username, "password": password, "csrf_token": token}
    )


# --- the shop profile ---------------------------------------------------------------------------


def test_the_profile_is_saved_and_the_storefront_shows_it(app, studio):
    with app.app_context():
        version = queries.content_version()
    intro = "## 关于我\n\n写了十年**专栏**。<script>alert(1)</script>"
    response = _post(studio, "/studio/settings/profile", **_profile(intro_md=intro))
    assert response.status_code == 302 and response.location.endswith("/studio/settings#profile")

    home = app.test_client().get("/").get_data(as_text=True)
    assert "慢读小馆" in home and "每周一篇" in home and "木白" in home
    about = app.test_client().get("/about").get_data(as_text=True)
    assert "<strong>专栏</strong>" in about and "<script>alert(1)</script>" not in about
    with app.app_context():
        profile = db.session.get(ShopProfile, 1)
        assert profile.intro_md == intro and "<h2>关于我</h2>" in profile.intro_html
        assert queries.content_version() > version
    page = studio.get("/studio/settings").get_data(as_text=True)
    assert 'value="慢读小馆"' in page and "店铺资料已保存" in page


def test_pages_never_write_the_profile_of_a_new_shop(app, client):
    """A shop whose profile was never saved shows the defaults; no page view creates the row
    (a write after the page's reads fails on SQLite while another reader writes). The first
    catalog change does, and moves the version cached pages are keyed on."""
    from app.catalog import editing
    from app.models import Product
    from app.transactions import writing
    from tests import factories

    with app.app_context():
        draft_id = factories.product(published=False).id
        db.session.commit()
        engine = db.engine
    writes = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        for path in ("/", "/about", "/p/nothing-here", "/about/tip"):
            assert "我的知识小店" in client.get(path).get_data(as_text=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert [w for w in writes if "shop_profile" in w] == []
    with app.app_context():
        assert db.session.get(ShopProfile, 1) is None
        assert queries.content_version() == 0
        assert tips.settings().max_fen == queries.shop_profile().tip_max_fen > 0
        with writing():
            editing.publish(db.session.get(Product, draft_id))
        assert db.session.get(ShopProfile, 1) is not None
        assert queries.content_version() > 0


def test_one_line_fields_are_tidied(app, studio):
    _post(studio, "/studio/settings/profile", **_profile(name="  慢读\n小馆\u202e ", tagline="\t"))
    with app.app_context():
        profile = db.session.get(ShopProfile, 1)
        assert (profile.name, profile.tagline) == ("慢读 小馆", "")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "请填写店铺名称"),
        ("name", "名" * 41, "店铺名称最多 40 个字"),
        ("tagline", "句" * 121, "一句话介绍最多 120 个字"),
        ("creator_name", "作" * 41, "作者名最多 40 个字"),
        ("intro_md", "文" * 20001, "作者介绍最多 20000 个字"),
    ],
)
def test_a_bad_profile_is_refused_with_a_clear_message(app, studio, field, value, message):
    with app.app_context():
        before = queries.shop_profile().name
        db.session.commit()
    response = _post(studio, "/studio/settings/profile", **_profile(**{field: value}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<p class="field-error">{message}</p>' in page
    assert 'value="每周一篇"' in page or field == "tagline"  # what was typed stays in the form
    with app.app_context():
        assert queries.shop_profile().name == before


def test_exactly_at_the_limits_is_fine(app, studio):
    form = _profile(name="名" * 40, tagline="句" * 120, creator_name="作" * 40)
    assert _post(studio, "/studio/settings/profile", **form).status_code == 302


# --- tips -------------------------------------------------------------------------------------


def test_the_tip_settings_form_is_on_the_settings_page(app, studio):
    page = studio.get("/studio/settings").get_data(as_text=True)
    form = page[page.index('id="tip-settings"') :]
    assert 'action="/studio/tips/settings"' in form
    assert 'value="2, 5, 10, 20, 50"' in form and 'value="500"' in form

    response = _post(
        studio, "/studio/tips/settings", presets="1, 2", max_yuan="30", thanks_note="谢"
    )
    assert response.status_code == 302
    with app.app_context():
        assert tips.settings().presets_fen == (100, 200)
    page = studio.get("/studio/settings").get_data(as_text=True)
    assert 'value="1, 2"' in page and 'value="30"' in page


# --- WeChat configuration -----------------------------------------------------------------------

LIVE_SECRET = "app-secret-9f8e7d6c5b4a"
LIVE_KEY = "livepaykey0123456789abcdefABCDEF"


def _creator_client(app):
    with app.app_context():
        create_creator("creator", PASSWORD)
        db.session.commit()
    client = app.test_client()
    # A shop with PUBLIC_BASE_URL answers as that https address, where Flask-WTF wants the
    # same-origin Referer a browser sends with each form.
    base = app.config["PUBLIC_BASE_URL"].rstrip("/") or "http://localhost"
    client.environ_base["HTTP_REFERER"] = f"{base}/"
    _log_in(client, PASSWORD)
    return client


def test_the_sandbox_shows_its_mode_and_no_secret(app, studio):
    page = studio.get("/studio/settings").get_data(as_text=True)
    status = page[page.index('id="wechat"') :]
    assert re.search(r"data-wechat-mode>沙箱<", status)
    assert "wx5a4db0d8e0sandbx" in status and "沙箱测试号" in status
    assert TEST_PAY_KEY not in page and app.config["WECHAT_APP_SECRET"] not in page
    assert "http://localhost/pay/wechat/notify" in status
    assert "http://localhost/pay/wechat/refund-notify" in status
    assert re.search(r"data-oauth-domain>localhost<", status)
    assert 'class="is-done"' not in status and status.count('class="is-todo"') == 4


def test_a_live_shop_shows_ids_in_full_and_secrets_as_set(app_factory, tmp_path):
    cert = tmp_path / "apiclient_cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----")
    key = tmp_path / "apiclient_key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----")
    app = app_factory(
        WECHAT_SANDBOX=False,
        WECHAT_APPID="wx1234567890abcdef",
        WECHAT_APP_SECRET=LIVE_SECRET,
        WECHAT_MCH_ID="1612345678",
        WECHAT_PAY_API_KEY=LIVE_KEY,
        WECHAT_PAY_CERT_PATH=str(cert),
        WECHAT_PAY_KEY_PATH=str(key),
        PUBLIC_BASE_URL="https://shop.example.com/",
    )
    page = _creator_client(app).get("/studio/settings").get_data(as_text=True)
    for secret in (LIVE_SECRET, LIVE_KEY, str(cert), "apiclient_key.pem"):
        assert secret not in page
    status = page[page.index('id="wechat"') :]
    assert re.search(r"data-wechat-mode>正式<", status)
    assert "wx1234567890abcdef" in status and "1612345678" in status
    assert status.count("已设置") >= 4 and "文件不存在" not in status
    assert "https://shop.example.com/pay/wechat/notify<" in status
    assert "https://shop.example.com/pay/wechat/refund-notify<" in status
    assert re.search(r"data-oauth-domain>shop.example.com<", status)
    assert "https://shop.example.com/orders/" in status
    assert "沙箱测试" not in status and "自动生成测试值" not in status
    # Checked here: credentials, merchant keys, certificate files, https address.
    assert status.count('class="is-done"') == 4 and status.count('class="is-todo"') == 0


# --- the password -------------------------------------------------------------------------------


def _change(studio, current, new, repeat=None):
    return _post(
        studio,
        "/studio/settings/password",
        current_password=current,
        new_password=new,
        repeat_password=new if repeat is None else repeat,
    )


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("wrong password", "a-new-long-password", None, "当前密码不正确"),
        (PASSWORD, "short-pw1", None, "新密码至少 10 位"),
        (PASSWORD, "x" * 201, None, "新密码最多 200 位"),
        (PASSWORD, PASSWORD, None, "新密码不能与当前密码相同"),
        (PASSWORD, "a-new-long-password", "a-new-long-passw0rd", "两次输入的新密码不一致"),
    ],
)
def test_a_refused_password_change_keeps_the_old_password(
    app, studio, current, new, repeat, message
):
    response = _change(studio, current, new, repeat)
    assert response.status_code == 400
    assert f'<p class="field-error">{message}</p>' in response.get_data(as_text=True)
    assert _log_in(app.test_client(), PASSWORD).location.endswith("/studio/")


def test_the_creator_logs_in_with_the_new_password(app, studio):
    with app.app_context():
        old_hash = db.session.scalar(sa.text("SELECT password_hash FROM creators"))
    response = _change(studio, PASSWORD, "a-new-long-password")
    assert response.status_code == 302 and response.location.endswith("#password")
    with app.app_context():
        new_hash = db.session.scalar(sa.text("SELECT password_hash FROM creators"))
    assert new_hash != old_hash and "a-new-long-password" not in new_hash

    assert "用户名或密码不正确" in _log_in(app.test_client(), PASSWORD).get_data(as_text=True)
    assert _log_in(app.test_client(), "a-new-long-password").location.endswith("/studio/")


def test_a_new_password_logs_out_the_other_devices_but_not_this_one(app, studio):
    phone = app.test_client()
    assert _log_in(phone, PASSWORD).location.endswith("/studio/")
    assert phone.get("/studio/settings").status_code == 200

    _change(studio, PASSWORD, "a-new-long-password")
    assert studio.get("/studio/settings").status_code == 200
    assert "/creator/login" in phone.get("/studio/settings").location

    assert _log_in(phone, "a-new-long-password").location.endswith("/studio/")
    assert phone.get("/studio/settings").status_code == 200


def test_a_session_from_before_the_stamp_or_for_a_stranger_loads_nobody(app, studio):
    for stale in ("1", "1.0000000000000000", "99.x", "x.y", ""):
        with studio.session_transaction() as session:
            session["_user_id"] = stale
        assert "/creator/login" in studio.get("/studio/settings").location


# --- only the creator -------------------------------------------------------------------------


def test_settings_are_the_creators_only(app, client):
    assert "/creator/login" in client.get("/studio/settings").location
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"',
        client.get("/creator/login").get_data(as_text=True),
    ).group(1)
    for path, form in (
        ("/studio/settings/profile", _profile()),
        ("/studio/settings/password", {"current_password": "x", "new_password": "y" * 12}),
    ):
        response = client.post(path, data={"csrf_token": token, **form})
        assert response.status_code == 302 and "/creator/login" in response.location
    with app.app_context():
        assert queries.shop_profile().name != "慢读小馆"
