"""The dashboard end to end: real payments folded into the rollups, figures checked by hand
and against plain SQL over the orders, the page, its CSV exports and its chart library."""

import gzip
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from app.analytics import dashboard, rollups
from app.analytics.stats import DateRange
from app.demo import history
from app.extensions import db
from app.models import (
    BuyerDay,
    BuyerFirst,
    CohortMonthly,
    ItemSalesDaily,
    Order,
    OrderStatus,
    PageViewsDaily,
    PayChannel,
    PurchasesHourly,
    Refund,
    RefundStatus,
    SalesDaily,
)
from app.payments import orders
from app.readers import identity
from app.sandbox.notify import deliver_due_notifications
from app.transactions import begin_write
from tests import factories
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone, tip_and_pay

TZ = "Asia/Shanghai"
TABLES = (SalesDaily, ItemSalesDaily, PurchasesHourly, BuyerFirst, CohortMonthly)


def _snapshot() -> dict:
    """Every rollup row, comparable across a fold and a rebuild."""
    snapshot = {}
    for model in TABLES:
        columns = model.__table__.c
        rows = db.session.execute(sa.select(*columns).order_by(*columns)).all()
        snapshot[model.__tablename__] = [tuple(r) for r in rows]
    return snapshot


def _buy_and_pay(app, slug):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    page = desktop.get(f"/p/{slug}/buy").get_data(as_text=True)
    desktop.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
    order = latest_order(app)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    return desktop, latest_order(app, order.out_trade_no)


def test_folding_real_payments_equals_a_rebuild(app, runner, article):
    desktop, bought = _buy_and_pay(app, article)
    tip_and_pay(app, desktop, f"/p/{article}/tip", preset_fen="500")
    result = runner.invoke(args=["orders", "refund", bought.out_trade_no, "--amount", "5"])
    assert result.exit_code == 0, result.output
    deliver_due_notifications(app)

    with app.app_context():
        rollups.rebuild(TZ)  # rollups of what happened so far, then ...
    _buy_and_pay(app, article)  # ... more happens and is folded in
    with app.app_context():
        rollups.ensure_current(TZ, lag=timedelta(0))
        folded = _snapshot()
        rollups.ensure_current(TZ, lag=timedelta(0))  # nothing new: nothing added twice
        assert _snapshot() == folded
        rollups.rebuild(TZ)
        assert _snapshot() == folded

        sales = db.session.scalars(sa.select(SalesDaily).where(SalesDaily.kind == "purchase")).all()
        assert sum(r.paid_count for r in sales) == 2
        assert sum(r.paid_fen for r in sales) == 2 * 1990
        assert sum(r.refund_fen for r in sales) == 500
        tips = db.session.scalars(sa.select(SalesDaily).where(SalesDaily.kind == "tip")).all()
        assert sum(r.paid_fen for r in tips) == 500


def test_events_younger_than_the_lag_wait(app):
    with app.app_context():
        item = factories.product(price_fen=1000)
        reader = factories.reader()
        rollups.rebuild(TZ)
        begin_write()
        orders.place_order(reader, item, PayChannel.NATIVE, "127.0.0.1", timedelta(hours=2))
        db.session.commit()
        rollups.ensure_current(TZ, lag=timedelta(minutes=5))
        assert db.session.scalar(sa.select(sa.func.sum(SalesDaily.created_count))) is None
        rollups.ensure_current(TZ, lag=timedelta(0))
        assert db.session.scalar(sa.select(sa.func.sum(SalesDaily.created_count))) == 1


def _paid_at(app, moment: datetime, price_fen=1000, reader=None):
    """An order paid through the state machine at `moment` (WeChat's time_end)."""
    item = factories.product(price_fen=price_fen)
    reader = reader or factories.reader()
    begin_write()
    order = orders.place_order(reader, item, PayChannel.JSAPI, "127.0.0.1", timedelta(hours=2))
    orders.confirm_payment(
        order.out_trade_no,
        transaction_id=f"4200{order.id:024d}",
        amount_fen=price_fen,
        payer_openid=None,
        paid_at=moment,
        source="test",
    )
    db.session.commit()
    return reader


def test_days_and_hours_are_shanghai_time(app):
    with app.app_context():
        rollups.rebuild(TZ)
        late = _paid_at(app, datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC))  # 23:59:59 on the 24th
        _paid_at(
            app, datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC), reader=late
        )  # 00:00 on the 25th
        rollups.ensure_current(TZ, lag=timedelta(0))
        days = dict(
            db.session.execute(
                sa.select(SalesDaily.day, SalesDaily.paid_count).where(SalesDaily.paid_count > 0)
            ).all()
        )
        assert days == {date(2026, 11, 24): 1, date(2026, 11, 25): 1}
        hours = db.session.execute(
            sa.select(PurchasesHourly.day, PurchasesHourly.hour, PurchasesHourly.weekday)
        ).all()
        assert sorted(hours) == [(date(2026, 11, 24), 23, 1), (date(2026, 11, 25), 0, 2)]
        # One reader on two days: one buyer, first seen on the 24th.
        assert rollups.count_buyers_between(date(2026, 11, 24), date(2026, 11, 25)) == 1
        assert db.session.scalar(sa.select(BuyerFirst.first_day)) == date(2026, 11, 24)


def test_a_guest_who_bought_then_signs_in_with_wechat_is_one_buyer(app):
    with app.app_context():
        rollups.rebuild(TZ)
        known = factories.reader(openid="o-known")
        guest = factories.reader()
        _paid_at(app, datetime(2026, 9, 3, 4, tzinfo=UTC), reader=known)
        _paid_at(app, datetime(2026, 8, 20, 4, tzinfo=UTC), reader=guest)  # the earlier cohort
        _paid_at(app, datetime(2026, 9, 3, 6, tzinfo=UTC), reader=guest)  # a day they share
        _paid_at(app, datetime(2026, 10, 5, 4, tzinfo=UTC), reader=guest)
        rollups.ensure_current(TZ, lag=timedelta(0))
        autumn = (date(2026, 8, 1), date(2026, 10, 31))
        assert rollups.count_buyers_between(*autumn) == 2

        begin_write()
        identity.sign_in_with_wechat(guest, identity.WeChatProfile(openid="o-known"))
        db.session.commit()

        assert rollups.count_buyers_between(*autumn) == 1
        assert rollups.count_buyers_between(date(2026, 9, 3), date(2026, 9, 3)) == 1
        merged = {**_snapshot(), "buyer_days": _buyer_days()}
        assert merged["buyer_firsts"] == [(known.id, date(2026, 8, 20))]
        rollups.rebuild(TZ)
        assert {**_snapshot(), "buyer_days": _buyer_days()} == merged


def _buyer_days() -> list[tuple]:
    rows = db.session.execute(sa.select(BuyerDay.day, BuyerDay.reader_ids).order_by(BuyerDay.day))
    return [(day, sorted(np.frombuffer(ids, dtype=np.int32).tolist())) for day, ids in rows]


def test_cohorts_count_each_reader_once_a_month(app):
    with app.app_context():
        rollups.rebuild(TZ)
        reader = _paid_at(app, datetime(2026, 9, 3, 4, tzinfo=UTC))
        _paid_at(app, datetime(2026, 9, 20, 4, tzinfo=UTC), reader=reader)
        _paid_at(app, datetime(2026, 11, 2, 4, tzinfo=UTC), reader=reader)
        _paid_at(app, datetime(2026, 11, 5, 4, tzinfo=UTC))  # a new reader in November
        rollups.ensure_current(TZ, lag=timedelta(0))
        cells = db.session.execute(sa.select(CohortMonthly).order_by(CohortMonthly.cohort)).all()
        matrix = {(c.cohort, c.month): c.readers for (c,) in cells}
        assert matrix == {
            (date(2026, 9, 1), date(2026, 9, 1)): 1,
            (date(2026, 9, 1), date(2026, 11, 1)): 1,
            (date(2026, 11, 1), date(2026, 11, 1)): 1,
        }


def test_late_news_of_an_earlier_purchase_moves_the_reader_to_its_cohort(app):
    with app.app_context():
        rollups.rebuild(TZ)
        reader = _paid_at(app, datetime(2026, 10, 5, 4, tzinfo=UTC))
        _paid_at(app, datetime(2026, 11, 2, 4, tzinfo=UTC), reader=reader)
        rollups.ensure_current(TZ, lag=timedelta(0))
        # Then the notification of a September payment, days late.
        _paid_at(app, datetime(2026, 9, 20, 4, tzinfo=UTC), reader=reader)
        rollups.ensure_current(TZ, lag=timedelta(0))
        folded = {**_snapshot(), "buyer_days": _buyer_days()}
        assert folded["buyer_firsts"] == [(reader.id, date(2026, 9, 20))]
        assert [(c, m, n) for c, m, n in folded["cohort_monthly"]] == [
            (date(2026, 9, 1), date(2026, m, 1), 1) for m in (9, 10, 11)
        ]
        rollups.rebuild(TZ)
        assert {**_snapshot(), "buyer_days": _buyer_days()} == folded


def test_figures_match_plain_sql_on_generated_orders(app):
    """The dashboard's numbers for a range against SQL straight over the orders."""
    with app.app_context():
        items = [factories.product(price_fen=990 + 100 * n) for n in range(6)]
        end = datetime(2026, 11, 25, 12, tzinfo=UTC)
        history.generate(
            orders=3000,
            readers=400,
            days=120,
            products=[(p.id, p.price_fen) for p in items],
            end=end,
        )
        db.session.commit()
        rollups.rebuild(TZ)

        period = DateRange(date(2026, 9, 1), date(2026, 10, 31))
        board = dashboard.build(period, "month")
        cards = {c.key: c.value for c in board.cards}
        # Shanghai is UTC+8 all year: the range in UTC.
        start = datetime(2026, 8, 31, 16, tzinfo=UTC)
        stop = datetime(2026, 10, 31, 16, tzinfo=UTC)
        purchase = (Order.kind == "purchase", Order.paid_at >= start, Order.paid_at < stop)
        paid_fen, paid_count, buyers = db.session.execute(
            sa.select(
                sa.func.sum(Order.amount_fen),
                sa.func.count(),
                sa.func.count(sa.distinct(Order.reader_id)),
            ).where(*purchase, Order.paid_at.is_not(None))
        ).one()
        refund_fen = db.session.scalar(
            sa.select(sa.func.sum(Refund.amount_fen))
            .join(Order)
            .where(
                Order.kind == "purchase",
                Refund.status == RefundStatus.SUCCESS,
                Refund.finished_at >= start,
                Refund.finished_at < stop,
            )
        )
        assert cards["orders"] == paid_count
        assert cards["net"] == paid_fen - (refund_fen or 0)
        assert cards["buyers"] == buyers
        assert board.revenue["purchases_fen"].sum() == paid_fen - (refund_fen or 0)

        per_item = dict(
            db.session.execute(
                sa.select(Order.product_id, sa.func.count())
                .where(*purchase)
                .group_by(Order.product_id)
            ).all()
        )
        figures = board.items.set_index("product_key")["paid_count"].to_dict()
        assert {k: v for k, v in figures.items() if v} == per_item
        assert board.heatmap.sum() == paid_count
        assert board.channels["paid_count"].sum() == paid_count


# --- page views ---------------------------------------------------------------------------------


def test_product_views_are_counted_cached_or_not(app_factory):
    from app.analytics import counters

    app = app_factory(PAGE_CACHE_SIZE=64)
    with app.app_context():
        slug = factories.product().slug
        db.session.commit()
    visitor = app.test_client()
    for _ in range(3):  # the second and third are page-cache hits
        assert visitor.get(f"/p/{slug}").status_code == 200
    assert visitor.get("/p/no-such-item").status_code == 404
    with app.app_context():
        counters.flush()
        assert db.session.scalar(sa.select(PageViewsDaily.views)) == 3


def test_a_failing_flush_never_fails_the_page_and_keeps_the_counts(app_factory):
    """The database refuses the batch (down, or locked past the busy timeout): the page is
    served, and the views are written by the next flush that works."""
    from app.analytics import counters

    app = app_factory(PAGE_VIEW_FLUSH_SECONDS=0)  # every request flushes after its response
    with app.app_context():
        slug = factories.product().slug
        db.session.commit()
        engine = db.engine

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if "page_views_daily" in statement:
            raise sa.exc.OperationalError(statement, parameters, Exception("database is locked"))

    sa.event.listen(engine, "before_cursor_execute", refuse)
    try:
        visitor = app.test_client()
        for _ in range(2):
            assert visitor.get(f"/p/{slug}").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse)
    with app.app_context():
        assert db.session.scalar(sa.select(PageViewsDaily.views)) is None
        db.session.commit()  # end this snapshot, to see what the flush writes
        counters.flush()
        assert db.session.scalar(sa.select(PageViewsDaily.views)) == 2


def test_a_flush_takes_the_write_lock_before_it_reads(app, tmp_path):
    """On SQLite a transaction that read, then finds another writer committed meanwhile,
    cannot write ("database is locked" at once, whatever the busy timeout): the flush must
    wait for the lock first, then read."""
    import sqlite3
    import threading

    from app.analytics import counters

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite's locking; PostgreSQL's upsert needs no lock taken first")
    with app.app_context():
        item = factories.product()
        db.session.commit()
        slug, path = item.slug, db.engine.url.database
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another worker is writing...
    other.execute(
        "INSERT INTO page_views_daily (day, product_key, views) VALUES ('2020-01-01', 1, 1)"
    )
    release = threading.Timer(0.5, lambda: other.execute("COMMIT"))  # ... and commits soon
    release.start()
    try:
        with app.test_request_context():
            counters._counter().record(counters.VIEW, "", [slug], datetime.now(UTC))
            counters.flush()
    finally:
        release.join()
        other.close()
    with app.app_context():
        counted = db.session.scalars(sa.select(PageViewsDaily.views)).all()
    assert sorted(counted) == [1, 1]


# --- the page -----------------------------------------------------------------------------------


def test_the_dashboard_page(app, studio, article):
    _buy_and_pay(app, article)
    page = studio.get("/studio/").get_data(as_text=True)
    assert "净收入" in page and "赞赏（净）" in page and "收入趋势" in page
    assert re.search(r'data-card="net">.*?data-value>¥19.90<', page, re.S)
    assert re.search(r'data-card="orders">.*?data-value>1<', page, re.S)
    assert 'data-chart="revenue"' in page and 'data-chart="heatmap"' in page
    assert "/studio/assets/plotly-" in page and "cdn" not in page.lower()
    assert "写作课" in page  # the funnel and the top items

    for key in ("7", "90", "365", "all"):
        assert studio.get(f"/studio/?range={key}").status_code == 200
    custom = studio.get("/studio/?range=custom&from=2026-01-01&to=2026-01-31").get_data(
        as_text=True
    )
    assert "2026-01-01 至 2026-01-31" in custom and "这段时间还没有数据" in custom
    fallback = studio.get("/studio/?range=custom&from=nope&to=2026-01-31&grain=year")
    assert fallback.status_code == 200


@pytest.mark.parametrize("table", ["cards", "revenue", "channels", "items", "heatmap", "cohorts"])
def test_every_table_exports_as_csv_for_excel(app, studio, article, table):
    _buy_and_pay(app, article)
    response = studio.get(f"/studio/dashboard/{table}.csv?range=all")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    assert "attachment" in response.headers["Content-Disposition"]
    assert len(body.decode("utf-8").splitlines()) >= 2


def test_an_unknown_export_is_not_found(studio):
    assert studio.get("/studio/dashboard/orders-of-others.csv").status_code == 404


def test_the_chart_library_is_served_by_the_shop(app, studio):
    from app.studio.dashboard_views import PLOTLY_VERSION

    url = f"/studio/assets/plotly-{PLOTLY_VERSION}.min.js"
    packed = studio.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert b"plotly" in gzip.decompress(packed.get_data())[:2000].lower()
    assert "immutable" in packed.headers["Cache-Control"]
    plain = studio.get(url)
    assert "Content-Encoding" not in plain.headers and len(plain.get_data()) > 1_000_000
    assert studio.get("/studio/assets/plotly-0.0.0.min.js").status_code == 404


def test_the_dashboard_is_the_creators_only(client):
    for path in ("/studio/", "/studio/dashboard/revenue.csv", "/studio/assets/plotly-1.min.js"):
        response = client.get(path)
        assert response.status_code == 302 and "/creator/login" in response.location


def test_a_changed_time_zone_rebuilds(app):
    with app.app_context():
        _paid_at(app, datetime(2026, 11, 24, 20, tzinfo=UTC))  # 04:00 on the 25th in Shanghai
        rollups.ensure_current(TZ)
        assert db.session.scalar(
            sa.select(SalesDaily.day).where(SalesDaily.paid_count > 0)
        ) == date(2026, 11, 25)
        rollups.ensure_current("UTC")
        assert db.session.scalar(
            sa.select(SalesDaily.day).where(SalesDaily.paid_count > 0)
        ) == date(2026, 11, 24)
        assert db.session.scalar(sa.select(Order.status)) is OrderStatus.PAID


def test_flask_stats_rebuild(app, runner, article):
    _buy_and_pay(app, article)
    result = runner.invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0 and "统计数据已重建" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.sum(SalesDaily.paid_fen))) == 1990
