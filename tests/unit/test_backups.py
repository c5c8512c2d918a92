"""`flask shop backup` and `flask shop restore`: a shop with paid orders and files, backed up
and restored into another instance folder and another database, comes back whole."""

import dataclasses
import io
import json
import os
import sqlite3
import stat
import tarfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from app import backups, create_app
from app.catalog import cover_uploads
from app.extensions import db
from app.models import Entitlement, Order, OrderStatus, Product, Reader
from tests import factories
from tests.conftest import TEST_PAY_KEY
from tests.payments.helpers import bought_and_paid

ON_POSTGRESQL = os.environ.get("SHOP_TEST_DB") == "postgresql"
DOWNLOAD = "清单第一条：每天写五百字。".encode() * 50


@pytest.fixture
def shop(app_factory):
    """A shop whose key lives in instance/secret_key (as a real one's does), with two orders
    paid through the sandbox, a download file and an uploaded cover on the first product,
    and a gift (an entitlement without an order)."""
    app = app_factory(SECRET_KEY=None)
    _, buyer, slug = bought_and_paid(app, price_fen=1990)
    bought_and_paid(app, price_fen=990)
    uploads = Path(app.config["UPLOAD_FOLDER"])
    with app.app_context():
        item = db.session.scalar(sa.select(Product).where(Product.slug == slug))
        record = factories.attach_file(item, uploads, "清单.md", DOWNLOAD.decode())
        item.cover_image = cover_uploads.store_cover(
            uploads / "covers", slug, Image.new("RGB", (800, 450), "teal")
        )
        factories.give(factories.reader(nickname="受赠者"), item)
        db.session.commit()
        file_url = f"/p/{slug}/files/{record.id}"
    app.extensions["backup_test"] = {"buyer": buyer, "file_url": file_url}
    return app


def _backup(app, *args):
    result = app.test_cli_runner().invoke(args=["shop", "backup", *args])
    assert result.exit_code == 0, result.output
    return result


def _only_archive(folder: Path) -> Path:
    (archive,) = [p for p in folder.iterdir() if backups.ARCHIVE_NAME.fullmatch(p.name)]
    return archive


def _scratch_config(database_url: str) -> dict:
    """A shop as `SHOP_INSTANCE_PATH=... flask ...` starts one: no key in its configuration,
    uploads in its instance folder."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WECHAT_SANDBOX": True,
        "WECHAT_PAY_API_KEY": TEST_PAY_KEY,
        "RATELIMIT_ENABLED": False,
        "PAGE_CACHE_SIZE": 0,
    }


@pytest.fixture
def elsewhere(tmp_path):
    """An empty database (a second one on the same server under PostgreSQL, dropped after)
    and an instance folder of its own: where a restore drill puts a backup."""
    made = []

    def start(database_url):
        app = create_app(_scratch_config(database_url), instance_path=str(tmp_path / "drill"))
        made.append(app)
        return app

    if ON_POSTGRESQL:
        import psycopg

        url = sa.make_url(os.environ["TEST_DATABASE_URL"])
        scratch = f"{url.database}_restored"
        admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{scratch}"')
        target = url.set(database=scratch).render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path / 'drill-db' / 'shop.db'}"
    yield lambda: start(target)
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if ON_POSTGRESQL:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _orders(app) -> set[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                Order.out_trade_no,
                Order.status,
                Order.amount_fen,
                Order.transaction_id,
                Order.paid_at,
                Order.reader_id,
            )
        )
        return set(rows)


def _entitlements(app) -> set[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Entitlement.reader_id, Entitlement.product_id, Entitlement.order_id)
        )
        return set(rows)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_a_shop_restored_elsewhere_has_every_order_entitlement_and_file(shop, elsewhere):
    folder = Path(shop.config["BACKUP_FOLDER"])
    made = _backup(shop)
    archive = _only_archive(folder)
    assert str(archive) in made.output and "订单 2" in made.output

    drill = elsewhere()
    result = drill.test_cli_runner().invoke(args=["shop", "restore", str(archive)])
    assert result.exit_code == 0, result.output
    with shop.app_context():
        expected = {
            table: db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))
            for table in backups.COUNTED_TABLES
        }
    assert f"订单 2 · 支付记录 {expected['payment_events']}" in result.output
    assert f"已购权限 {expected['entitlements']}" in result.output

    paid = _orders(shop)
    assert len(paid) == 2 and {row.status for row in paid} == {OrderStatus.PAID}
    assert _orders(drill) == paid
    assert _entitlements(drill) == _entitlements(shop)
    with drill.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Reader)) == 5
    source_files = _files(Path(shop.config["UPLOAD_FOLDER"]))
    assert any(name.startswith("covers/") for name in source_files)
    assert DOWNLOAD in source_files.values()
    assert _files(Path(drill.instance_path) / "uploads") == source_files
    secret = Path(drill.instance_path) / "secret_key"
    assert secret.read_bytes() == (Path(shop.instance_path) / "secret_key").read_bytes()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600

    # Started again on the restored instance, the shop knows the buyer by their cookie and
    # hands them the file they paid for.
    restarted = elsewhere()
    reader = restarted.test_client()
    buyer = shop.extensions["backup_test"]["buyer"]
    reader.set_cookie("session", buyer.get_cookie("session").value)
    with reader.get(shop.extensions["backup_test"]["file_url"]) as response:
        assert response.status_code == 200
        assert response.data == DOWNLOAD


def test_the_archive_is_private_and_its_manifest_describes_it(shop, tmp_path):
    _backup(shop, "--to", str(tmp_path / "offsite"))
    archive = _only_archive(tmp_path / "offsite")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "offsite").iterdir()] == [archive.name]  # no leftovers

    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = set(tar.getnames())
    assert manifest["format"] == backups.FORMAT_VERSION
    assert manifest["created_at"].endswith("Z")
    assert archive.name == f"shop-{manifest['created_at'].replace('-', '').replace(':', '')}.tar.gz"
    assert manifest["database"]["kind"] == ("postgresql" if ON_POSTGRESQL else "sqlite")
    with shop.app_context():
        entitlements = db.session.scalar(sa.select(sa.func.count()).select_from(Entitlement))
    assert manifest["counts"]["orders"] == 2
    assert manifest["counts"]["entitlements"] == entitlements > 2  # bought, and the gift
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed | {"manifest.json"} == names
    assert "instance/secret_key" in listed
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"])


def _repacked(archive: Path, target: Path, change) -> Path:
    """A copy of the archive with its members passed through `change(name, data)`, which
    returns the new data or None to leave the member out."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = change(member.name, source.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                out.addfile(member, io.BytesIO(data))
    return target


def _flipped_byte(archive: Path, target: Path) -> Path:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def _cover_name(name: str) -> bool:
    return name.startswith("uploads/covers/")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda a, t: _flipped_byte(a, t), id="flipped-byte"),
        pytest.param(
            lambda a, t: _repacked(a, t, lambda n, d: None if _cover_name(n) else d),
            id="missing-file",
        ),
        pytest.param(
            lambda a, t: _repacked(a, t, lambda n, d: bytes(len(d)) if _cover_name(n) else d),
            id="changed-file",
        ),
        pytest.param(
            lambda a, t: _repacked(a, t, lambda n, d: None if n == "manifest.json" else d),
            id="no-manifest",
        ),
        pytest.param(lambda a, t: t.write_bytes(a.read_bytes()[:-4096]) and t, id="cut-short"),
    ],
)
def test_a_damaged_archive_is_refused_and_nothing_changes(shop, elsewhere, tmp_path, damage):
    _backup(shop)
    damaged = damage(_only_archive(Path(shop.config["BACKUP_FOLDER"])), tmp_path / "bad.tar.gz")
    drill = elsewhere()
    instance = Path(drill.instance_path)
    before = _files(instance)

    result = drill.test_cli_runner().invoke(args=["shop", "restore", "--yes", str(damaged)])

    assert result.exit_code == 1
    assert "恢复失败" in result.output and "损坏" in result.output
    assert _files(instance) == before  # no uploads, the same key, no leftovers
    assert [p.name for p in instance.iterdir()] == ["secret_key"]
    if ON_POSTGRESQL:
        with drill.app_context():
            assert sa.inspect(db.engine).get_table_names() == []
    else:
        assert not Path(sa.make_url(drill.config["SQLALCHEMY_DATABASE_URI"]).database).exists()


def test_a_shop_with_orders_is_replaced_only_with_yes(shop):
    _backup(shop)
    archive = _only_archive(Path(shop.config["BACKUP_FOLDER"]))
    with shop.app_context():
        factories.product(title="备份之后上架")
        db.session.commit()
    runner = shop.test_cli_runner()

    refused = runner.invoke(args=["shop", "restore", str(archive)])
    assert refused.exit_code == 1
    assert "已有 2 笔订单" in refused.output and "--yes" in refused.output
    with shop.app_context():
        assert db.session.scalar(sa.select(Product).where(Product.title == "备份之后上架"))

    replaced = runner.invoke(args=["shop", "restore", "--yes", str(archive)])
    assert replaced.exit_code == 0, replaced.output
    with shop.app_context():
        db.session.remove()
        assert not db.session.scalar(sa.select(Product).where(Product.title == "备份之后上架"))
    assert "before-restore" in replaced.output  # the uploads it replaced were set aside
    (aside,) = Path(shop.config["UPLOAD_FOLDER"]).parent.glob("uploads.before-restore-*")
    assert _files(aside) == _files(Path(shop.config["UPLOAD_FOLDER"]))


def test_retention_keeps_the_newest_and_never_touches_other_files(app, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    old = [f"shop-2026010{day}T021500Z.tar.gz" for day in range(1, 6)]
    foreign = ["notes.txt", "shop-latest.tar.gz", "shop-20260101T021500Z.tar.gz.bak", "db.dump"]
    for name in old + foreign:
        (folder / name).write_text("x")

    result = _backup(app, "--to", str(folder), "--keep", "3")

    assert "已删除 3 份旧备份" in result.output
    names = sorted(p.name for p in folder.iterdir())
    new = [n for n in names if backups.ARCHIVE_NAME.fullmatch(n) and n not in old]
    assert len(new) == 1
    assert names == sorted(foreign + old[-2:] + new)


def test_retention_never_deletes_the_archive_just_written(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    future = folder / "shop-20991231T000000Z.tar.gz"  # written while the clock ran ahead
    future.write_text("x")
    just_written = folder / "shop-20260101T000000Z.tar.gz"
    just_written.write_text("x")

    assert backups.prune(folder, 1, spare=just_written) == [future]
    assert list(folder.iterdir()) == [just_written]


@pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite's own locking")
def test_a_sqlite_backup_is_consistent_while_the_shop_writes(shop, tmp_path):
    """Taken while one connection holds a write transaction open and another commits new
    readers as fast as it can: the copy holds what was committed, and counts what it holds."""
    path = sa.make_url(shop.config["SQLALCHEMY_DATABASE_URI"]).database
    with shop.app_context():
        committed = db.session.scalar(sa.select(sa.func.count()).select_from(Reader))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute(f"INSERT INTO readers (nickname, created_at) VALUES ('{UNCOMMITTED}', {NOW})")
    first = backups.create_backup(_shop_of(shop), tmp_path / "held")
    holder.execute("ROLLBACK")
    holder.close()

    stop = threading.Event()

    def write_readers():
        writer = sqlite3.connect(path, isolation_level=None, timeout=30)
        while not stop.is_set():
            writer.execute(f"INSERT INTO readers (nickname, created_at) VALUES ('并发', {NOW})")
        writer.close()

    thread = threading.Thread(target=write_readers)
    thread.start()
    try:
        busy = [backups.create_backup(_shop_of(shop), tmp_path / f"busy{i}") for i in range(3)]
    finally:
        stop.set()
        thread.join()

    assert first.manifest.counts["readers"] == committed
    assert busy[-1].manifest.counts["readers"] > committed  # the writer did write meanwhile
    for made in [first, *busy]:
        unpacked = tmp_path / f"unpacked-{made.path.parent.name}"
        unpacked.mkdir()
        manifest = backups.unpack_verified(made.path, unpacked)
        copy = sqlite3.connect(unpacked / "database" / "shop.db")
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        readers = copy.execute("SELECT count(*) FROM readers").fetchone()[0]
        nicknames = {row[0] for row in copy.execute("SELECT nickname FROM readers")}
        copy.close()
        assert readers == manifest.counts["readers"]
        assert UNCOMMITTED not in nicknames


UNCOMMITTED = "未提交的读者"
NOW = "'2026-01-01 00:00:00.000000'"


def test_a_backup_taken_while_readers_arrive_restores_to_its_own_counts(shop, elsewhere):
    """The counts in the manifest are those of the copied database, however busy the shop:
    the restore checks them and refuses a database that differs (on PostgreSQL pg_dump
    shares the counting transaction's snapshot)."""
    with shop.app_context():
        engine = db.engine
    stop, written = threading.Event(), []

    def write_readers():
        while not stop.is_set():
            with engine.begin() as connection:
                connection.execute(sa.insert(Reader).values(nickname="并发"))
            written.append(1)

    thread = threading.Thread(target=write_readers)
    thread.start()
    try:
        while len(written) < 5:  # the writer is well under way
            stop.wait(0.01)
        made = backups.create_backup(_shop_of(shop), Path(shop.config["BACKUP_FOLDER"]))
        after = len(written)
    finally:
        stop.set()
        thread.join()
    assert len(written) > after or len(written) > 5  # the writer kept writing

    drill = elsewhere()
    result = drill.test_cli_runner().invoke(args=["shop", "restore", str(made.path)])
    assert result.exit_code == 0, result.output
    with drill.app_context():
        readers = db.session.scalar(sa.select(sa.func.count()).select_from(Reader))
    assert readers == made.manifest.counts["readers"] > 5


def _shop_of(app) -> backups.Shop:
    return backups.Shop(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        instance_path=Path(app.instance_path),
        upload_folder=Path(app.config["UPLOAD_FOLDER"]),
    )


def test_an_archive_from_the_other_kind_of_database_is_refused(shop, tmp_path):
    _backup(shop)
    archive = _only_archive(Path(shop.config["BACKUP_FOLDER"]))
    other = (
        f"sqlite:///{tmp_path / 'other.db'}"
        if ON_POSTGRESQL
        else "postgresql+psycopg://nobody@127.0.0.1:1/never"  # refused before connecting
    )
    target = backups.Shop(other, tmp_path / "other", tmp_path / "other" / "uploads")

    with pytest.raises(backups.BackupError, match="换数据库是迁移，不是恢复"):
        backups.restore_backup(archive, target)
    assert [p.name for p in (tmp_path / "other").iterdir()] == []


def test_an_archive_from_an_older_release_is_upgraded_after_restoring(app, elsewhere):
    from flask_migrate import upgrade

    scripts = backups.ScriptDirectory(str(backups.MIGRATIONS))
    head = scripts.get_current_head()
    previous = scripts.get_revision(head).down_revision
    with app.app_context():
        db.drop_all()
        upgrade(revision=previous)
        db.session.remove()
        with db.engine.begin() as connection:  # that release's table, not today's model
            products = sa.Table("products", sa.MetaData(), autoload_with=connection)
            now = datetime.now(UTC).replace(tzinfo=None)
            connection.execute(
                products.insert().values(
                    slug="old-item",
                    kind="article",
                    title="旧版本的商品",
                    summary="",
                    price_fen=990,
                    status="published",
                    featured=False,
                    body_md="",
                    preview_html="",
                    body_html="",
                    has_paid_part=False,
                    created_at=now,
                    updated_at=now,
                )
            )
    _backup(app)
    archive = _only_archive(Path(app.config["BACKUP_FOLDER"]))

    drill = elsewhere()
    result = drill.test_cli_runner().invoke(args=["shop", "restore", str(archive)])

    assert result.exit_code == 0, result.output
    assert "已升级" in result.output
    with drill.app_context():
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
        assert db.session.scalar(sa.select(Product.title)) == "旧版本的商品"
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE alembic_version"))


def test_an_archive_from_a_newer_release_is_refused(app, tmp_path):
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(sa.text("INSERT INTO alembic_version VALUES ('fromthefuture')"))
    _backup(app)
    archive = _only_archive(Path(app.config["BACKUP_FOLDER"]))
    target = backups.Shop(f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "x", tmp_path / "x" / "up")
    if ON_POSTGRESQL:
        target = dataclasses.replace(target, database_url=app.config["SQLALCHEMY_DATABASE_URI"])

    with pytest.raises(backups.BackupError, match="比本程序的代码新"):
        backups.restore_backup(archive, target, replace_orders=True)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))


def test_the_database_password_reaches_pg_dump_through_the_environment_only(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "someone-elses")
    env = backups.libpq_environment(
        "postgresql+psycopg://shop:s%40cret@db.internal:5433/shop?sslmode=require"
    )
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("db.internal", "5433", "shop")
    assert (env["PGPASSWORD"], env["PGDATABASE"], env["PGSSLMODE"]) == ("s@cret", "shop", "require")


def test_a_server_newer_than_pg_dump_is_named_with_the_fix():
    tools = backups.PostgresTools(Path("/usr/lib/postgresql/15/bin"), 15)
    tools.check_server(15, "pg_dump")
    tools.check_server(14, "pg_dump")
    with pytest.raises(backups.BackupError, match=r"服务器是 PostgreSQL 16.*postgresql-client-16"):
        tools.check_server(16, "pg_dump")
