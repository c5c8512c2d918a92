"""Dashboard benchmark: the studio's dashboard at 100k and at 1M orders.

Run from the repository root:

    .venv/bin/python bench/dashboard.py

For each size it builds a shop in a temporary instance folder (./instance is never touched)
on SQLite: 40 paid items, one guest reader per ten orders, the orders spread over two years
by app/demo/history.py (paid, expired, refunded in part and in full, tips) plus page views.
It rebuilds the rollups once (timed), then times GET /studio/ as the logged-in creator for
the last 90 days and for all time:

- warm: the median of 15 requests in one process after two warm-up requests;
- cold: the first request of a fresh Python process (imports and app creation excluded,
  the database file as the OS left it), the median of three processes.

It also times folding 1,000 new payment events into the rollups (what a visit costs after
a busy hour). The last line is machine-readable:

    RESULT warm_ms_1m=... cold_ms_1m=... warm_ms_100k=... growth=...

(warm/cold for the all-time range, the slower of the two; growth is warm_ms_1m /
warm_ms_100k). Targets: warm < 300 ms and cold < 1.5 s at 1M orders, growth near 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "100000,1000000").split(","))
ITEMS = 40
DAYS = 730
WARM_RUNS = 15
COLD_RUNS = 3
RANGES = ("90", "all")
PASSWORD = "bench-password-123"


def make_app(instance: Path):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'shop.db'}",
            "WECHAT_SANDBOX": True,
            "RATELIMIT_ENABLED": False,
            "PAGE_CACHE_SIZE": 0,
        },
        instance_path=str(instance),
    )


def build_shop(instance: Path, orders: int) -> dict:
    from app.analytics import rollups
    from app.catalog import queries
    from app.demo import history
    from app.extensions import db
    from app.models import Product, ProductKind
    from app.readers.creators import create_creator

    app = make_app(instance)
    with app.app_context():
        db.create_all()
        items = []
        for n in range(ITEMS):
            item = Product(
                slug=f"item-{n}",
                kind=ProductKind.ARTICLE,
                title=f"第 {n + 1} 号内容",
                price_fen=int(990 + 1000 * (n % 20)),
                body_md="试读\n\n<!--more-->\n\n正文",
            )
            queries.render_product(item)
            queries.publish(item)
            items.append(item)
        db.session.add_all(items)
        create_creator("bench", PASSWORD)
        db.session.flush()
        started = time.perf_counter()
        made = history.generate(
            orders=orders,
            readers=orders // 10,
            days=DAYS,
            products=[(p.id, p.price_fen) for p in items],
            grant_access=False,
        )
        db.session.commit()
        generated_s = time.perf_counter() - started
        started = time.perf_counter()
        rollups.rebuild(app.config["SHOP_TIMEZONE"])
        rebuild_s = time.perf_counter() - started
        naive_s = naive_revenue_by_day_s()
    return {
        "generated_s": generated_s,
        "rebuild_s": rebuild_s,
        "naive_s": naive_s,
        "paid": made.paid,
    }


def naive_revenue_by_day_s() -> float:
    """For reference: what one figure costs the naive way, every order read into pandas."""
    import pandas as pd
    import sqlalchemy as sa

    from app.extensions import db

    started = time.perf_counter()
    frame = pd.read_sql(
        sa.text("SELECT paid_at, amount_fen, refunded_fen FROM orders WHERE paid_at IS NOT NULL"),
        db.session.connection(),
    )
    paid = pd.to_datetime(frame["paid_at"], utc=True, format="ISO8601")
    net = frame["amount_fen"] - frame["refunded_fen"]
    net.groupby(paid.dt.tz_convert("Asia/Shanghai").dt.date).sum()
    return time.perf_counter() - started


def logged_in_client(app):
    client = app.test_client()
    page = client.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/creator/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    return client


def time_request(client, range_key: str) -> float:
    started = time.perf_counter()
    response = client.get(f"/studio/?range={range_key}")
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    assert "净收入" in response.get_data(as_text=True)
    return elapsed


def warm_ms(instance: Path) -> dict[str, float]:
    app = make_app(instance)
    client = logged_in_client(app)
    figures = {}
    for range_key in RANGES:
        for _ in range(2):
            time_request(client, range_key)
        figures[range_key] = statistics.median(
            time_request(client, range_key) for _ in range(WARM_RUNS)
        )
    return figures


def cold_ms(instance: Path, range_key: str) -> float:
    """The first request in a new process (this script, run with --cold)."""
    runs = []
    for _ in range(COLD_RUNS):
        output = subprocess.run(
            [sys.executable, __file__, "--cold", str(instance), range_key],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1])["ms"])
    return statistics.median(runs)


def cold_child(instance: Path, range_key: str) -> None:
    app = make_app(instance)
    client = logged_in_client(app)  # logging in is not the dashboard's cost
    print(json.dumps({"ms": time_request(client, range_key)}))


def fold_ms(instance: Path) -> float:
    """Fold 1,000 new payment events (created + paid for 500 orders) into the rollups."""
    import sqlalchemy as sa

    from app.analytics import rollups
    from app.extensions import db
    from app.models import Order, PaymentEvent
    from app.models.base import utcnow

    app = make_app(instance)
    with app.app_context():
        ids = db.session.scalars(
            sa.select(Order.id).where(Order.status == "paid").order_by(Order.id.desc()).limit(500)
        ).all()
        old = utcnow().replace(year=utcnow().year - 1)
        db.session.execute(
            sa.insert(PaymentEvent),
            [
                {"order_id": i, "kind": k, "detail": {}, "created_at": old}
                for i in ids
                for k in ("created", "paid")
            ],
        )
        db.session.commit()
        started = time.perf_counter()
        rollups.ensure_current(app.config["SHOP_TIMEZONE"])
        return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", nargs=2, metavar=("INSTANCE", "RANGE"))
    args = parser.parse_args()
    if args.cold:
        cold_child(Path(args.cold[0]), args.cold[1])
        return

    os.environ.pop("SHOP_INSTANCE_PATH", None)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        for size in SIZES:
            instance = Path(folder) / f"shop-{size}"
            instance.mkdir()
            built = build_shop(instance, size)
            warm = warm_ms(instance)
            cold = {r: cold_ms(instance, r) for r in RANGES}
            folded = fold_ms(instance)
            results[size] = {"warm": warm, "cold": cold}
            print(
                f"{size:>9,} orders: generated in {built['generated_s']:.1f} s "
                f"({built['paid']:,} paid), rollups rebuilt in {built['rebuild_s']:.1f} s"
            )
            print(
                f"  for reference, one figure (revenue by day) read naively from every order: "
                f"{built['naive_s'] * 1000:.0f} ms"
            )
            for r in RANGES:
                label = "last 90 days" if r == "90" else "all time    "
                print(f"  {label}  warm median {warm[r]:7.1f} ms   cold {cold[r]:7.1f} ms")
            print(f"  folding 1,000 new events into the rollups: {folded:.1f} ms")

    small, large = results[SIZES[0]], results[SIZES[1]]
    warm_1m = max(large["warm"].values())
    cold_1m = max(large["cold"].values())
    warm_100k = max(small["warm"].values())
    growth = warm_1m / warm_100k
    print(f"growth 1M/100k (warm, all time): {growth:.2f}")
    print(
        f"RESULT warm_ms_1m={warm_1m:.1f} cold_ms_1m={cold_1m:.1f} "
        f"warm_ms_100k={warm_100k:.1f} growth={growth:.2f}"
    )


if __name__ == "__main__":
    main()
