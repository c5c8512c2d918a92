"""The creator's orders: the filtered list, the order page, refunds with a confirm step, CSV.

Refunds go through the WeChat sandbox for real: orders are paid from a phone, refunds are
sent by the studio, and WeChat's refund notification settles them.
"""

import csv
import io
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Order, OrderKind, OrderStatus, PayChannel, Refund, RefundStatus
from app.payments import orders as order_service
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone, tip_and_pay

SHANGHAI_MIDNIGHT_MARCH_2 = datetime(2024, 3, 1, 16, 0, tzinfo=UTC)


def _order(
    reader,
    product=None,
    *,
    kind=OrderKind.PURCHASE,
    status=OrderStatus.PAID,
    channel=PayChannel.NATIVE,
    amount_fen=1990,
    refunded_fen=0,
    created_at=None,
    transaction_id=None,
    title=None,
) -> Order:
    """An order row as the payment flow leaves it, without going through WeChat."""
    created_at = created_at or datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
    order = Order(
        out_trade_no=order_service.new_out_trade_no(created_at),
        reader_id=reader.id,
        kind=kind,
        product_id=product.id if product else None,
        title=title or (product.title if product else "赞赏作者"),
        amount_fen=amount_fen,
        refunded_fen=refunded_fen,
        channel=channel,
        status=status,
        client_ip="127.0.0.1",
        created_at=created_at,
        expires_at=created_at + timedelta(hours=2),
        paid_at=created_at + timedelta(minutes=1) if status is not OrderStatus.PENDING else None,
        transaction_id=transaction_id,
    )
    db.session.add(order)
    db.session.flush()
    return order


def _listed(page: str) -> list[str]:
    return re.findall(r"data-out-trade-no>([0-9A-Za-z]+)<", page)


def _figure(page: str, name: str) -> str:
    return re.search(rf"data-total-{name}>([^<]*)<", page).group(1)


def _list(studio, **args) -> str:
    response = studio.get("/studio/orders", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _csrf(client) -> str:
    """The session's CSRF token, from a page every client can open (the login form)."""
    page = client.get("/creator/login").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _desktop(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    return client


def _buy_and_pay(app, client, slug) -> Order:
    page = client.get(f"/p/{slug}/buy").get_data(as_text=True)
    client.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
    order = latest_order(app)
    pay_on_phone(app, order.code_url, nickname="小王")
    deliver_due_notifications(app)
    return latest_order(app, order.out_trade_no)


def _ask_refund(studio, out_trade_no, amount, reason="读者申请"):
    """Step one: the order page's refund form. Returns the response (a confirm page or not)."""
    page = studio.get(f"/studio/orders/{out_trade_no}").get_data(as_text=True)
    return studio.post(
        f"/studio/orders/{out_trade_no}/refund",
        data={"csrf_token": csrf_token_in(page), "amount": amount, "reason": reason},
    )


def _confirm_form(confirm_page: str) -> dict:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', confirm_page))
    assert set(fields) == {"csrf_token", "amount", "reason", "token"}
    return fields


def _refund(studio, out_trade_no, amount, reason="读者申请"):
    """Both steps: ask, then press 确认退款 on the confirm page."""
    confirm = _ask_refund(studio, out_trade_no, amount, reason)
    assert confirm.status_code == 200, confirm.get_data(as_text=True)
    form = _confirm_form(confirm.get_data(as_text=True))
    return studio.post(f"/studio/orders/{out_trade_no}/refund/send", data=form)


def _refunds(app) -> list[Refund]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Refund).order_by(Refund.id)).all()
        db.session.expunge_all()
        return rows


def _read(client, slug) -> str:
    return client.get(f"/p/{slug}/read").get_data(as_text=True)


# --- who may see it -------------------------------------------------------------------------------


def test_every_order_route_sends_a_non_creator_to_the_login(app, client):
    with app.app_context():
        order = _order(factories.reader(), factories.product())
        db.session.commit()
        no = order.out_trade_no
    # A real CSRF token, so the POSTs are refused for want of a login, not of a token.
    form = {"csrf_token": _csrf(client), "amount": "19.90", "reason": "x", "token": "t"}
    for path in ("/studio/orders", "/studio/orders.csv", f"/studio/orders/{no}"):
        response = client.get(path)
        assert response.status_code == 302 and "/creator/login" in response.location, path
    for path in (f"/studio/orders/{no}/refund", f"/studio/orders/{no}/refund/send"):
        response = client.post(path, data=form)
        assert response.status_code == 302 and "/creator/login" in response.location, path
    assert _refunds(app) == []


# --- the list -------------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_totals(app, studio):
    with app.app_context():
        reader = factories.reader(nickname="阿青")
        item = factories.product(title="写作课", price_fen=1990)
        old = _order(reader, item, created_at=datetime(2024, 1, 1, tzinfo=UTC))
        refunded = _order(
            reader, item, status=OrderStatus.PARTIALLY_REFUNDED, refunded_fen=500,
            created_at=datetime(2024, 2, 1, tzinfo=UTC),
        )  # fmt: skip
        unpaid = _order(
            reader, item, status=OrderStatus.CLOSED, created_at=datetime(2024, 3, 1, tzinfo=UTC)
        )
        db.session.commit()
        expected = [unpaid.out_trade_no, refunded.out_trade_no, old.out_trade_no]

    page = _list(studio)
    assert _listed(page) == expected
    assert "阿青" in page and "写作课" in page and "部分退款" in page and "扫码支付" in page
    assert _figure(page, "count") == "3"
    assert _figure(page, "paid") == "¥39.80"  # the closed order took no money
    assert _figure(page, "refunded") == "¥5"
    assert _figure(page, "net") == "¥34.80"


def test_each_filter_narrows_the_list(app, studio):
    with app.app_context():
        reader = factories.reader()
        course, guide = factories.product(title="课程"), factories.product(title="指南")
        made = {
            "jsapi": _order(reader, course, channel=PayChannel.JSAPI),
            "pending": _order(reader, course, status=OrderStatus.PENDING),
            "tip": _order(reader, None, kind=OrderKind.TIP, amount_fen=500),
            "other_item": _order(reader, guide, channel=PayChannel.H5),
            "late_evening": _order(
                reader, course, created_at=SHANGHAI_MIDNIGHT_MARCH_2 - timedelta(minutes=1)
            ),
            "after_midnight": _order(
                reader, course, created_at=SHANGHAI_MIDNIGHT_MARCH_2 + timedelta(minutes=1)
            ),
        }
        db.session.commit()
        course_id, guide_id = course.id, guide.id
        nos = {name: order.out_trade_no for name, order in made.items()}

    def listed(**args):
        return set(_listed(_list(studio, **args)))

    assert listed(status="pending") == {nos["pending"]}
    assert listed(channel="jsapi") == {nos["jsapi"]}
    assert listed(channel="h5") == {nos["other_item"]}
    assert listed(kind="tip") == {nos["tip"]}
    assert nos["tip"] not in listed(kind="purchase") and len(listed(kind="purchase")) == 5
    assert listed(item=str(guide_id)) == {nos["other_item"]}
    # Days are Beijing days: 23:59 on 1 March there is still 1 March, 00:01 is 2 March.
    assert listed(**{"from": "2024-03-02"}) == {nos["after_midnight"]}
    assert nos["late_evening"] in listed(to="2024-03-01")
    assert nos["after_midnight"] not in listed(to="2024-03-01")
    assert listed(**{"from": "2024-03-01", "to": "2024-03-01"}) == set(nos.values()) - {
        nos["after_midnight"]
    }
    # Combined, every filter applies.
    assert listed(item=str(course_id), status="paid", channel="native", to="2024-03-01") == {
        nos["late_evening"]
    }
    assert listed(item=str(course_id), channel="h5") == set()


def test_invalid_filter_values_are_ignored_and_said_so(app, studio):
    with app.app_context():
        _order(factories.reader(), factories.product())
        db.session.commit()
    for args in (
        {"status": "lost"},
        {"channel": "alipay"},
        {"kind": "gift"},
        {"from": "2024-13-40"},
        {"to": "0001-01-01"},
        {"from": "9999-12-31"},
        {"item": "abc"},
        {"item": "99999999999999999999999"},
        {"q": "' OR 1=1 --"},
        {"page": "-3"},
        {"page": "9" * 40},
    ):
        page = _list(studio, **args)
        assert len(_listed(page)) == 1, args
        assert ("data-ignored-filters" in page) is ("page" not in args), args
    assert "状态" in _list(studio, status="lost", kind="tip").split("data-ignored-filters")[1]


def test_search_finds_by_order_number_or_wechat_transaction_prefix(app, studio):
    with app.app_context():
        reader, item = factories.reader(), factories.product()
        first = _order(reader, item, transaction_id="4200001234202403011234567890")
        second = _order(reader, item, transaction_id="4200009999202403019999999999")
        db.session.commit()
        a, b = first.out_trade_no, second.out_trade_no

    assert _listed(_list(studio, q=a)) == [a]
    assert _listed(_list(studio, q=a[:20])) == [a]
    assert _listed(_list(studio, q=f"  {a}  ")) == [a]
    assert _listed(_list(studio, q="4200001234202403011234567890")) == [a]
    assert _listed(_list(studio, q="42000099")) == [b]
    assert set(_listed(_list(studio, q="4200"))) == {a, b}
    assert _listed(_list(studio, q="4200007777")) == []
    assert "没有符合条件的订单" in _list(studio, q="NOPE")
    # Full-width digits from a Chinese keyboard are the same number.
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "42000099")
    assert _listed(_list(studio, q=full_width)) == [b]


def test_pages_of_fifty_keep_the_filters(app, studio):
    start = datetime(2024, 3, 1, tzinfo=UTC)
    with app.app_context():
        reader, item = factories.reader(), factories.product()
        made = [
            _order(reader, item, channel=PayChannel.JSAPI, created_at=start + timedelta(minutes=i))
            for i in range(120)
        ]
        _order(reader, item, channel=PayChannel.H5)  # filtered out
        db.session.commit()
        newest_first = [o.out_trade_no for o in reversed(made)]

    first = _list(studio, channel="jsapi")
    assert _listed(first) == newest_first[:50]
    assert _figure(first, "count") == "120"  # totals count the whole filtered set
    links = re.findall(r'href="(/studio/orders\?[^"]*page=[^"]*)"', first)
    assert links and all("channel=jsapi" in link for link in links)
    assert 'aria-current="page">1<' in first and ">3</a>" in first and "下一页" in first

    second = studio.get(links[0].replace("&amp;", "&")).get_data(as_text=True)
    assert _listed(second) == newest_first[50:100]
    third = _list(studio, channel="jsapi", page="3")
    assert _listed(third) == newest_first[100:]
    assert "下一页" not in third and "上一页" in third
    assert _listed(_list(studio, channel="jsapi", page="99")) == newest_first[100:]
    assert _listed(_list(studio, channel="jsapi", page="x")) == newest_first[:50]
    assert 'aria-label="分页"' not in _list(studio, channel="h5")


# --- the order page ---------------------------------------------------------------------------


def test_the_order_page_shows_the_reader_item_and_every_payment_event(app, studio, article):
    order = _buy_and_pay(app, _desktop(app), article)
    page = studio.get(f"/studio/orders/{order.out_trade_no}").get_data(as_text=True)
    assert order.out_trade_no in page and order.transaction_id in page
    assert "写作课" in page and "已支付" in page and "¥19.90" in page
    assert order.payer_openid in page  # the phone that paid
    events = page[page.index("data-events") :]
    for kind in ("created", "prepay", "paid"):
        assert f'<code class="small">{kind}</code>' in events
    assert "source=notify" in events  # the payment came by WeChat's notification
    assert studio.get("/studio/orders/nope").status_code == 404
    assert studio.get("/studio/orders/" + "x" * 40).status_code == 404


def test_an_unpaid_order_offers_no_refund(app, studio):
    with app.app_context():
        order = _order(factories.reader(), factories.product(), status=OrderStatus.PENDING)
        db.session.commit()
        no = order.out_trade_no
    page = studio.get(f"/studio/orders/{no}").get_data(as_text=True)
    assert "未支付，不能退款" in page and "/refund" not in page
    refused = studio.post(
        f"/studio/orders/{no}/refund",
        data={"csrf_token": _csrf(studio), "amount": "1", "reason": "x"},
    )
    assert refused.status_code == 400
    assert "只有已支付的订单可以退款" in refused.get_data(as_text=True)


# --- refunds ------------------------------------------------------------------------------------


def test_a_partial_then_a_full_refund_through_the_confirm_step(app, studio, article):
    reader = _desktop(app)
    order = _buy_and_pay(app, reader, article)
    no = order.out_trade_no

    confirm = _ask_refund(studio, no, "9.90", "内容有误")
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "确认退款" in page and "¥9.90" in page and "部分退款" in page and "内容有误" in page
    assert "读者保留访问权限" in page and "失去访问权限" not in page
    assert _refunds(app) == []  # the first step sends nothing

    sent = studio.post(f"/studio/orders/{no}/refund/send", data=_confirm_form(page))
    assert sent.status_code == 302 and sent.location.endswith(f"/studio/orders/{no}#refunds")
    after = studio.get(f"/studio/orders/{no}").get_data(as_text=True)
    assert "退款中" in after  # the flash and the refund row, until WeChat says so
    assert deliver_due_notifications(app) == 1  # WeChat's refund notification
    assert latest_order(app, no).status is OrderStatus.PARTIALLY_REFUNDED
    assert latest_order(app, no).refunded_fen == 990
    assert factories.PAID_SECRET in _read(reader, article)
    page = studio.get(f"/studio/orders/{no}").get_data(as_text=True)
    assert "部分退款" in page and "已退款" in page and "内容有误" in page
    assert re.search(r"data-refundable>¥10<", page)

    confirm = _ask_refund(studio, no, "10", "全部退回").get_data(as_text=True)
    assert "全额退款" in confirm and "退款后读者将失去访问权限" in confirm
    studio.post(f"/studio/orders/{no}/refund/send", data=_confirm_form(confirm))
    deliver_due_notifications(app)
    assert latest_order(app, no).status is OrderStatus.REFUNDED
    assert factories.PAID_SECRET not in _read(reader, article)
    page = studio.get(f"/studio/orders/{no}").get_data(as_text=True)
    assert "access_revoked" in page and "refund_confirmed" in page and "没有可退" not in page
    assert "退款…" not in page  # nothing left to refund: no form
    refunds = _refunds(app)
    assert [(r.amount_fen, r.status) for r in refunds] == [
        (990, RefundStatus.SUCCESS),
        (1000, RefundStatus.SUCCESS),
    ]
    assert [r.reason for r in refunds] == ["内容有误", "全部退回"]


def test_a_full_refund_at_once_takes_access_away(app, studio, article):
    reader = _desktop(app)
    order = _buy_and_pay(app, reader, article)
    response = _refund(studio, order.out_trade_no, "19.90")
    assert response.status_code == 302
    assert "已向微信提交退款 ¥19.90，状态：退款中" in studio.get(response.location).get_data(
        as_text=True
    )
    deliver_due_notifications(app)
    assert latest_order(app, order.out_trade_no).status is OrderStatus.REFUNDED
    assert factories.PAID_SECRET not in _read(reader, article)


def test_the_confirm_page_says_when_access_stays(app_factory):
    app = app_factory(REFUND_REVOKES_ACCESS=False)
    with app.app_context():
        tip = _order(factories.reader(), None, kind=OrderKind.TIP, amount_fen=500)
        purchase = _order(factories.reader(), factories.product())
        from app.readers.creators import create_creator

        create_creator("creator", "correct horse battery")
        db.session.commit()
        tip_no, purchase_no = tip.out_trade_no, purchase.out_trade_no
    studio = app.test_client()
    studio.post(
        "/creator/login",
        data={
            "username": "creator",
            "password": "correct horse battery",
            "csrf_token": _csrf(studio),
        },
    )
    purchase_page = _ask_refund(studio, purchase_no, "19.90").get_data(as_text=True)
    assert "读者仍保留访问权限" in purchase_page and "失去" not in purchase_page
    assert "赞赏，退款不涉及访问权限" in _ask_refund(studio, tip_no, "5").get_data(as_text=True)


def test_refusals_say_why_in_chinese(app, studio, article):
    order = _buy_and_pay(app, _desktop(app), article)
    no = order.out_trade_no
    for amount, reason, message in (
        ("20", "读者申请", "退款金额不能超过可退金额 ¥19.90"),
        ("0", "读者申请", "退款金额须大于 0"),
        ("0.001", "读者申请", "退款金额有误：金额最多两位小数"),
        ("abc", "读者申请", "退款金额有误：请输入数字金额"),
        ("-1", "读者申请", "退款金额有误"),
        ("5", "", "请填写退款原因"),
        ("5", "   ", "请填写退款原因"),
        ("5", "长" * 81, "退款原因最多 80 个字"),
    ):
        response = _ask_refund(studio, no, amount, reason)
        page = response.get_data(as_text=True)
        assert response.status_code == 400, (amount, reason)
        assert message in page, (amount, reason)
        assert f'value="{amount}"' in page  # what was typed stays in the form
    assert _refunds(app) == []

    # The send step checks everything again: a changed hidden field is refused too.
    confirm = _ask_refund(studio, no, "5").get_data(as_text=True)
    form = {**_confirm_form(confirm), "amount": "25"}
    refused = studio.post(f"/studio/orders/{no}/refund/send", data=form)
    assert "退款金额不能超过可退金额" in studio.get(refused.location).get_data(as_text=True)
    assert _refunds(app) == []

    # Money on its way counts: with ¥15 refunding, only ¥4.90 is left.
    _refund(studio, no, "15")
    page = _ask_refund(studio, no, "5").get_data(as_text=True)
    assert "退款金额不能超过可退金额 ¥4.90" in page


@pytest.mark.parametrize("token", [None, "", "x" * 65])
def test_a_confirm_form_without_a_usable_token_says_start_again(app, studio, article, token):
    order = _buy_and_pay(app, _desktop(app), article)
    no = order.out_trade_no
    form = _confirm_form(_ask_refund(studio, no, "5").get_data(as_text=True))
    if token is None:
        del form["token"]
    else:
        form["token"] = token
    refused = studio.post(f"/studio/orders/{no}/refund/send", data=form)
    page = studio.get(refused.location).get_data(as_text=True)
    assert "这个确认页已失效，退款没有提交" in page and "已经提交过了" not in page
    assert _refunds(app) == []


def test_a_double_submit_of_the_confirm_form_sends_one_refund(app, studio, article):
    order = _buy_and_pay(app, _desktop(app), article)
    no = order.out_trade_no
    form = _confirm_form(_ask_refund(studio, no, "5").get_data(as_text=True))
    first = studio.post(f"/studio/orders/{no}/refund/send", data=form)
    second = studio.post(f"/studio/orders/{no}/refund/send", data=form)
    assert first.status_code == second.status_code == 302
    assert "已经提交过了，没有重复退款" in studio.get(second.location).get_data(as_text=True)
    assert [r.amount_fen for r in _refunds(app)] == [500]

    # A new confirm page is a new, deliberate refund, even of the same amount.
    _refund(studio, no, "5")
    assert [r.amount_fen for r in _refunds(app)] == [500, 500]
    deliver_due_notifications(app)
    assert latest_order(app, no).refunded_fen == 1000


def test_a_tip_can_be_refunded(app, studio, article):
    tip = tip_and_pay(app, _desktop(app), f"/p/{article}/tip", preset_fen="500")
    _refund(studio, tip.out_trade_no, "5", "误操作")
    deliver_due_notifications(app)
    assert latest_order(app, tip.out_trade_no).status is OrderStatus.REFUNDED


# --- CSV ------------------------------------------------------------------------------------------


def _csv(studio, **args) -> tuple[bytes, list[list[str]]]:
    response = studio.get("/studio/orders.csv", query_string=args)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_csv_has_a_bom_chinese_and_the_filters(app, studio):
    with app.app_context():
        reader = factories.reader(openid="o-reader-1", nickname='=HYPERLINK("x")')
        item = factories.product(title="写作课")
        paid = _order(
            reader, item, transaction_id="4200001234202403011234567890",
            status=OrderStatus.PARTIALLY_REFUNDED, refunded_fen=500,
            created_at=SHANGHAI_MIDNIGHT_MARCH_2 + timedelta(minutes=1),
        )  # fmt: skip
        _order(reader, item, channel=PayChannel.H5, amount_fen=990)
        db.session.commit()
        paid_no, item_id, reader_id = paid.out_trade_no, item.id, reader.id

    body, rows = _csv(studio)
    assert body.startswith(b"\xef\xbb\xbf")
    assert rows[0][:5] == ["订单号", "微信支付单号", "类型", "状态", "支付方式"]
    assert "金额（元）" in rows[0] and "金额（分）" in rows[0]
    assert len(rows) == 3
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["订单号"] == paid_no
    assert row["微信支付单号"] == "\t4200001234202403011234567890"
    assert (row["类型"], row["状态"], row["支付方式"]) == ("购买", "部分退款", "扫码支付")
    assert (row["内容"], row["内容ID"], row["读者ID"]) == ("写作课", str(item_id), str(reader_id))
    assert row["读者昵称"] == '\'=HYPERLINK("x")'  # never a formula in Excel
    assert row["读者openid"] == "o-reader-1"
    assert (row["金额（元）"], row["金额（分）"]) == ("19.90", "1990")
    assert (row["已退款（元）"], row["已退款（分）"]) == ("5.00", "500")
    assert row["下单时间"] == "2024-03-02 00:01:00"  # Beijing time
    assert row["支付时间"] == "2024-03-02 00:02:00"

    _, only_h5 = _csv(studio, channel="h5")
    assert len(only_h5) == 2 and only_h5[1][4] == "手机浏览器支付" and only_h5[1][11] == "9.90"
    _, march_2 = _csv(studio, **{"from": "2024-03-02", "q": paid_no[:16]})
    assert [r[0] for r in march_2[1:]] == [paid_no]
    _, nothing = _csv(studio, status="closed")
    assert nothing == [rows[0]]
    assert 'href="/studio/orders.csv?channel=h5"' in _list(studio, channel="h5")


def test_the_csv_streams_in_chunks(app, studio):
    with app.app_context():
        reader, item = factories.reader(), factories.product()
        for _ in range(1200):
            _order(reader, item)
        db.session.commit()
    response = studio.get("/studio/orders.csv")
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) >= 3  # written as it is read, not built whole
    lines = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).splitlines()
    assert len(lines) == 1201


def test_two_confirm_requests_at_the_same_moment_send_one_refund(app, studio, article):
    """A real double click: both requests are in flight before either has answered."""
    order = _buy_and_pay(app, _desktop(app), article)
    no = order.out_trade_no
    form = _confirm_form(_ask_refund(studio, no, "5").get_data(as_text=True))
    session = studio.get_cookie("session").value
    start = threading.Barrier(2)
    answers = []

    def click():
        browser = app.test_client()
        browser.set_cookie("session", session)
        start.wait()
        answers.append(browser.post(f"/studio/orders/{no}/refund/send", data=form).status_code)

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    assert answers == [302, 302]
    assert [r.amount_fen for r in _refunds(app)] == [500]


def test_reloading_the_confirm_step_keeps_its_token(app, studio, article):
    """Back, reload (the browser sends the order page's form again), confirm again: the token
    came from the order page, so the second confirm page carries the same one."""
    order = _buy_and_pay(app, _desktop(app), article)
    no = order.out_trade_no
    page = studio.get(f"/studio/orders/{no}").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    ask = {"csrf_token": csrf_token_in(page), "amount": "5", "reason": "读者申请", "token": token}
    first = _confirm_form(
        studio.post(f"/studio/orders/{no}/refund", data=ask).get_data(as_text=True)
    )
    again = _confirm_form(
        studio.post(f"/studio/orders/{no}/refund", data=ask).get_data(as_text=True)
    )
    assert first["token"] == again["token"] == token
    studio.post(f"/studio/orders/{no}/refund/send", data=first)
    studio.post(f"/studio/orders/{no}/refund/send", data=again)
    assert [r.amount_fen for r in _refunds(app)] == [500]
