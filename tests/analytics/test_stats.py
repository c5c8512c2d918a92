"""The figures, checked by hand on small ledgers (shop time is Asia/Shanghai, UTC+8)."""

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from app.analytics import stats

TZ = "Asia/Shanghai"


def _ledger(*rows):
    return stats.ledger(rows)


def _at(*parts):
    return datetime(*parts, tzinfo=UTC)


LEDGER = _ledger(
    # 2026-11-24 23:30 in Shanghai: the 24th, though UTC says the 24th too.
    (_at(2026, 11, 24, 15, 30), "purchase", 1, "写作课", 1990),
    # 2026-11-25 00:10 in Shanghai: the 25th, though UTC still says the 24th.
    (_at(2026, 11, 24, 16, 10), "tip", 1, "写作课", 500),
    (_at(2026, 11, 25, 3, 0), "tip", None, "作者本人", 200),
    (_at(2026, 11, 25, 4, 0), "purchase", 2, "剪辑课", 0),  # refunded in full
    (_at(2026, 12, 1, 2, 0), "tip", 1, "写作课", 1000),
)


def test_totals_by_period():
    tips = LEDGER[LEDGER["kind"] == "tip"]
    by_day = stats.totals_by_period(tips, "day", TZ)
    assert by_day.to_dict("records") == [
        {"start": date(2026, 12, 1), "count": 1, "net_fen": 1000},
        {"start": date(2026, 11, 25), "count": 2, "net_fen": 700},
    ]
    by_week = stats.totals_by_period(tips, "week", TZ)
    assert by_week["start"].tolist() == [date(2026, 11, 30), date(2026, 11, 23)]  # Mondays
    by_month = stats.totals_by_period(tips, "month", TZ)
    assert by_month[["count", "net_fen"]].values.tolist() == [[1, 1000], [2, 700]]
    assert stats.totals_by_period(_ledger(), "month", TZ).empty
    with pytest.raises(ValueError):
        stats.totals_by_period(tips, "year", TZ)


def test_totals_by_item_keep_tips_to_the_creator_apart():
    table = stats.totals_by_item(LEDGER[LEDGER["kind"] == "tip"])
    assert table["title"].tolist() == ["写作课", "作者本人"]
    assert table["net_fen"].tolist() == [1500, 200]
    assert table["count"].tolist() == [2, 1]
    assert pd.isna(table["product_id"].iloc[1])


# --- the dashboard's figures, on small hand-made rollups ---------------------------------------

PERIOD = stats.DateRange(date(2026, 11, 11), date(2026, 11, 20))  # 10 days; before: 1st–10th


def _sales(*rows):
    """Rows of (day of November, kind, created, paid, paid_fen, refunds, refund_fen)."""
    columns = ["created_count", "paid_count", "paid_fen", "refund_count", "refund_fen"]
    return pd.DataFrame(
        [(date(2026, 11, d), kind, *values) for d, kind, *values in rows],
        columns=["day", "kind", *columns],
    )


SALES = _sales(
    (5, "purchase", 4, 2, 2000, 0, 0),  # the previous range
    (11, "purchase", 5, 3, 3000, 1, 500),
    (20, "purchase", 2, 1, 990, 0, 0),
    (15, "tip", 1, 1, 500, 0, 0),
    (21, "purchase", 9, 9, 9000, 0, 0),  # after the range: ignored
)


def test_ranges_and_the_range_before():
    assert PERIOD.days == 10
    assert PERIOD.previous() == stats.DateRange(date(2026, 11, 1), date(2026, 11, 10))


def test_headline_cards_against_the_previous_range():
    cards = {c.key: c for c in stats.headline(SALES, PERIOD, buyers=(3, 2), new_buyers=(1, 2))}
    assert cards["net"].value == 3490 and cards["net"].previous == 2000
    assert cards["net"].change == pytest.approx(0.745)
    assert cards["tips"].value == 500 and cards["tips"].change is None  # nothing before
    assert cards["orders"].value == 4 and cards["orders"].previous == 2
    assert cards["aov"].value == pytest.approx(3990 / 4) and cards["aov"].previous == 1000
    assert cards["buyers"].value == 3 and cards["new_buyers"].value == 1
    assert cards["returning"].value == 2 and cards["returning"].previous == 0
    assert cards["refund_rate"].value == pytest.approx(500 / 3990)


def test_revenue_over_time_has_every_step():
    days = stats.revenue_over_time(SALES, PERIOD, "day")
    assert len(days) == 10 and days.index[0] == date(2026, 11, 11)
    assert days.loc[date(2026, 11, 11), "purchases_fen"] == 2500
    assert days.loc[date(2026, 11, 15), "tips_fen"] == 500
    assert days["purchases_fen"].sum() == 3490
    weeks = stats.revenue_over_time(SALES, PERIOD, "week")
    assert weeks.index.tolist() == [date(2026, 11, 9), date(2026, 11, 16)]  # Mondays
    assert weeks["purchases_fen"].tolist() == [2500, 990]
    months = stats.revenue_over_time(SALES, PERIOD, "month")
    assert months.to_dict("list") == {"purchases_fen": [3490], "tips_fen": [500]}


def test_channel_mix_lists_every_channel():
    paid = pd.DataFrame(
        [("jsapi", 3, 3000), ("native", 1, 1000)], columns=["channel", "paid_count", "paid_fen"]
    )
    mix = stats.channel_mix(paid)
    assert mix.index.tolist() == ["jsapi", "h5", "native"]
    assert mix["paid_fen"].tolist() == [3000, 0, 1000]
    assert mix["share"].tolist() == [0.75, 0.0, 0.25]


def test_item_figures_and_the_funnel():
    items = pd.DataFrame(
        [(1, "写作课", 10, 5, 9950, 1990), (2, "剪辑课", 4, 4, 2000, 0)],
        columns=["product_key", "title", "created_count", "paid_count", "paid_fen", "refund_fen"],
    )
    views = pd.DataFrame(
        [(1, "写作课", 200), (3, "只被看过", 50)], columns=["product_key", "title", "views"]
    )
    table = stats.item_figures(items, views).set_index("product_key")
    assert table.index.tolist() == [1, 2, 3]  # by net revenue
    assert table.loc[1, "net_fen"] == 7960
    assert table.loc[1, "view_to_order"] == pytest.approx(0.05)
    assert table.loc[1, "order_to_paid"] == pytest.approx(0.5)
    assert table.loc[1, "view_to_paid"] == pytest.approx(0.025)
    assert table.loc[2, "views"] == 0 and table.loc[2, "view_to_order"] == 0.0
    assert table.loc[3, "title"] == "只被看过" and table.loc[3, "paid_count"] == 0


def test_weekday_hour_map():
    hourly = pd.DataFrame(
        [(0, 9, 2), (6, 23, 5), (0, 9, 1)], columns=["weekday", "hour", "paid_count"]
    )
    grid = stats.weekday_hour_map(hourly)
    assert grid.shape == (7, 24) and grid[0, 9] == 3 and grid[6, 23] == 5 and grid.sum() == 8


def test_cohort_retention():
    cohorts = pd.DataFrame(
        [
            (date(2026, 9, 1), date(2026, 9, 1), 10),
            (date(2026, 9, 1), date(2026, 10, 1), 4),
            (date(2026, 9, 1), date(2026, 11, 1), 2),
            (date(2026, 10, 1), date(2026, 10, 1), 5),
            (date(2026, 10, 1), date(2026, 11, 1), 1),
        ],
        columns=["cohort", "month", "readers"],
    )
    table = stats.cohort_retention(cohorts)
    assert table["size"].tolist() == [10, 5]
    assert table.loc[date(2026, 9, 1), 1] == pytest.approx(0.4)
    assert table.loc[date(2026, 9, 1), 2] == pytest.approx(0.2)
    assert table.loc[date(2026, 10, 1), 0] == 1.0 and table.loc[date(2026, 10, 1), 1] == 0.2
    assert pd.isna(table.loc[date(2026, 10, 1), 2])
