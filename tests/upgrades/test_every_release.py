"""`flask db upgrade` on the database of every earlier release keeps every row, and the shop
works on what it leaves: buyers still read what they paid for, pages render, stats rebuild.

Each earlier release is a snapshot in tests/data/releases/ (see the README there): the
demo shop with sales as that release wrote it. Loaded at its revision into an empty
database (SQLite, or PostgreSQL with SHOP_TEST_DB=postgresql), then upgraded to head.
"""

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from app.catalog import entitlements
from app.extensions import db
from app.models import OrderStatus, Product, Reader
from app.sandbox.notify import deliver_due_notifications
from tests.conftest import sign_in_as
from tests.payflow import csrf_token_in, latest_order, pay_on_phone
from tests.upgrades import snapshot as snapshots

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ROOT / "tests" / "data" / "releases"
SCRIPTS = ScriptDirectory(str(ROOT / "migrations"))
SNAPSHOTS = sorted(RELEASES.glob("*.json.gz"))

# Rows a migration removes on purpose, by revision: allowed to go only when the upgrade
# runs that migration.
EMPTIED_BY = {
    "64f027e8bf08": {
        "rollup_state": "rollups are rebuilt on the next dashboard visit, so the new "
        "source_sales_daily starts complete",
    },
}
READABLE = ("paid", "partially_refunded")


def _revisions_after(revision: str) -> set[str]:
    return {script.revision for script in SCRIPTS.iterate_revisions("heads", revision)}


def _drop_everything() -> None:
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    metadata.drop_all(db.engine)


def _counts(connection: sa.Connection, tables) -> dict[str, int]:
    return {
        name: connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(name))
        ).scalar_one()
        for name in tables
    }


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda path: path.name.split(".")[0])
def test_a_shop_of_an_earlier_release_upgrades_with_every_row_and_works(app, path):
    release = snapshots.read(path)
    tables = release["tables"]
    with app.app_context():
        _drop_everything()
        upgrade(revision=release["revision"])
        with db.engine.begin() as connection:
            snapshots.load(connection, release)

        upgrade()

        with db.engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert version.scalar_one() == SCRIPTS.get_current_head()
            kept = _counts(connection, tables)
        emptied = {
            table
            for revision in _revisions_after(release["revision"])
            for table in EMPTIED_BY.get(revision, {})
        }
        assert {name: count for name, count in kept.items() if name not in emptied} == {
            name: len(table["rows"]) for name, table in tables.items() if name not in emptied
        }

        owned = _owned(tables)
        assert owned, "a release snapshot needs readers who bought something"
        for reader_id, product_id in owned:
            viewer = entitlements.Viewer(reader=db.session.get(Reader, reader_id))
            product = db.session.get(Product, product_id)
            assert entitlements.can_read_product(viewer, product), (reader_id, product.slug)
        # A paid, published item and one of its buyers, for the pages below.
        buyer, paid_item = next(
            (reader_id, product.slug)
            for reader_id, product_id in sorted(owned)
            for product in [db.session.get(Product, product_id)]
            if product.price_fen and product.is_published
        )
        db.session.remove()

    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get(f"/p/{paid_item}").status_code == 200
    sign_in_as(app, client, buyer)
    assert client.get(f"/p/{paid_item}/read", follow_redirects=True).status_code == 200

    # A new reader buys it through the sandbox: every table takes new rows after the ones
    # loaded with their ids (on PostgreSQL, only once the sequences were moved past them).
    desktop = app.test_client()
    page = desktop.get(f"/p/{paid_item}/buy").get_data(as_text=True)
    bought = desktop.post(f"/p/{paid_item}/buy", data={"csrf_token": csrf_token_in(page)})
    assert bought.status_code == 302, bought.get_data(as_text=True)
    order = latest_order(app)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    assert latest_order(app, order.out_trade_no).status == OrderStatus.PAID
    assert desktop.get(f"/p/{paid_item}/read", follow_redirects=True).status_code == 200

    result = app.test_cli_runner().invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0, result.output


def _rows(table: dict) -> list[dict]:
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def _owned(tables: dict) -> set[tuple[int, int]]:
    """(reader, product) pairs that must open: every grant, and every paid purchase."""
    owned = {(row["reader_id"], row["product_id"]) for row in _rows(tables["entitlements"])}
    for order in _rows(tables.get("orders", {"columns": [], "rows": []})):
        if order.get("kind", "purchase") == "purchase" and order["status"] in READABLE:
            owned.add((order["reader_id"], order["product_id"]))
    return owned


def test_every_earlier_release_has_a_snapshot():
    head = SCRIPTS.get_current_head()
    missing = [
        script.revision
        for script in SCRIPTS.walk_revisions()
        if script.revision != head and not (RELEASES / f"{script.revision}.json.gz").exists()
    ]
    assert not missing, (
        f"no release snapshot for {', '.join(missing)}: a new migration makes the release "
        "before it an earlier release, whose database must keep upgrading. Make its "
        "snapshot as tests/data/releases/README.md says (check out the last commit of that "
        "release, run its migrations and demo, then `python -m tests.upgrades.snapshot "
        "tests/data/releases/<revision>.json.gz`)."
    )
    for path in SNAPSHOTS:
        assert snapshots.read(path)["revision"] == path.name.split(".")[0], path.name
