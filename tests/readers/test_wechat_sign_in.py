"""Reader sign-in: wechatpy's real OAuth client against the sandbox, through every screen."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OrderStatus, Reader
from app.sandbox import oauth as sandbox_oauth
from app.sandbox.models import SandboxUser
from app.sandbox.notify import deliver_due_notifications
from app.wechat.oauth import SCOPE_BASE, SCOPE_USERINFO, OAuthFailed, WeChatUser, current_oauth
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn, path_of, session_reader_id, sign_in_as
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone


def _reader_in_session(client):
    return session_reader_id(client.application, client)


def test_base_scope_sign_in_creates_a_wechat_reader(app, client, wechat):
    response = wechat.sign_in(nickname="小明", next_path="/library")
    assert response.status_code == 302
    assert path_of(response.location) == "/library"

    with app.app_context():
        reader = db.session.get(Reader, _reader_in_session(client))
        sandbox_user = db.session.scalar(sa.select(SandboxUser))
        assert reader.openid == sandbox_user.openid
        assert reader.nickname is None  # snsapi_base gives the openid only


def test_userinfo_scope_brings_nickname_and_avatar(app, client, wechat):
    wechat.sign_in(nickname="小红", scope="userinfo")
    with app.app_context():
        reader = db.session.get(Reader, _reader_in_session(client))
        assert reader.nickname == "小红"
        assert reader.avatar_url.startswith("http://localhost/sandbox/avatar/")
    page = client.get("/me").get_data(as_text=True)
    assert "小红" in page and "已绑定微信" in page


def test_the_sandbox_remembers_the_wechat_user_so_base_auth_is_silent(client, wechat):
    wechat.sign_in(nickname="小明")
    authorize_url = wechat.start("/")
    response = wechat.authorize_page(authorize_url)
    assert response.status_code == 302  # straight back to the shop with a code
    assert "code=" in response.location


def test_refusing_userinfo_keeps_the_reader_a_guest(client, wechat):
    callback = wechat.decide(wechat.start("/me", scope="userinfo"), nickname="x", decision="deny")
    assert "code=" not in callback
    response = wechat.finish(callback)
    assert path_of(response.location) == "/me"
    assert _reader_in_session(client) is None


def test_a_forged_state_is_refused(client, wechat):
    callback = wechat.decide(wechat.start("/"), nickname="小明")
    forged = callback.replace("state=", "state=ff")
    response = client.get(path_of(forged))
    assert response.status_code == 302
    assert _reader_in_session(client) is None


def test_a_code_cannot_be_used_twice(app, client, wechat):
    callback = wechat.decide(wechat.start("/"), nickname="小明")
    wechat.finish(callback)
    first_reader = _reader_in_session(client)

    # Replaying the same callback (a second tab, or an attacker) does not sign anyone in.
    other = app.test_client()
    with other.session_transaction() as session:
        state = callback.split("state=")[1]
        session["wechat_oauth"] = {"state": state, "scope": "snsapi_base", "next": "/"}
    other.get(path_of(callback))
    assert _reader_in_session(other) is None
    assert first_reader is not None


def test_a_guest_who_signs_in_keeps_what_they_bought(app, client, wechat):
    with app.app_context():
        item = factories.product()
        guest = factories.reader()
        factories.give(guest, item)
        db.session.commit()
        guest_id, slug = guest.id, item.slug
    sign_in_as(app, client, guest_id)

    wechat.sign_in(nickname="小明")
    assert _reader_in_session(client) == guest_id  # the guest itself is now bound
    assert factories.PAID_SECRET in client.get(f"/p/{slug}/read").get_data(as_text=True)


def test_a_guest_merges_into_the_wechat_reader_who_already_exists(app, client, wechat):
    """Bought on a desktop as a guest, bought in WeChat before: after sign-in, both are there."""
    wechat.sign_in(nickname="小明")
    wechat_reader_id = _reader_in_session(client)
    with app.app_context():
        in_wechat, on_desktop = factories.product(), factories.product()
        wechat_reader = db.session.get(Reader, wechat_reader_id)
        factories.give(wechat_reader, in_wechat)
        guest = factories.reader()
        factories.give(guest, on_desktop)
        factories.give(guest, in_wechat)  # bought twice: still one entitlement after merging
        db.session.commit()
        guest_id = guest.id
        slugs = in_wechat.slug, on_desktop.slug

    desktop = app.test_client()
    sign_in_as(app, desktop, guest_id)
    desktop_wechat = type(wechat)(desktop)
    openid = _openid_of(app, wechat_reader_id)
    desktop_wechat.sign_in(openid=openid)

    assert _reader_in_session(desktop) == wechat_reader_id
    for slug in slugs:
        assert factories.PAID_SECRET in desktop.get(f"/p/{slug}/read").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Reader, guest_id) is None
    library = client.get("/library").get_data(as_text=True)
    assert library.count('class="library-item"') == 2


def _openid_of(app, reader_id):
    with app.app_context():
        return db.session.get(Reader, reader_id).openid


def test_inside_wechat_the_first_page_signs_in_silently(client):
    response = client.get("/", headers={"User-Agent": WECHAT_UA})
    assert response.status_code == 302
    assert path_of(response.location).startswith("/auth/wechat?next=/")
    # Tried once: a reader who cancels is not sent round in circles.
    assert client.get("/", headers={"User-Agent": WECHAT_UA}).status_code == 200


def test_outside_wechat_nobody_is_redirected(client):
    assert client.get("/").status_code == 200


def test_next_never_leads_off_the_shop(client, wechat):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        client.get("/auth/wechat", query_string={"next": target})
        with client.session_transaction() as session:
            assert session["wechat_oauth"]["next"] == "/"


# WeChat unreachable or answering nonsense: a clear page, and the AppSecret in no log line.
UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: nothing listens, the connection is refused
NOT_WECHAT = "http://wechat-sandbox.internal/nowhere/"  # the shop's own 404 page, in-process


def test_wechat_unreachable_is_a_clear_page_and_the_secret_stays_out_of_the_log(
    app_factory, caplog
):
    app = app_factory(WECHAT_API_BASE_URL=UNREACHABLE)
    client = app.test_client()
    wechat = WeChatSignIn(client)
    secret = app.config["WECHAT_APP_SECRET"]
    callback = wechat.decide(wechat.start("/library"), nickname="小明")

    with caplog.at_level("DEBUG"):
        response = wechat.finish(callback)
    assert response.status_code == 302 and path_of(response.location) == "/library"
    assert _reader_in_session(client) is None
    page = client.get("/library").get_data(as_text=True)
    assert "暂时连不上微信" in page
    assert "WeChat OAuth failed" in caplog.text
    assert secret not in caplog.text and secret not in page


def test_a_wechat_answer_that_is_not_json_is_a_clear_page(app_factory, caplog):
    app = app_factory(WECHAT_API_BASE_URL=NOT_WECHAT)
    client = app.test_client()
    wechat = WeChatSignIn(client)
    callback = wechat.decide(wechat.start("/"), nickname="小明")
    with caplog.at_level("DEBUG"):
        response = wechat.finish(callback)
    assert response.status_code == 302
    assert "微信授权没有成功" in client.get("/").get_data(as_text=True)
    assert app.config["WECHAT_APP_SECRET"] not in caplog.text


# The interface itself (app/wechat/oauth.py), through wechatpy and the sandbox for real.
HTML_PAGE = "http://wechat-sandbox.internal/sandbox/?"  # 200 and an HTML page, as a proxy's
NOT_A_TOKEN = "http://wechat-sandbox.internal/api/products?"  # 200 and JSON, but not a token


def _issue_code(app, scope=SCOPE_BASE, nickname="小明"):
    """A code for a new sandbox user, as the authorize screen would issue it."""
    with app.app_context():
        user = sandbox_oauth.create_user(nickname)
        code = sandbox_oauth.issue_code(user, app.config["WECHAT_APPID"], scope)
        db.session.commit()
        return user.openid, code


def _exchange(app, code, scope=SCOPE_BASE):
    with app.test_request_context("/", base_url="http://localhost"):
        return current_oauth().exchange(code, scope)


def test_the_interface_gives_the_reader_behind_a_code(app):
    openid, code = _issue_code(app)
    assert _exchange(app, code) == WeChatUser(openid=openid)

    openid, code = _issue_code(app, SCOPE_USERINFO, nickname="小红")
    user = _exchange(app, code, SCOPE_USERINFO)
    assert (user.openid, user.nickname, user.unionid) == (openid, "小红", None)
    assert user.avatar_url == f"http://localhost/sandbox/avatar/{openid}.svg"


def test_the_interface_sends_the_browser_to_the_sandbox_without_the_fragment(app):
    with app.test_request_context("/", base_url="http://localhost"):
        url = current_oauth().authorize_url("http://localhost/cb", SCOPE_USERINFO, "ab12")
    assert url == (
        "http://localhost/sandbox/open/connect/oauth2/authorize?appid="
        f"{app.config['WECHAT_APPID']}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb"
        "&response_type=code&scope=snsapi_userinfo&state=ab12"
    )


@pytest.mark.parametrize(
    ("make_code", "scope", "errcode"),
    [
        (lambda app: "nope", SCOPE_BASE, 40029),  # a code WeChat never issued
        (lambda app: _used_code(app), SCOPE_BASE, 40163),  # a code used once already
        (lambda app: _issue_code(app)[1], SCOPE_USERINFO, 48001),  # userinfo on a base token
    ],
)
def test_the_interface_turns_a_wechat_errcode_into_oauth_failed(app, make_code, scope, errcode):
    code = make_code(app)
    with pytest.raises(OAuthFailed) as failure:
        _exchange(app, code, scope)
    assert f"errcode={errcode} " in str(failure.value)
    assert failure.value.reader_message == "微信授权没有成功，请重新进入"


def _used_code(app):
    _, code = _issue_code(app)
    _exchange(app, code)
    return code


@pytest.mark.parametrize(
    ("api_base", "logged", "reader_message"),
    [
        (UNREACHABLE, "could not be reached: ConnectionError", "暂时连不上微信，请稍后重试"),
        (HTML_PAGE, "not JSON", "微信暂时没有响应，请稍后重试"),
        (NOT_A_TOKEN, "JSON that is not a token", "微信暂时没有响应，请稍后重试"),
        (NOT_WECHAT, "errcode=None errmsg=None http=404", "微信授权没有成功，请重新进入"),
    ],
)
def test_the_interface_turns_every_other_failure_into_oauth_failed_without_the_secret(
    app_factory, caplog, api_base, logged, reader_message
):
    app = app_factory(WECHAT_API_BASE_URL=api_base)
    secret = app.config["WECHAT_APP_SECRET"]
    _, code = _issue_code(app)
    with caplog.at_level("DEBUG"), pytest.raises(OAuthFailed) as failure:
        _exchange(app, code)
    assert logged in str(failure.value)
    assert failure.value.reader_message == reader_message
    # Nothing that carries the token call's URL travels with it: no cause, no shown context.
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
    assert secret not in str(failure.value) and secret not in caplog.text


def _open_order_on_both_sides(app, wechat, guest_first: bool):
    """A guest on a desktop and the same person's WeChat reader each have an open order
    for one item; the guest is about to sign in. Returns (desktop, guest_no, wechat_no)."""
    with app.app_context():
        slug = factories.product(price_fen=1990).slug
        db.session.commit()
    wechat.sign_in(nickname="小明")
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    phone = wechat.client
    phone.environ_base["HTTP_USER_AGENT"] = WECHAT_UA

    def buy(client):
        page = client.get(f"/p/{slug}/buy").get_data(as_text=True)
        client.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
        return latest_order(app).out_trade_no

    first, second = (desktop, phone) if guest_first else (phone, desktop)
    numbers = {first: buy(first), second: buy(second)}
    return desktop, numbers[desktop], numbers[phone]


@pytest.mark.parametrize("guest_first", [True, False])
def test_signing_in_with_an_open_order_on_both_sides_keeps_the_newer(
    app, client, wechat, guest_first
):
    desktop, guest_no, wechat_no = _open_order_on_both_sides(app, wechat, guest_first)
    older, newer = (guest_no, wechat_no) if guest_first else (wechat_no, guest_no)

    type(wechat)(desktop).sign_in(openid=_openid_of(app, _reader_in_session(client)))

    assert _reader_in_session(desktop) == _reader_in_session(client)  # merged, no 500
    assert latest_order(app, older).status is OrderStatus.CLOSED
    assert latest_order(app, older).close_reason == "merged"
    assert latest_order(app, newer).status is OrderStatus.PENDING
    # Closed at WeChat too: no second payment for the same thing.
    assert _state_at_wechat(app, older) == "CLOSED"
    assert _state_at_wechat(app, newer) == "NOTPAY"


def _state_at_wechat(app, out_trade_no):
    from app.sandbox.models import SandboxPayOrder

    with app.app_context():
        return db.session.scalar(
            sa.select(SandboxPayOrder.trade_state).where(
                SandboxPayOrder.out_trade_no == out_trade_no
            )
        )


def test_a_merged_order_wechat_would_not_close_yet_is_honoured_if_paid(app_factory):
    """In an order's first five minutes WeChat refuses to close it: signing in still works,
    and if the reader then pays that order's QR, the payment is honoured."""
    app = app_factory(SANDBOX_CLOSE_MIN_AGE=300)
    phone = app.test_client()
    desktop, guest_no, wechat_no = _open_order_on_both_sides(
        app, WeChatSignIn(phone), guest_first=True
    )
    response = WeChatSignIn(desktop).sign_in(openid=_openid_of(app, _reader_in_session(phone)))
    assert response.status_code == 302
    assert latest_order(app, guest_no).close_reason == "merged"
    assert latest_order(app, wechat_no).status is OrderStatus.PENDING
    assert _state_at_wechat(app, guest_no) == "NOTPAY"  # left for reconcile to close there

    pay_on_phone(app, latest_order(app, guest_no).code_url)  # the old QR, still on screen
    deliver_due_notifications(app)
    assert latest_order(app, guest_no).status is OrderStatus.PAID


def test_reconcile_closes_at_wechat_a_merged_order_wechat_would_not_close_then(app_factory):
    app = app_factory(SANDBOX_CLOSE_MIN_AGE=300)
    phone = app.test_client()
    desktop, guest_no, _ = _open_order_on_both_sides(app, WeChatSignIn(phone), guest_first=True)
    WeChatSignIn(desktop).sign_in(openid=_openid_of(app, _reader_in_session(phone)))
    assert _state_at_wechat(app, guest_no) == "NOTPAY"

    app.config["SANDBOX_CLOSE_MIN_AGE"] = 0  # WeChat's five minutes are over
    result = app.test_cli_runner().invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    assert _state_at_wechat(app, guest_no) == "CLOSED"
    assert latest_order(app, guest_no).status is OrderStatus.CLOSED
