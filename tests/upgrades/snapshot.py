"""Release snapshots: a shop database written by an earlier release, kept as plain rows.

`python -m tests.upgrades.snapshot OUT` dumps the database of the instance named by
SHOP_INSTANCE_PATH (its shop.db; `--url` names another database) into OUT, a gzipped JSON
file: the alembic revision, and per table its column names and rows. Values are JSON's
own, with datetimes and dates as ISO strings and bytes as base64; `load` turns them back
by the column types of the database they go into, so a snapshot made on SQLite loads into
PostgreSQL too. No import of the app: the database is read by reflection, whatever release
wrote it. tests/data/releases/README.md says when and how to make one.
"""

import argparse
import base64
import gzip
import json
import os
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

FORMAT = 1


def dump(engine: sa.Engine, release: str) -> dict:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        revision = connection.execute(
            sa.text("SELECT version_num FROM alembic_version")
        ).scalar_one()
        tables = {}
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(sa.select(table).order_by(*order)).all()
            tables[table.name] = {
                "columns": [column.name for column in table.columns],
                "rows": [[_plain(value) for value in row] for row in rows],
            }
    return {"format": FORMAT, "revision": revision, "release": release, "tables": tables}


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def write(snapshot: dict, path: Path) -> None:
    text = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"))
    # mtime=0: the same rows give the same bytes, so a rewritten snapshot shows no diff.
    path.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def read(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def load(connection: sa.Connection, snapshot: dict) -> None:
    """Insert a snapshot's rows into the tables the database has now (at its revision)."""
    metadata = sa.MetaData()
    metadata.reflect(connection)
    for table in metadata.sorted_tables:
        data = snapshot["tables"].get(table.name)
        if not data or not data["rows"]:
            continue
        columns = [table.c[name] for name in data["columns"]]
        rows = [
            {column.name: _typed(column, value) for column, value in zip(columns, row, strict=True)}
            for row in data["rows"]
        ]
        connection.execute(table.insert(), rows)
        if connection.dialect.name == "postgresql":
            _advance_sequences(connection, table)


def _typed(column: sa.Column, value):
    if value is None:
        return None
    if isinstance(column.type, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(value)
    if isinstance(column.type, sa.LargeBinary):
        return base64.b64decode(value)
    return value


def _advance_sequences(connection: sa.Connection, table: sa.Table) -> None:
    """Rows came with their ids, so the next id the database hands out must follow them."""
    for column in table.primary_key.columns:
        sequence = connection.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column.name},
        ).scalar_one()
        if sequence:
            connection.execute(
                sa.text(
                    f'SELECT setval(:sequence, (SELECT max("{column.name}") FROM "{table.name}"))'
                ),
                {"sequence": sequence},
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="e.g. tests/data/releases/<revision>.json.gz")
    parser.add_argument("--url", help="the database (default: shop.db in SHOP_INSTANCE_PATH)")
    parser.add_argument("--release", default="", help="the commit the database was made with")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(os.environ['SHOP_INSTANCE_PATH']) / 'shop.db'}"
    engine = sa.create_engine(url)
    snapshot = dump(engine, args.release)
    engine.dispose()
    write(snapshot, args.out)
    counts = ", ".join(f"{name} {len(t['rows'])}" for name, t in snapshot["tables"].items())
    print(f"{args.out}: {snapshot['revision']}, {args.out.stat().st_size // 1024} KB ({counts})")


if __name__ == "__main__":
    main()
