"""The rules of the studio's order list that need no database: filters, pages, CSV money."""

from datetime import UTC, date, datetime

import pytest

from app.models import Order, OrderKind, OrderStatus, PayChannel
from app.payments.admin import OrderFilters, RefundPlan, page_window, start_of_day


def test_filters_read_query_parameters():
    filters = OrderFilters.from_args(
        {
            "status": "paid",
            "channel": "jsapi",
            "kind": "tip",
            "from": "2024-03-01",
            "to": "2024-03-31",
            "item": "7",
            "q": " 2024030112 ",
        }
    )
    assert filters == OrderFilters(
        status=OrderStatus.PAID,
        channel=PayChannel.JSAPI,
        kind=OrderKind.TIP,
        date_from=date(2024, 3, 1),
        date_to=date(2024, 3, 31),
        product_id=7,
        search="2024030112",
    )
    assert filters.ignored == ()
    assert filters.as_args() == {
        "status": "paid",
        "channel": "jsapi",
        "kind": "tip",
        "from": "2024-03-01",
        "to": "2024-03-31",
        "item": "7",
        "q": "2024030112",
    }


def test_no_filters_is_everything():
    filters = OrderFilters.from_args({"status": "", "q": "  ", "page": "2"})
    assert filters == OrderFilters() and not filters.active and filters.as_args() == {}


@pytest.mark.parametrize(
    ("name", "value", "label"),
    [
        ("status", "PAID", "状态"),
        ("channel", "wechat", "支付方式"),
        ("kind", "gift", "类型"),
        ("from", "2024-02-30", "开始日期"),
        ("from", "1999-12-31", "开始日期"),
        ("to", "3000-01-01", "结束日期"),
        ("to", "yesterday", "结束日期"),
        ("item", "-1", "内容"),
        ("item", "1" * 19, "内容"),
        ("item", "١٢", "内容"),  # Arabic-Indic digits: int() takes them, the id column does not
        ("q", "订单", "搜索"),
        ("q", "a" * 33, "搜索"),
        ("q", "20%", "搜索"),
    ],
)
def test_a_value_that_does_not_parse_is_ignored_and_named(name, value, label):
    filters = OrderFilters.from_args({name: value})
    assert filters == OrderFilters() and not filters.active
    assert filters.ignored == (label,)


def test_full_width_search_terms_are_plain_ones():
    assert OrderFilters.from_args({"q": "ＡＢ１２"}).search == "AB12"


def test_a_day_starts_at_midnight_in_the_shop_time_zone():
    assert start_of_day(date(2024, 3, 2), "Asia/Shanghai") == datetime(2024, 3, 1, 16, tzinfo=UTC)
    assert start_of_day(date(2024, 3, 2), "UTC") == datetime(2024, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "pages", "window"),
    [
        (1, 1, [1]),
        (1, 3, [1, 2, 3]),
        (1, 20000, [1, 2, 3, None, 20000]),
        (10, 20000, [1, None, 8, 9, 10, 11, 12, None, 20000]),
        (4, 7, [1, 2, 3, 4, 5, 6, 7]),
        (20000, 20000, [1, None, 19998, 19999, 20000]),
    ],
)
def test_page_links_are_a_short_window(current, pages, window):
    assert page_window(current, pages) == window


def _plan(kind, amount_fen, refundable_fen, revoke_access=True):
    order = Order(kind=kind, amount_fen=1990)
    return RefundPlan(order, amount_fen, "原因", refundable_fen, revoke_access)


def test_the_confirm_page_says_what_happens_to_access():
    assert _plan(OrderKind.PURCHASE, 1990, 1990).access_note == "退款后读者将失去访问权限。"
    # The last part of an order already partly refunded is a full refund too.
    assert _plan(OrderKind.PURCHASE, 1000, 1000).removes_access
    partial = _plan(OrderKind.PURCHASE, 990, 1990)
    assert not partial.is_full and not partial.removes_access
    assert "读者保留访问权限" in partial.access_note
    kept = _plan(OrderKind.PURCHASE, 1990, 1990, revoke_access=False)
    assert not kept.removes_access and "仍保留" in kept.access_note
    tip = _plan(OrderKind.TIP, 1990, 1990)
    assert not tip.removes_access and "赞赏" in tip.access_note
