"""The figures, checked by hand on small ledgers (shop time is Asia/Shanghai, UTC+8)."""

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from app import stats

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


def test_revenue_by_day_splits_purchases_and_tips_on_shop_days():
    table = stats.revenue_by_day(LEDGER, date(2026, 11, 23), date(2026, 11, 26), TZ)
    assert list(table.index) == [date(2026, 11, d) for d in (23, 24, 25, 26)]
    assert table["purchases_fen"].tolist() == [0, 1990, 0, 0]
    assert table["tips_fen"].tolist() == [0, 0, 700, 0]


def test_revenue_by_day_with_nothing_paid_is_all_zeros():
    table = stats.revenue_by_day(_ledger(), date(2026, 11, 1), date(2026, 11, 3), TZ)
    assert table.to_dict("list") == {"purchases_fen": [0, 0, 0], "tips_fen": [0, 0, 0]}


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
