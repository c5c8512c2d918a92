"""Paid downloads: how many times each buyer has taken each file (against the creator's cap),
and PDFs stamped on every page with who bought them and when, at the moment of download.

A stamp does not stop a buyer from passing a file on; it says on every page whose copy it
is, which is what keeps most from doing it. The count is kept in one upsert that adds one
and hands back the new count, so two downloads at once can never both pass the cap.
"""

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.models import DownloadCount, Entitlement, ProductFile
from app.models.base import upsert_adding, utcnow
from app.transactions import writing_apart

log = logging.getLogger(__name__)

PDF_TYPE = "application/pdf"
MARK_FONT = "STSong-Light"  # one of the CJK fonts every PDF reader has (Adobe-GB1): none embedded
MARK_SIZE = 8

_counts = DownloadCount.__table__


@dataclass(frozen=True)
class Taken:
    allowed: bool
    count: int  # downloads of this file by this reader, this one included when allowed


def take(reader_id: int, attachment: ProductFile, limit: int | None) -> Taken:
    """Count a download, on a connection of its own (a download is a GET: its page is not
    the place to fail). Over the cap, the count stays as it was and the download is refused."""
    now = utcnow()
    with writing_apart() as connection:
        count = connection.execute(
            upsert_adding(_counts, ("reader_id", "file_id"), ("count",)).returning(_counts.c.count),
            {"reader_id": reader_id, "file_id": attachment.id, "count": 1, "last_at": now},
        ).scalar_one()
        if limit is not None and count > limit:
            connection.execute(
                sa.update(_counts)
                .where(_counts.c.reader_id == reader_id, _counts.c.file_id == attachment.id)
                .values(count=_counts.c.count - 1)
            )
            return Taken(False, count - 1)
    return Taken(True, count)


def counts(product_id: int) -> dict[int, tuple[int, int]]:
    """Per file of an item: (downloads, readers who downloaded), for the studio."""
    rows = db.session.execute(
        sa.select(_counts.c.file_id, sa.func.sum(_counts.c.count), sa.func.count())
        .join(ProductFile, ProductFile.id == _counts.c.file_id)
        .where(ProductFile.product_id == product_id)
        .group_by(_counts.c.file_id)
    ).all()
    return {file_id: (int(total), int(readers)) for file_id, total, readers in rows}


def bought_at(reader_id: int, product_id: int) -> datetime | None:
    """When the reader came to own the item (a purchase, a gift), if they own it outright."""
    return db.session.scalar(
        sa.select(Entitlement.granted_at).where(
            Entitlement.reader_id == reader_id, Entitlement.product_id == product_id
        )
    )


def is_pdf(attachment: ProductFile, path: Path) -> bool:
    if not attachment.content_type.startswith(PDF_TYPE):
        return False
    with path.open("rb") as head:
        return head.read(5) == b"%PDF-"


def stamped_pdf(path: Path, mark: str) -> bytes | None:
    """The PDF with `mark` at the foot of every page; None when it cannot be stamped (an
    encrypted or damaged file), for the caller to send as it is."""
    from pypdf import PdfReader, PdfWriter

    try:
        writer = PdfWriter(clone_from=str(path))
        for page in writer.pages:
            width, height = float(page.mediabox.width), float(page.mediabox.height)
            page.merge_page(PdfReader(io.BytesIO(_mark_page(width, height, mark))).pages[0])
        out = io.BytesIO()
        writer.write(out)
    except Exception:
        log.warning("could not stamp %s; sent as it is", path.name, exc_info=True)
        return None
    return out.getvalue()


def _mark_page(width: float, height: float, mark: str) -> bytes:
    """A transparent page of the same size with the mark along its foot, in grey."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if MARK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(MARK_FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(width, height))
    page.setFont(MARK_FONT, MARK_SIZE)
    page.setFillGray(0.45)
    page.drawCentredString(width / 2, 14, mark)
    page.save()
    return out.getvalue()
