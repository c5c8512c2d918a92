"""Backing the whole shop up into one archive, and restoring one.

An archive (``shop-20261207T021500Z.tar.gz``, UTC) holds the database, the uploads (covers,
avatars, files for sale), the instance's secret key (sessions and sharers' codes are signed
with it) and ``manifest.json``: the format, when, which database and migration, the row
counts of the tables that hold money and access, and every file with its size and sha256.

SQLite is copied through its online backup API and PostgreSQL through ``pg_dump -Fc`` inside
the transaction that counts the rows, so the counts describe exactly the copied database
while the shop keeps running. An archive is written under a temporary name and renamed when
whole: a file with our name is always a complete backup. Restoring checks every checksum
before it touches anything.

Plain Python: the ``flask shop backup|restore`` commands pass in the configuration.
"""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from glob import glob
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

FORMAT_VERSION = 1
ARCHIVE_NAME = re.compile(r"shop-\d{8}T\d{6}Z\.tar\.gz")
MANIFEST = "manifest.json"
SECRET_KEY_MEMBER = "instance/secret_key"
UPLOADS_PREFIX = "uploads/"
DATABASE_MEMBERS = {"sqlite": "database/shop.db", "postgresql": "database/shop.dump"}
# The tables a restore is judged by (what was sold, to whom, who may read what), and how
# the commands name them.
COUNTED_TABLES = {
    "orders": "订单",
    "payment_events": "支付记录",
    "refunds": "退款",
    "tips": "赞赏",
    "entitlements": "已购权限",
    "readers": "读者",
    "products": "商品",
    "product_files": "下载文件",
}
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message (Chinese) says why and what to do."""


@dataclass(frozen=True)
class Shop:
    """Where one shop keeps its state: the database and two folders."""

    database_url: str
    instance_path: Path
    upload_folder: Path

    @property
    def secret_key_file(self) -> Path:
        return self.instance_path / "secret_key"


@dataclass
class Manifest:
    kind: str
    created_at: str
    revision: str | None
    counts: dict[str, int]
    files: dict[str, dict] = field(default_factory=dict)  # member name -> size, sha256
    pg_dump_version: int | None = None

    def as_json(self) -> bytes:
        document = {
            "format": FORMAT_VERSION,
            "created_at": self.created_at,
            "database": {
                "kind": self.kind,
                "revision": self.revision,
                "pg_dump_version": self.pg_dump_version,
            },
            "counts": self.counts,
            "files": [{"path": name, **entry} for name, entry in sorted(self.files.items())],
        }
        return json.dumps(document, ensure_ascii=False, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Manifest":
        try:
            document = json.loads(data)
            if document.get("format") != FORMAT_VERSION:
                raise BackupError(
                    f"备份格式 {document.get('format')!r} 不是本版本认识的 {FORMAT_VERSION}"
                )
            database = document["database"]
            return cls(
                kind=database["kind"],
                created_at=document["created_at"],
                revision=database["revision"],
                counts={str(k): int(v) for k, v in document["counts"].items()},
                files={
                    entry["path"]: {"size": int(entry["size"]), "sha256": entry["sha256"]}
                    for entry in document["files"]
                },
                pg_dump_version=database.get("pg_dump_version"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError("备份的 manifest.json 无法读懂：备份已损坏") from error

    @property
    def upload_files(self) -> list[str]:
        return [name for name in self.files if name.startswith(UPLOADS_PREFIX)]


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    manifest: Manifest


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    counts: dict[str, int]
    uploads: int
    secret_key: bool
    uploads_set_aside: Path | None  # the uploads that were there before, kept under this name
    upgrade_needed: bool  # the archive's migration is older than the code's


def database_kind(url: str) -> str:
    backend = sa.make_url(url).get_backend_name()
    if backend not in _KINDS:
        raise BackupError(f"不支持备份这种数据库：{backend}（只支持 SQLite 和 PostgreSQL）")
    return backend


# ---- backing up ---------------------------------------------------------------------------


def create_backup(shop: Shop, folder: Path, now: datetime | None = None) -> Backup:
    """Write one archive of the shop into `folder`, readable by its owner only."""
    now = now or datetime.now(UTC)
    kind = database_kind(shop.database_url)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = folder / f"shop-{now:%Y%m%dT%H%M%SZ}.tar.gz"
    if final.exists():
        raise BackupError(f"{final} 已存在：同一秒内只能备份一次")

    # A hidden folder beside the archives: retention never looks inside it, and the rename
    # at the end stays on one file system.
    with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as staging:
        dumped = Path(staging) / Path(DATABASE_MEMBERS[kind]).name
        if kind == "sqlite":
            manifest = _copy_sqlite(shop.database_url, dumped)
        else:
            manifest = _dump_postgresql(shop.database_url, dumped)
        manifest.created_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")

        partial = Path(staging) / final.name
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            with tarfile.open(fileobj=out, mode="w:gz") as archive:
                _add_file(archive, manifest, DATABASE_MEMBERS[kind], dumped)
                for path in _upload_files(shop.upload_folder):
                    name = UPLOADS_PREFIX + path.relative_to(shop.upload_folder).as_posix()
                    _add_file(archive, manifest, name, path, vanished_ok=True)
                if shop.secret_key_file.is_file():
                    _add_file(archive, manifest, SECRET_KEY_MEMBER, shop.secret_key_file)
                _add_bytes(archive, MANIFEST, manifest.as_json())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(partial, final)  # unlike a rename, never replaces an archive of that name
        except FileExistsError as error:
            raise BackupError(f"{final} 已存在：同一秒内只能备份一次") from error
        except OSError:  # a file system without hard links (some network shares)
            os.replace(partial, final)
    _sync_folder(folder)
    return Backup(final, final.stat().st_size, manifest)


def prune(folder: Path, keep: int, spare: Path | None = None) -> list[Path]:
    """Delete all but the newest `keep` archives (by the time in their names) and never
    `spare` (the one just written, even if the clock went back). Only files named like our
    archives are ever deleted: whatever else lives in the folder is not ours."""
    if keep < 1:
        raise BackupError("至少要保留 1 份备份")
    archives = sorted(
        (path for path in folder.iterdir() if ARCHIVE_NAME.fullmatch(path.name) and path.is_file()),
        reverse=True,
    )
    if spare is not None and spare in archives:
        archives.remove(spare)
        keep -= 1
    deleted = archives[keep:]
    for path in deleted:
        path.unlink()
    return deleted


def _copy_sqlite(url: str, target: Path) -> Manifest:
    source_path = _sqlite_path(url)
    try:
        # mode=rw: a missing database is an error, not a new empty file.
        source = sqlite3.connect(f"file:{source_path}?mode=rw", uri=True, timeout=15)
    except sqlite3.OperationalError as error:
        raise BackupError(f"打不开数据库 {source_path}：{error}") from error
    with closing(source), closing(sqlite3.connect(target)) as copy:
        # One step (pages=-1) under one read transaction: a consistent snapshot, even
        # while workers write; what they have not committed is not in it.
        source.backup(copy)
    with _connection(f"sqlite:///{target}") as connection:
        return Manifest("sqlite", "", _revision(connection), _counts(connection))


def _dump_postgresql(url: str, target: Path) -> Manifest:
    tools = PostgresTools.find()
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as connection:
            # pg_dump joins this transaction's snapshot, so the counts below describe
            # exactly the rows it writes, however busy the shop is meanwhile.
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            tools.check_server(_server_major(connection), "pg_dump")
            manifest = Manifest("postgresql", "", _revision(connection), _counts(connection))
            manifest.pg_dump_version = tools.major
            tools.run(
                "pg_dump",
                ["--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                url,
            )
    except sa.exc.OperationalError as error:
        raise BackupError(f"连不上数据库：{error.orig}") from error
    finally:
        engine.dispose()
    return manifest


def _upload_files(folder: Path) -> list[Path]:
    """Every regular file under the uploads, in a stable order; files still being written
    (app.pictures.atomic_write's hidden .part files) and links are left out."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not path.is_symlink()
        and not (path.name.startswith(".") and path.name.endswith(".part"))
    )


class _Hashing:
    """A file object that hashes what tarfile reads from it."""

    def __init__(self, raw):
        self.raw, self.sha256 = raw, hashlib.sha256()

    def read(self, size=-1):
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _add_file(archive, manifest: Manifest, name: str, path: Path, vanished_ok=False) -> None:
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        if vanished_ok:  # replaced or removed since the listing: not part of this backup
            return
        raise
    with raw:
        stat = os.fstat(raw.fileno())
        info = _member(name, stat.st_size, stat.st_mtime)
        hashing = _Hashing(raw)
        archive.addfile(info, hashing)
    manifest.files[name] = {"size": stat.st_size, "sha256": hashing.sha256.hexdigest()}


def _add_bytes(archive, name: str, data: bytes) -> None:
    archive.addfile(_member(name, len(data), datetime.now(UTC).timestamp()), io.BytesIO(data))


def _member(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def _sync_folder(folder: Path) -> None:
    """The rename itself reaches the disk: after a crash the archive is there or absent."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- restoring ----------------------------------------------------------------------------


def restore_backup(archive: Path, shop: Shop, *, replace_orders: bool = False) -> Restored:
    """Put an archive's database, uploads and secret key in place of `shop`'s.

    Nothing is touched before the whole archive has been read and every checksum matched,
    the database kinds agree, the archive's migration is one this code knows, and (unless
    `replace_orders`) the target database holds no orders."""
    kind = database_kind(shop.database_url)
    shop.instance_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=shop.instance_path, prefix=".restore-") as folder:
        staging = Path(folder)
        manifest = unpack_verified(archive, staging)
        if manifest.kind != kind:
            raise BackupError(
                f"这份备份来自 {_KINDS.get(manifest.kind, manifest.kind)}，"
                f"而要恢复到的数据库是 {_KINDS[kind]}：换数据库是迁移，不是恢复。"
                f"请恢复到 {_KINDS.get(manifest.kind, manifest.kind)} 数据库"
            )
        upgrade_needed = _is_older_than_code(manifest.revision)
        if not replace_orders:
            _refuse_if_shop_has_orders(shop.database_url)
        dumped = staging / DATABASE_MEMBERS[kind]
        if kind == "sqlite":
            _restore_sqlite(dumped, shop.database_url)
        else:
            _restore_postgresql(dumped, shop.database_url, manifest.pg_dump_version)

        with _connection(shop.database_url) as connection:
            counts = _counts(connection)
        if counts != manifest.counts:
            differences = "、".join(
                f"{COUNTED_TABLES.get(table, table)} 清单 {manifest.counts.get(table)} 行，"
                f"恢复后 {counts.get(table)} 行"
                for table in sorted(set(counts) | set(manifest.counts))
                if counts.get(table) != manifest.counts.get(table)
            )
            raise BackupError(
                f"恢复后的数据库与备份清单不符（{differences}）：请不要启动商店，换一份备份再试"
            )
        set_aside = _put_uploads(staging / "uploads", shop.upload_folder)
        has_secret = SECRET_KEY_MEMBER in manifest.files
        if has_secret:
            os.chmod(staging / SECRET_KEY_MEMBER, 0o600)
            os.replace(staging / SECRET_KEY_MEMBER, shop.secret_key_file)
    return Restored(
        manifest=manifest,
        counts=counts,
        uploads=len(manifest.upload_files),
        secret_key=has_secret,
        uploads_set_aside=set_aside,
        upgrade_needed=upgrade_needed,
    )


def unpack_verified(archive: Path, into: Path) -> Manifest:
    """Unpack an archive into an empty folder and check it against its manifest: every
    listed file present with its size and sha256, nothing unlisted. BackupError otherwise."""
    found: dict[str, dict] = {}
    manifest_bytes = None
    try:
        with gzip.open(archive) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                name = _safe_name(member)
                source = tar.extractfile(member)
                if name == MANIFEST:
                    manifest_bytes = source.read()
                    continue
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with open(target, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                found[name] = {"size": member.size, "sha256": digest.hexdigest()}
            # tarfile stops at the first header it cannot read as if the archive ended
            # there; reading the stream to its end makes gzip check its length and CRC.
            while stream.read(_CHUNK):
                pass
    except FileNotFoundError as error:
        raise BackupError(f"找不到备份文件 {archive}") from error
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(f"备份文件 {archive} 已损坏或不完整（{error}）") from error
    if manifest_bytes is None:
        raise BackupError("备份已损坏或不完整：里面没有 manifest.json")
    manifest = Manifest.from_json(manifest_bytes)
    problems = [f"缺少 {name}" for name in manifest.files if name not in found]
    problems += [
        f"{name} 校验不符"
        for name, entry in manifest.files.items()
        if name in found and found[name] != entry
    ]
    problems += [f"多出清单外的 {name}" for name in found if name not in manifest.files]
    if manifest.kind not in DATABASE_MEMBERS:
        problems.append(f"不认识的数据库类型 {manifest.kind!r}")
    elif DATABASE_MEMBERS[manifest.kind] not in manifest.files:
        problems.append("清单里没有数据库")
    if problems:
        raise BackupError("备份已损坏，没有恢复任何东西：" + "；".join(problems))
    return manifest


def _safe_name(member: tarfile.TarInfo) -> str:
    """Only plain files with relative names that stay inside the folder they unpack into."""
    path = PurePosixPath(member.name)
    if not member.isfile() or path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"备份里有不该有的条目 {member.name!r}：拒绝恢复")
    return path.as_posix()


def _refuse_if_shop_has_orders(url: str) -> None:
    if database_kind(url) == "sqlite" and not _sqlite_path(url).exists():
        return  # a new shop: nothing to lose (and connecting would create the file)
    with _connection(url) as connection:
        if not sa.inspect(connection).has_table("orders"):
            return
        # paid_at is set on every order that took money, refunded ones too.
        total, paid = connection.execute(
            sa.text("SELECT count(*), count(paid_at) FROM orders")
        ).one()
    if total:
        raise BackupError(
            f"目标数据库已有 {total} 笔订单（其中 {paid} 笔付过款）。恢复会用备份整个替换它："
            "这些订单、读者的购买记录和备份之后的一切改动都会丢失。"
            "确认要替换，请加 --yes 再运行"
        )


def _restore_sqlite(copy: Path, url: str) -> None:
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Through SQLite rather than a file copy: a -wal file left beside the old database
    # would otherwise be replayed onto the restored one.
    with (
        closing(sqlite3.connect(copy)) as source,
        closing(sqlite3.connect(target, timeout=15)) as destination,
    ):
        try:
            source.backup(destination)
        except sqlite3.OperationalError as error:
            raise BackupError(f"写不进数据库 {target}（商店还在运行？）：{error}") from error


def _restore_postgresql(dump: Path, url: str, dumped_by: int | None) -> None:
    tools = PostgresTools.find()
    if dumped_by and tools.major < dumped_by:
        raise BackupError(
            f"这份备份由 PostgreSQL {dumped_by} 的 pg_dump 写成，这里的 pg_restore 是 "
            f"{tools.major}：请安装 postgresql-client-{dumped_by} 或更新的版本"
        )
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tools.check_server(_server_major(connection), "pg_restore")
    except sa.exc.OperationalError as error:
        raise BackupError(f"连不上数据库：{error.orig}") from error
    finally:
        engine.dispose()
    # One transaction: a restore that fails half way leaves the database as it was. No
    # owners or grants: the roles of the server that was backed up need not exist here.
    tools.run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={_database_name(url)}",
            str(dump),
        ],
        url,
    )


def _put_uploads(unpacked: Path, folder: Path) -> Path | None:
    """Move the archive's uploads into place. Uploads already there are kept under a dated
    name beside them (the creator deletes them once the restored shop looks right), unless
    the folder was empty."""
    set_aside = None
    if folder.exists():
        if any(folder.iterdir()):
            set_aside = folder.with_name(
                f"{folder.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
            )
            folder.rename(set_aside)
        else:
            folder.rmdir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    if unpacked.is_dir():
        shutil.move(unpacked, folder)
    else:
        folder.mkdir()
    return set_aside


# ---- the database, either kind ------------------------------------------------------------


@contextmanager
def _connection(url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    except sa.exc.OperationalError as error:
        raise BackupError(f"连不上数据库：{error.orig}") from error
    finally:
        engine.dispose()


def _counts(connection: sa.Connection) -> dict[str, int]:
    present = set(sa.inspect(connection).get_table_names())
    return {
        table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in COUNTED_TABLES
        if table in present
    }


def _revision(connection: sa.Connection) -> str | None:
    """The database's migration, or None for one built without migrations (tests)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _is_older_than_code(revision: str | None) -> bool:
    """Whether `flask db upgrade` has work to do after restoring. A migration this code does
    not know comes from a newer release: restoring it here would leave a database the code
    cannot read, so it is refused."""
    if revision is None:
        return False
    scripts = ScriptDirectory(str(MIGRATIONS))
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"这份备份的数据库迁移版本 {revision} 比本程序的代码新：请先把代码升级到"
            "做备份时的版本（或更新），再恢复"
        )
    return revision != scripts.get_current_head()


def _sqlite_path(url: str) -> Path:
    database = sa.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("SQLite 数据库是内存数据库，无法备份")
    return Path(database)


def _server_major(connection: sa.Connection) -> int:
    return int(connection.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000


def _database_name(url: str) -> str:
    return sa.make_url(url).database or ""


# libpq reads these from the environment: nothing of the connection, above all not the
# password, appears on a command line that every user of the server can see.
_LIBPQ_QUERY_ENV = {"host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE"}


def libpq_environment(url: str) -> dict[str, str]:
    parsed = sa.make_url(url)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PG")  # the shop's URL alone says where to connect
    }
    for variable, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[variable] = str(value)
    for key, variable in _LIBPQ_QUERY_ENV.items():
        if key in parsed.query:
            value = parsed.query[key]
            env[variable] = value if isinstance(value, str) else value[0]
    return env


@dataclass(frozen=True)
class PostgresTools:
    """The newest pg_dump installed (on PATH or in Debian's /usr/lib/postgresql/N/bin) and
    the pg_restore beside it."""

    folder: Path
    major: int

    @classmethod
    def find(cls) -> "PostgresTools":
        candidates = [shutil.which("pg_dump"), *glob("/usr/lib/postgresql/*/bin/pg_dump")]
        found = [
            (major, Path(path).parent)
            for path in dict.fromkeys(c for c in candidates if c)
            if (major := _tool_major(path)) is not None
            and (Path(path).parent / "pg_restore").exists()
        ]
        if not found:
            raise BackupError(
                "找不到 pg_dump 和 pg_restore：请安装 PostgreSQL 客户端（如 apt install "
                "postgresql-client），它的版本不能低于数据库服务器的"
            )
        major, folder = max(found)
        return cls(folder, major)

    def check_server(self, server_major: int, tool: str) -> None:
        if server_major > self.major:
            raise BackupError(
                f"数据库服务器是 PostgreSQL {server_major}，而 {tool} 是 {self.major}："
                f"旧的 {tool} 读不了新的服务器。请安装 postgresql-client-{server_major}"
            )

    def run(self, tool: str, arguments: list[str], url: str) -> None:
        command = [str(self.folder / tool), "--no-password", *arguments]
        try:
            subprocess.run(
                command,
                env=libpq_environment(url),
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as error:
            detail = (error.stderr or "").strip() or f"退出码 {error.returncode}"
            raise BackupError(f"{tool} 失败：{detail}") from error


def _tool_major(path: str) -> int | None:
    try:
        answer = subprocess.run(
            [path, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", answer)
    return int(match.group(1)) if match else None
