"""A reader's share link, a 公众号 link, a poster scan: each order credits what brought its
reader, through to the dashboard's sources and top sharers."""

import re
from datetime import UTC, datetime, timedelta

from app.analytics import dashboard, rollups
from app.analytics.stats import DateRange
from app.extensions import db
from app.models import OrderSource, Reader
from app.readers import identity
from app.readers.identity import WeChatProfile
from app.readers.sharer_codes import sharer_code
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import WeChatSignIn
from tests.payflow import DESKTOP_UA, latest_order, pay_on_phone, send_tip_form
from tests.payflow import csrf_token_in as _token

TZ = "Asia/Shanghai"


def _buy(client, slug):
    page = client.get(f"/p/{slug}/buy").get_data(as_text=True)
    shown = re.search(r'name="price_fen" value="(\d+)"', page).group(1)
    return client.post(f"/p/{slug}/buy", data={"csrf_token": _token(page), "price_fen": shown})


def _sharer(app, nickname="分享达人") -> tuple[int, str]:
    with app.app_context():
        reader = factories.reader(openid="oSharer", nickname=nickname)
        db.session.commit()
        return reader.id, sharer_code(app.secret_key, reader.id)


def _desktop(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    return client


def _pay_latest(app):
    order = latest_order(app)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    return latest_order(app, order.out_trade_no)


def test_an_order_from_a_share_link_credits_the_sharer_in_the_dashboard(app, article):
    sharer_id, code = _sharer(app)
    friend = _desktop(app)
    assert friend.get(f"/p/{article}?via=share&by={code}&from=timeline").status_code == 200
    friend.get("/")  # browsing on does not lose the touch
    _buy(friend, article)
    order = _pay_latest(app)
    assert order.source is OrderSource.SHARE and order.sharer_id == sharer_id

    with app.app_context():
        rollups.ensure_current(TZ, lag=timedelta(0))
        today = datetime.now(UTC).date()
        data = dashboard.build(
            DateRange(today - timedelta(days=1), today + timedelta(days=1)), "day"
        )
    assert data.sources.loc["share", "paid_count"] == 1
    assert data.sources.loc["share", "net_fen"] == 1990
    assert data.sources.loc["direct", "paid_count"] == 0
    assert data.sharers.to_dict("records") == [
        {"reader_id": sharer_id, "display_name": "分享达人", "paid_count": 1, "net_fen": 1990}
    ]
    studio = _studio(app)
    page = studio.get("/studio/").get_data(as_text=True)
    assert "订单来源" in page and "分享链接" in page and "分享达人" in page
    csv = studio.get("/studio/dashboard/sharers.csv").get_data(as_text=True)
    assert "分享达人" in csv and "19.90" in csv


def _studio(app):
    from tests.conftest import creator_client

    return creator_client(app)


def test_a_forged_code_is_a_share_without_a_sharer_and_old_touches_expire(app, article):
    friend = _desktop(app)
    friend.get(f"/p/{article}?via=share&by=1.aaaaaaaa")
    _buy(friend, article)
    order = latest_order(app)
    assert order.source is OrderSource.SHARE and order.sharer_id is None

    with app.app_context():
        other = factories.product(title="另一篇", price_fen=500)
        db.session.commit()
        slug = other.slug
    week_ago = int((datetime.now(UTC) - timedelta(days=8)).timestamp())
    with friend.session_transaction() as session:
        session["touch"] = ["menu", None, week_ago]
    _buy(friend, slug)
    assert latest_order(app).source is OrderSource.DIRECT


def test_no_tag_is_direct_and_the_newest_touch_wins(app, article):
    _, code = _sharer(app)
    reader = _desktop(app)
    reader.get(f"/p/{article}")
    _buy(reader, article)
    assert latest_order(app).source is OrderSource.DIRECT

    with app.app_context():
        slug = factories.product(title="第二篇", price_fen=700).slug
        db.session.commit()
    reader.get(f"/p/{slug}?via=poster&by={code}")
    reader.get(f"/p/{slug}?via=menu")
    _buy(reader, slug)
    order = latest_order(app)
    assert order.source is OrderSource.MENU and order.sharer_id is None


def test_a_share_survives_signing_in_with_wechat_and_credits_tips(app, article):
    sharer_id, code = _sharer(app)
    friend = _desktop(app)
    friend.get(f"/p/{article}?via=share&by={code}")
    WeChatSignIn(friend).sign_in(nickname="新朋友")  # a new session: the touch goes along
    response = send_tip_form(
        friend, f"/p/{article}/tip", preset_fen="500", message="谢谢", name="读者"
    )
    assert response.status_code == 302
    tip = latest_order(app)
    assert tip.is_tip and tip.source is OrderSource.SHARE and tip.sharer_id == sharer_id


def test_a_guest_sharer_merged_into_their_wechat_self_keeps_the_credit(app, article):
    with app.app_context():
        known = factories.reader(openid="oKnown")
        guest = factories.reader()
        db.session.commit()
        known_id, guest_id = known.id, guest.id
        code = sharer_code(app.secret_key, guest_id)
    friend = _desktop(app)
    friend.get(f"/p/{article}?via=share&by={code}")
    _buy(friend, article)
    assert latest_order(app).sharer_id == guest_id

    with app.app_context():  # the guest signs in as the WeChat reader the shop knows
        identity.sign_in_with_wechat(db.session.get(Reader, guest_id), WeChatProfile("oKnown"))
        db.session.commit()
    assert latest_order(app).sharer_id == known_id
