"""CSV downloads for the creator's spreadsheet: one format for every export in the studio.

A file starts with a BOM, so Excel reads it as UTF-8 with the Chinese intact. Text that readers
type (nicknames, titles) goes through `inert`: Excel runs a cell that starts with = + - @ as a
formula. Rows are written and sent a few hundred at a time, so a large export never sits in
memory.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

BOM = "\ufeff"
CHUNK_ROWS = 500
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """`text` as a cell that Excel shows rather than runs: a leading ' before a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_chunks(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """`rows` as CSV text, `CHUNK_ROWS` rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = iter(rows)
    while batch := list(itertools.islice(rows, CHUNK_ROWS)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_download(chunks: Iterable[str], filename: str) -> Response:
    """A download of CSV text, BOM first, streamed as the chunks come.

    The chunks are produced inside the request's context, so they may come from a database
    cursor that is still being read.
    """
    return Response(
        stream_with_context(itertools.chain([BOM], chunks)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
