"""会员: a pass for a number of days to every item or to chosen ones; buying again extends it
from its end; access ends on time; a refund of a pass ends it."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.catalog import editing, entitlements
from app.catalog.editing import ProductFields, Rejected
from app.extensions import db
from app.models import (
    Membership,
    OrderStatus,
    PayChannel,
    ProductKind,
    Reader,
    WeChatFollower,
)
from app.models.base import utcnow
from app.payments import orders
from app.pricing import rule
from app.sandbox.notify import deliver_due_notifications
from app.wechat.messages import BEIJING
from tests import factories
from tests.conftest import sign_in_as
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone
from tests.pricing.helpers import pay
from tests.wechat.messaging import (
    MEMBERSHIP_TEMPLATE,
    follows,
    sandbox_got,
    use_templates,
    wechat_user,
    writes,
)

TTL = timedelta(hours=2)


def _plan(days=30, items=(), price_fen=19900):
    plan = factories.product(ProductKind.MEMBERSHIP, title=f"{days} 天会员", price_fen=price_fen)
    plan.membership_days = days
    plan.member_items = list(items)
    db.session.commit()
    return plan


def _paid(order):
    assert pay(order)


def _buy(reader, plan):
    order = orders.place_order(reader, plan, PayChannel.NATIVE, "1.2.3.4", TTL)
    db.session.commit()
    _paid(order)
    return order


def _has(reader, product) -> bool:
    return product.id in entitlements.owned_by(reader.id)


def _stretches(reader):
    return db.session.scalars(
        sa.select(Membership).where(Membership.reader_id == reader.id).order_by(Membership.id)
    ).all()


@pytest.fixture
def shop(app_ctx):
    items = [factories.product(price_fen=990) for _ in range(3)]
    draft = factories.product(price_fen=990, published=False)
    db.session.commit()
    return items, draft


def test_a_whole_shop_pass_opens_every_published_item(shop):
    items, draft = shop
    plan, reader = _plan(), factories.reader()
    assert not _has(reader, items[0])
    _buy(reader, plan)
    assert all(_has(reader, item) for item in items) and not _has(reader, draft)
    assert not _has(reader, plan)  # the pass itself is bought again, not owned
    assert entitlements.can_read_product(entitlements.Viewer(reader=reader), items[1])


def test_a_pass_for_chosen_items_opens_only_those(shop):
    items, _ = shop
    plan, reader = _plan(items=items[:2]), factories.reader()
    _buy(reader, plan)
    assert _has(reader, items[0]) and _has(reader, items[1]) and not _has(reader, items[2])


def test_buying_again_extends_from_the_end(shop):
    plan, reader = _plan(days=30), factories.reader()
    _buy(reader, plan)
    _buy(reader, plan)
    first, second = _stretches(reader)
    assert second.starts_at == first.ends_at
    assert second.ends_at - first.starts_at == timedelta(days=60)


def test_access_ends_on_time(shop):
    items, _ = shop
    plan, reader = _plan(days=30), factories.reader()
    _buy(reader, plan)
    [stretch] = _stretches(reader)
    stretch.starts_at -= timedelta(days=31)
    stretch.ends_at -= timedelta(days=31)
    db.session.commit()
    assert not _has(reader, items[0])


def test_a_refund_of_a_pass_ends_it_and_moves_the_next_back(shop):
    items, _ = shop
    plan, reader = _plan(days=30), factories.reader()
    first = _buy(reader, plan)
    second = _buy(reader, plan)
    refund = orders.open_refund(first, first.amount_fen, "不想要了")
    orders.settle_refund(refund.out_refund_no, "SUCCESS", "r", None, True)
    db.session.commit()
    ended, moved = _stretches(reader)
    assert first.status is OrderStatus.REFUNDED and ended.ended_at is not None
    assert abs(moved.starts_at - utcnow()) < timedelta(seconds=5)
    assert _has(reader, items[0])  # the second pass runs now, from today
    refund = orders.open_refund(second, 19900, "也不要了")
    orders.settle_refund(refund.out_refund_no, "SUCCESS", "r2", None, True)
    db.session.commit()
    assert not _has(reader, items[0])


def test_a_pass_is_not_a_gift_and_plans_are_checked_in_the_studio(app_ctx, tmp_path):
    plan, reader = _plan(), factories.reader()
    with pytest.raises(orders.NotForSale):
        orders.place_order(reader, plan, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    with pytest.raises(Rejected) as rejected:
        editing.create_product(
            ProductKind.MEMBERSHIP, ProductFields(title="会员", price_yuan="99"), tmp_path
        )
    assert "会员天数" in rejected.value.errors["membership_days"]
    with pytest.raises(Rejected) as rejected:
        editing.create_product(
            ProductKind.MEMBERSHIP,
            ProductFields(title="会员", price_yuan="0", membership_days="30"),
            tmp_path,
        )
    assert "价格" in rejected.value.errors["price_yuan"]
    made = editing.create_product(
        ProductKind.MEMBERSHIP,
        ProductFields(title="季度会员", price_yuan="99", membership_days="90"),
        tmp_path,
    )
    assert made.membership_days == 90 and made.member_items == []


def test_a_reader_buys_a_pass_on_the_web_and_reads_with_it(app):
    with app.app_context():
        item = factories.product(price_fen=990)
        plan = _plan(days=365)
        reader = factories.reader(openid="o-member")
        db.session.commit()
        slugs, reader_id = (item.slug, plan.slug), reader.id
    member = app.test_client()
    member.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    sign_in_as(app, member, reader_id)
    assert "期间可读本店全部内容" in member.get(f"/p/{slugs[1]}").get_data(as_text=True)
    assert factories.PAID_SECRET not in member.get(f"/p/{slugs[0]}/read").get_data(as_text=True)
    page = member.get(f"/p/{slugs[1]}/buy").get_data(as_text=True)
    member.post(
        f"/p/{slugs[1]}/buy", data={"csrf_token": csrf_token_in(page), "price_fen": "19900"}
    )
    pay_on_phone(app, latest_order(app).code_url)
    deliver_due_notifications(app)
    assert factories.PAID_SECRET in member.get(f"/p/{slugs[0]}/read").get_data(as_text=True)
    mine = member.get("/me/membership").get_data(as_text=True)
    assert "data-membership-ends>" in mine and "365 天会员" in mine
    with app.app_context():
        assert db.session.get(Reader, reader_id) is not None


def test_members_pay_the_member_price_where_an_item_has_one(shop):
    items, _ = shop
    priced = factories.product(price_fen=9900)
    priced.member_price_fen = 4900
    db.session.commit()
    plan, member, stranger = _plan(), factories.reader(), factories.reader()
    _buy(member, plan)
    assert not _has(member, priced) and _has(member, items[0])  # priced: not free for members
    price = rule.quote(priced, member.id)
    assert [(line.kind, line.fen) for line in price.lines] == [("list", 9900), ("member", -5000)]
    assert rule.quote(priced, stranger.id).total_fen == 9900
    order = orders.place_order(member, priced, PayChannel.NATIVE, "1.2.3.4", TTL)
    db.session.commit()
    assert order.amount_fen == 4900
    chosen_plan = _plan(items=[items[0]])
    other_member = factories.reader()
    _buy(other_member, chosen_plan)
    assert rule.quote(priced, other_member.id).total_fen == 9900  # outside that pass


def test_the_studio_checks_a_member_price(app_ctx, tmp_path):
    made = editing.create_product(
        ProductKind.ARTICLE,
        ProductFields(title="文", price_yuan="99", member_price_yuan="49"),
        tmp_path,
    )
    assert made.member_price_fen == 4900
    with pytest.raises(Rejected) as rejected:
        editing.create_product(
            ProductKind.ARTICLE,
            ProductFields(title="文", price_yuan="99", member_price_yuan="120"),
            tmp_path,
        )
    assert "低于价格" in rejected.value.errors["member_price_yuan"]


def _ending_in(app, days: float, openid: str | None = None, more_after: bool = False) -> int:
    """A member whose pass (bought 30 days ago) ends in `days`; their reader id."""
    with app.app_context():
        plan = _plan(days=30)
        reader = factories.reader(openid=openid)
        db.session.commit()
        _buy(reader, plan)
        if more_after:
            _buy(reader, plan)
        shift = timedelta(days=30) - timedelta(days=days)
        for stretch in _stretches(reader):
            stretch.starts_at -= shift
            stretch.ends_at -= shift
        db.session.commit()
        return reader.id


def test_readers_are_reminded_once_before_their_pass_ends(app, runner):
    openid = wechat_user(app, "快到期的会员")
    writes(app, openid)  # within WeChat's 48 hours: a customer-service message may go
    reader_id = _ending_in(app, 2, openid=openid)
    _ending_in(app, 2, openid=None)  # a guest: nothing to send to
    _ending_in(app, 2, more_after=True)  # renewed: not ending
    _ending_in(app, 10)  # not yet

    result = runner.invoke(args=["shop", "remind-members"])
    assert result.exit_code == 0, result.output
    assert "已发送 1 · 未能送达 1" in result.output
    [(_, body)] = [m for m in sandbox_got(app, "custom") if m[1]["touser"] == openid]
    assert "到期" in body["text"]["content"] and "/me/membership" in body["text"]["content"]
    again = runner.invoke(args=["shop", "remind-members"])
    assert "已发送 0 · 未能送达 0" in again.output

    member = app.test_client()
    sign_in_as(app, member, reader_id)
    assert "data-ends-soon" in member.get("/me/membership").get_data(as_text=True)


def test_a_follower_is_reminded_by_the_studios_template(app, runner):
    openid = wechat_user(app, "关注的会员")
    follows(app, openid)
    use_templates(app, membership=MEMBERSHIP_TEMPLATE)
    _ending_in(app, 1, openid=openid)

    result = runner.invoke(args=["shop", "remind-members"])
    assert "已发送 1 · 未能送达 0" in result.output, result.output
    [(_, body)] = sandbox_got(app, "template")
    assert body["touser"] == openid
    assert body["template_id"] == MEMBERSHIP_TEMPLATE
    assert body["url"].endswith("/me/membership")
    with app.app_context():
        [ends_at] = db.session.scalars(sa.select(Membership.ends_at)).all()
    shown = ends_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    assert body["data"] == {"thing1": {"value": "30 天会员"}, "time2": {"value": shown}}
    assert sandbox_got(app, "custom") == []  # the template was enough


def test_without_a_template_or_a_window_a_follower_is_not_reached(app, runner):
    openid = wechat_user(app, "沉默的会员")
    follows(app, openid)  # following, but the shop has no membership template …
    with app.app_context():  # … and they last interacted three days ago
        db.session.execute(
            sa.update(WeChatFollower).values(last_interaction_at=utcnow() - timedelta(days=3))
        )
        db.session.commit()
    _ending_in(app, 1, openid=openid)
    result = runner.invoke(args=["shop", "remind-members"])
    assert "已发送 0 · 未能送达 1" in result.output, result.output
