"""The creator's readers: buyers with SQL-summed figures, sorting, search, pages, the export,
one reader's page, and that none of it is open to anyone but the creator."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Order, OrderKind, OrderStatus, PayChannel
from app.readers import buyers
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone

DAY = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)  # 18:00 in Beijing
_numbers = iter(range(10**6))


def _order(
    reader,
    amount_fen,
    *,
    kind=OrderKind.PURCHASE,
    item=None,
    status=OrderStatus.PAID,
    refunded_fen=0,
    paid_at=DAY,
):
    """An order as the state machine leaves it; only its stored facts matter here."""
    paid = status is not OrderStatus.PENDING and status is not OrderStatus.CLOSED
    order = Order(
        out_trade_no=f"T{next(_numbers):031d}",
        reader_id=reader.id,
        kind=kind,
        product_id=item.id if item else None,
        title=item.title if item else "赞赏作者",
        amount_fen=amount_fen,
        channel=PayChannel.NATIVE,
        status=status,
        client_ip="127.0.0.1",
        created_at=paid_at - timedelta(minutes=1),
        expires_at=paid_at + timedelta(hours=2),
        paid_at=paid_at if paid else None,
        refunded_fen=refunded_fen,
    )
    db.session.add(order)
    db.session.flush()
    return order


@pytest.fixture
def shop(app):
    """Three buyers, a reader who only tipped and one who never paid; ids by name.

    爱丽丝 (WeChat): ¥19.90 + ¥9.90 less ¥3 refunded = ¥26.80 over 2 purchases, day 0 and 2;
        tips ¥5 and a fully refunded ¥10 = ¥5.
    a guest: one ¥50 purchase fully refunded on day 1 (a purchase, worth ¥0), an open one.
    a WeChat reader without a nickname: ¥19.90 on day 3 at 23:30 UTC (07:30 next day, Beijing).
    """
    with app.app_context():
        a, b, c = (
            factories.product(title=t, price_fen=p)
            for t, p in (("写作课", 1990), ("读书笔记", 990), ("训练营", 5000))
        )
        alice = factories.reader(openid="o-alice", nickname="爱丽丝")
        _order(alice, 1990, item=a, paid_at=DAY)
        _order(
            alice,
            990,
            item=b,
            status=OrderStatus.PARTIALLY_REFUNDED,
            refunded_fen=300,
            paid_at=DAY + timedelta(days=2),
        )
        _order(alice, 500, kind=OrderKind.TIP, paid_at=DAY + timedelta(days=5))
        _order(
            alice, 1000, kind=OrderKind.TIP, item=a, status=OrderStatus.REFUNDED, refunded_fen=1000
        )
        factories.give(alice, a)
        factories.give(alice, b)
        guest = factories.reader()
        _order(
            guest,
            5000,
            item=c,
            status=OrderStatus.REFUNDED,
            refunded_fen=5000,
            paid_at=DAY + timedelta(days=1),
        )
        _order(guest, 1990, item=a, status=OrderStatus.PENDING)
        wechat = factories.reader(openid="o-quiet")
        _order(wechat, 1990, item=a, paid_at=DAY + timedelta(days=3, hours=13, minutes=30))
        tipper = factories.reader(openid="o-tipper", nickname="只赞赏")
        _order(tipper, 2000, kind=OrderKind.TIP)
        browser = factories.reader(nickname="只看看")
        _order(browser, 990, item=b, status=OrderStatus.CLOSED)
        db.session.commit()
        return {
            "alice": alice.id,
            "guest": guest.id,
            "wechat": wechat.id,
            "tipper": tipper.id,
            "browser": browser.id,
        }


def _rows(page: str) -> list[dict]:
    table = page[page.index("data-readers") :]
    table = table[: table.index("</table>")]
    rows = []
    for reader_id, row in re.findall(r'<tr data-reader="(\d+)">(.*?)</tr>', table, re.S):
        cells = [
            re.sub(r"<[^>]+>", " ", cell).split()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        rows.append({"id": int(reader_id), "cells": [" ".join(c) for c in cells]})
    return rows


def _figure(page: str, marker: str) -> str:
    return re.search(marker + r">([^<]*)<", page).group(1)


# --- the figures, straight from the service ----------------------------------------------------


def test_buyers_are_summed_by_the_database(app, shop):
    with app.app_context():
        result = buyers.buyer_page("spent")
        figures = {b.reader.id: b for b in result.buyers}
        assert set(figures) == {shop["alice"], shop["guest"], shop["wechat"]}

        alice = figures[shop["alice"]]
        assert (alice.purchases, alice.spent_fen, alice.tipped_fen) == (2, 2680, 500)
        assert alice.first_purchase_at == DAY
        assert alice.last_purchase_at == DAY + timedelta(days=2)
        assert alice.is_wechat and alice.reader.display_name == "爱丽丝"

        guest = figures[shop["guest"]]
        assert (guest.purchases, guest.spent_fen, guest.tipped_fen) == (1, 0, 0)
        assert not guest.is_wechat and guest.reader.display_name == f"游客{shop['guest']}"

        quiet = figures[shop["wechat"]]
        assert (quiet.purchases, quiet.spent_fen) == (1, 1990)
        assert quiet.reader.display_name == f"微信读者{shop['wechat']}"

        totals = buyers.totals()
        assert (totals.buyers, totals.repeat_buyers, totals.spent_fen) == (3, 1, 4670)

        assert buyers.buyer(db.session.get(factories.Reader, shop["tipper"])) is None


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("spent", ["alice", "wechat", "guest"]),
        ("last", ["wechat", "alice", "guest"]),
        ("first", ["alice", "guest", "wechat"]),
        ("nonsense", ["alice", "wechat", "guest"]),
    ],
)
def test_the_list_sorts_by_spending_or_purchase_time(app, studio, shop, sort, expected):
    page = studio.get(f"/studio/readers?sort={sort}").get_data(as_text=True)
    assert [row["id"] for row in _rows(page)] == [shop[name] for name in expected]


def test_the_list_page_shows_names_kinds_amounts_and_shop_times(app, studio, shop):
    response = studio.get("/studio/readers")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _figure(page, "data-total-buyers") == "3"
    assert _figure(page, "data-total-repeat") == "1"
    assert _figure(page, "data-total-spent") == "¥46.70"
    rows = {row["id"]: row["cells"] for row in _rows(page)}
    assert rows[shop["alice"]] == [
        "爱丽丝 微信",
        "2",
        "¥26.80",
        "¥5",
        "2024-05-01 18:00",
        "2024-05-03 18:00",
    ]
    assert rows[shop["guest"]][:4] == [f"游客{shop['guest']} 游客", "1", "¥0", "¥0"]
    assert rows[shop["wechat"]][0] == f"微信读者{shop['wechat']} 微信"
    assert rows[shop["wechat"]][5] == "2024-05-05 07:30"
    assert "只赞赏" not in page and "只看看" not in page
    assert f'href="/studio/readers/{shop["alice"]}"' in page


def test_search_finds_nicknames_and_keeps_the_sort(app, studio, shop):
    page = studio.get("/studio/readers?q=爱丽&sort=last").get_data(as_text=True)
    assert [row["id"] for row in _rows(page)] == [shop["alice"]]
    assert 'name="sort" value="last"' in page
    # The figures on top are the shop's, whatever the search.
    assert _figure(page, "data-total-buyers") == "3"
    for nothing in ("没有这个人", "%", "_"):
        page = studio.get("/studio/readers", query_string={"q": nothing}).get_data(as_text=True)
        assert "data-readers" not in page and "没有昵称含" in page


def test_fifty_buyers_a_page(app, studio):
    with app.app_context():
        item = factories.product()
        for number in range(53):
            buyer = factories.reader(nickname=f"读者{number:02d}")
            _order(buyer, 100 + number, item=item, paid_at=DAY + timedelta(minutes=number))
        db.session.commit()

    first = studio.get("/studio/readers").get_data(as_text=True)
    assert len(_rows(first)) == 50 and "第 1 / 2 页" in first
    assert "page=2" in first and 'rel="prev"' not in first
    second = studio.get("/studio/readers?page=2").get_data(as_text=True)
    assert [row["cells"][0] for row in _rows(second)] == [
        "读者02 游客",
        "读者01 游客",
        "读者00 游客",
    ]
    assert _rows(studio.get("/studio/readers?page=99").get_data(as_text=True)) == _rows(second)
    assert _rows(studio.get("/studio/readers?page=x").get_data(as_text=True)) == _rows(first)
    assert _rows(studio.get("/studio/readers?page=-3").get_data(as_text=True)) == _rows(first)


# --- the export -------------------------------------------------------------------------------


def test_the_export_is_excel_friendly_csv(app, studio, shop):
    response = studio.get("/studio/readers.csv?sort=first")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == buyers.CSV_HEADER and rows[0][1] == "名称"
    assert rows[1] == [
        str(shop["alice"]),
        "爱丽丝",
        "微信",
        "2",
        "26.80",
        "2680",
        "5.00",
        "500",
        "2024-05-01 18:00:00",
        "2024-05-03 18:00:00",
    ]
    assert [row[0] for row in rows[1:]] == [str(shop[n]) for n in ("alice", "guest", "wechat")]
    assert rows[2][4:8] == ["0.00", "0", "0.00", "0"]
    assert rows[3][1] == f"微信读者{shop['wechat']}"


def test_the_export_follows_the_search_and_defuses_formulas(app, studio, shop):
    with app.app_context():
        sly = factories.reader(nickname="=HYPERLINK(1)")
        _order(sly, 100, item=factories.product())
        db.session.commit()
    body = studio.get("/studio/readers.csv?q=HYPER").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 2 and rows[1][1] == "'=HYPERLINK(1)"


# --- one reader ---------------------------------------------------------------------------------


def test_a_reader_page_lists_orders_and_library(app, studio, shop):
    page = studio.get(f"/studio/readers/{shop['alice']}").get_data(as_text=True)
    assert _figure(page, "data-reader-purchases") == "2"
    assert _figure(page, "data-reader-spent") == "¥26.80"
    assert _figure(page, "data-reader-tipped") == "¥5"
    orders = page[page.index("data-reader-orders") :]
    orders = orders[: orders.index("</table>")]
    assert orders.count("<tr>") == 5  # the header and four orders, tips included
    with app.app_context():
        numbers = db.session.scalars(
            db.select(Order.out_trade_no).where(Order.reader_id == shop["alice"])
        ).all()
    for number in numbers:
        assert f'href="/studio/orders/{number}"' in orders
    assert "部分退款" in orders and "已退款" in orders and "¥3" in orders
    library = page[page.index("data-reader-library") :]
    assert "写作课" in library and "读书笔记" in library and "训练营" not in library


def test_a_reader_who_never_bought_has_a_page_too(app, studio, shop):
    page = studio.get(f"/studio/readers/{shop['tipper']}").get_data(as_text=True)
    assert "只赞赏" in page and "还没有付款购买过" in page and "赞赏作者" in page
    assert studio.get("/studio/readers/999999").status_code == 404


def test_a_real_purchase_shows_up(app, studio, article):
    buyer = app.test_client()
    buyer.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    page = buyer.get(f"/p/{article}/buy").get_data(as_text=True)
    buyer.post(f"/p/{article}/buy", data={"csrf_token": csrf_token_in(page)})
    pay_on_phone(app, latest_order(app).code_url)
    deliver_due_notifications(app)  # WeChat tells the shop it was paid
    page = studio.get("/studio/readers").get_data(as_text=True)
    assert _figure(page, "data-total-buyers") == "1"
    assert [row["cells"][1:3] for row in _rows(page)] == [["1", "¥19.90"]]


# --- only the creator -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/studio/readers", "/studio/readers.csv", "/studio/readers/1"])
def test_readers_are_the_creators_only(app, client, shop, path):
    response = client.get(path)
    assert response.status_code == 302 and "/creator/login" in response.location


def test_a_nul_in_the_search_is_an_empty_search_not_an_error(app, studio, shop):
    # PostgreSQL refuses NUL in a string; SQLite's LIKE stopped at it and matched everyone.
    response = studio.get("/studio/readers", query_string={"q": "\x00"})
    assert response.status_code == 200
    assert len(_rows(response.get_data(as_text=True))) == 3
