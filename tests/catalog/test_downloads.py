"""Paid downloads: a PDF stamped on every page with its buyer and purchase date, made at the
moment of download (the stored file untouched); a cap on downloads per buyer and file that
two downloads at once cannot pass; the creator's own downloads not counted."""

import io
import threading
from pathlib import Path

import pytest
from flask import current_app
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from app.catalog import downloads, editing
from app.catalog.editing import ProductFields, Rejected
from app.extensions import db
from app.models import ProductFile, ProductKind
from tests import factories
from tests.conftest import creator_client, sign_in_as


def _pdf(pages: int = 3) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(595, 842))
    for number in range(1, pages + 1):
        page.setFont("Helvetica", 18)
        page.drawString(72, 700, f"Paid page {number}")
        page.showPage()
    page.save()
    return out.getvalue()


def _kit(app, limit=None, pdf=True):
    """A download item with one file, and a buyer."""
    with app.app_context():
        item = factories.product(ProductKind.DOWNLOAD, title="模板包", price_fen=1990)
        item.download_limit = limit
        folder = Path(current_app.config["UPLOAD_FOLDER"]) / "files"
        folder.mkdir(parents=True, exist_ok=True)
        data = _pdf() if pdf else b"plain text file"
        (folder / f"{item.slug}.bin").write_bytes(data)
        record = ProductFile(
            product=item,
            filename="模板.pdf" if pdf else "说明.txt",
            stored_name=f"{item.slug}.bin",
            content_type="application/pdf" if pdf else "text/plain; charset=utf-8",
            size_bytes=len(data),
        )
        db.session.add(record)
        db.session.flush()
        buyer = factories.reader(openid="o-kit-buyer", nickname="小明")
        factories.give(buyer, item)
        db.session.commit()
        return f"/p/{item.slug}/files/{record.id}", buyer.id, data, item.id


def test_a_pdf_carries_its_buyer_on_every_page(app):
    url, buyer_id, original, _ = _kit(app)
    client = app.test_client()
    sign_in_as(app, client, buyer_id)
    answer = client.get(url)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert "attachment" in answer.headers["Content-Disposition"]
    pages = PdfReader(io.BytesIO(answer.data)).pages
    assert len(pages) == 3
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert f"Paid page {number}" in text
        assert (
            f"小明（读者 {buyer_id}）" in text and "购买于 " in text and "仅供本人学习使用" in text
        )
    with app.app_context():  # the stored file stays as the creator uploaded it
        stored = next((Path(current_app.config["UPLOAD_FOLDER"]) / "files").glob("*.bin"))
        assert stored.read_bytes() == original


def test_a_file_that_is_not_a_pdf_goes_as_it_is(app):
    url, buyer_id, original, _ = _kit(app, pdf=False)
    client = app.test_client()
    sign_in_as(app, client, buyer_id)
    with client.get(url) as answer:
        assert answer.status_code == 200 and answer.data == original


def test_a_damaged_pdf_is_sent_unstamped_rather_than_refused(app_ctx, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    assert downloads.stamped_pdf(broken, "小明") is None


def test_the_creators_cap_counts_each_buyers_downloads(app):
    url, buyer_id, _, item_id = _kit(app, limit=2)
    client = app.test_client()
    sign_in_as(app, client, buyer_id)
    for _ in range(2):
        with client.get(url) as answer:
            assert answer.status_code == 200
    third = client.get(url)
    assert third.status_code == 403 and "最多下载 2 次" in third.get_data(as_text=True)
    studio = creator_client(app)
    with studio.get(url) as answer:
        assert answer.status_code == 200  # the creator is never counted
    page = studio.get(f"/studio/products/{item_id}").get_data(as_text=True)
    assert "已下载 2 次（1 人）" in page


def test_two_downloads_at_once_cannot_pass_the_cap(app):
    _, buyer_id, _, item_id = _kit(app, limit=1)
    allowed, start = [], threading.Barrier(4)

    def download():
        with app.app_context():
            attachment = db.session.scalars(
                db.select(ProductFile).where(ProductFile.product_id == item_id)
            ).one()
            start.wait()
            allowed.append(downloads.take(buyer_id, attachment, 1).allowed)

    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(allowed) == [False, False, False, True]


def test_the_studio_checks_the_cap(app_ctx, tmp_path):
    made = editing.create_product(
        ProductKind.DOWNLOAD,
        ProductFields(title="资料", price_yuan="9", download_limit="3"),
        tmp_path,
    )
    assert made.download_limit == 3
    with pytest.raises(Rejected) as rejected:
        editing.create_product(
            ProductKind.DOWNLOAD,
            ProductFields(title="资料", price_yuan="9", download_limit="0"),
            tmp_path,
        )
    assert "下载次数" in rejected.value.errors["download_limit"]


def test_only_whole_downloads_count(app):
    url, buyer_id, _, _ = _kit(app, limit=1, pdf=False)
    client = app.test_client()
    sign_in_as(app, client, buyer_id)
    with client.head(url) as head:
        assert head.status_code == 200  # a HEAD is not a download
    with client.get(url, headers={"Range": "bytes=5-"}) as later_piece:
        assert later_piece.status_code == 206  # a later piece of one: not another
    with client.get(url, headers={"Range": "bytes=0-4"}) as first_piece:
        assert first_piece.status_code == 206  # the start of a download: counted
    assert client.get(url).status_code == 403  # the cap of 1 is reached


def test_a_missing_file_is_a_404_that_costs_no_download(app):
    url, buyer_id, _, item_id = _kit(app, limit=1)
    with app.app_context():
        for stored in (Path(current_app.config["UPLOAD_FOLDER"]) / "files").glob("*.bin"):
            stored.unlink()
    client = app.test_client()
    sign_in_as(app, client, buyer_id)
    assert client.get(url).status_code == 404
    with app.app_context():
        assert downloads.counts(item_id) == {}
