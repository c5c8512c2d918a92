"""Storefront pages. Each view loads, asks the services, renders."""

import io
from dataclasses import replace
from pathlib import Path

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from werkzeug.exceptions import NotFound

from app.accounts.session import (
    current_session,
    current_snapshot,
    current_viewer,
)
from app.analytics import counters
from app.catalog import cover_variants, downloads, entitlements, queries
from app.media import delivery
from app.models import Product, ProductKind
from app.models.base import utcnow
from app.payments import tips
from app.readers import progress
from app.recommendations import lookups
from app.storefront import bp
from app.templating import local_time
from app.web.accel_redirect import send_upload
from app.web.page_cache import cached_page, reader_facts_of
from app.web.static_assets import ONE_YEAR


def _reader_id() -> int | None:
    """The signed-in reader's id from the session alone, without loading the reader."""
    live = current_session()
    return live.reader_id if live is not None else None


def _viewer() -> entitlements.Viewer:
    # What the reader owns comes from the snapshot the page's cache key is made from.
    return replace(current_viewer(), owned=current_snapshot().owned)


# What of the reader each cached page shows (see app/web/page_cache.py): a page is rendered
# once per set of these facts and catalog version. All come from the reader's snapshot, read
# with their session in one statement.


def _home_facts() -> tuple:
    reader = current_snapshot()
    return reader.owned, reader.for_you


def _no_facts(**_view_args) -> None:
    """A page that shows nothing of the reader: one copy serves them all."""
    return None


def _owned_facts(**_view_args) -> frozenset[int]:
    return current_snapshot().owned


def _product_facts(slug: str) -> tuple:
    reader = current_snapshot()
    bookmark = reader.bookmarks.get(slug)
    return reader.owned, bookmark.section_id if bookmark is not None else None


@bp.get("/")
@cached_page(_home_facts)
def home():
    owned, stored = reader_facts_of(_home_facts, {})
    rec_kind, recommended = lookups.for_reader(stored, set(owned))
    counters.record_impressions(rec_kind, [p.slug for p in recommended])
    return render_template(
        "storefront/home.html",
        featured=queries.featured_products(),
        latest=queries.latest_products(),
        tags=queries.tags_in_use(),
        owned=owned,
        rec_kind=rec_kind,
        recommended=recommended,
    )


@bp.get("/about")
@cached_page(_no_facts, shows_walls=True)
def about():
    return render_template(
        "storefront/about.html", products=queries.latest_products(limit=6), wall=tips.wall(None)
    )


@bp.get("/tags/<slug>")
@cached_page(_owned_facts)
def tag(slug: str):
    found = queries.find_tag(slug) or abort(404)
    return render_template(
        "storefront/tag.html",
        tag=found,
        products=queries.products_tagged(found),
        owned=reader_facts_of(_owned_facts, {"slug": slug}),
    )


@bp.get("/search")
def search():
    query = queries.search_query(request.args.get("q"))
    return render_template(
        "storefront/search.html",
        query=query,
        products=queries.search_products(query),
        tags=queries.tags_in_use(),
        owned=entitlements.owned_product_ids(_viewer()),
    )


def _visible_product_or_404(slug: str) -> Product:
    product = queries.find_product(slug)
    if product is None or not entitlements.can_view_product(_viewer(), product):
        abort(404)
    return product


@bp.get("/p/<slug>")
@cached_page(_product_facts, shows_walls=True)
def product(slug: str):
    item = _visible_product_or_404(slug)
    viewer = _viewer()
    owned, last_read_id = reader_facts_of(_product_facts, {"slug": slug})
    also_bought = lookups.also_bought(item, set(owned))
    counters.record_impressions("also_bought", [p.slug for p in also_bought])
    return render_template(
        "storefront/product.html",
        product=item,
        owns=entitlements.owns(viewer, item),
        can_read=entitlements.can_read_product(viewer, item),
        readable_sections=entitlements.readable_section_ids(viewer, item),
        last_read=next((s for s in item.sections if s.id == last_read_id), None),
        lesson_media=delivery.by_lesson(item) if item.sections else {},
        wall=tips.wall(item),
        also_bought=also_bought,
    )


@bp.get("/p/<slug>/read")
def read(slug: str):
    item = _visible_product_or_404(slug)
    viewer = _viewer()
    if item.is_membership:  # a pass has nothing to read itself: what it opens is listed there
        return redirect(url_for("accounts.my_membership"))
    if item.kind in (ProductKind.COURSE, ProductKind.COLUMN):
        return redirect(_first_section_url(item, viewer.reader))
    media = delivery.on_page(item, None)
    if not entitlements.can_read_product(viewer, item):
        return render_template("storefront/paywall.html", product=item, media=media), 403
    return render_template(
        "storefront/read.html",
        product=item,
        media=media,
        wall=tips.wall(item, limit=10),
        related=_related(item, viewer),
    )


def _related(item: Product, viewer) -> list[Product]:
    related = lookups.related(item, entitlements.owned_product_ids(viewer))
    counters.record_impressions("related", [p.slug for p in related])
    return related


def _first_section_url(item: Product, reader) -> str:
    section = progress.last_read_section(reader, item) or (item.sections or [None])[0]
    if section is None:
        return url_for(".product", slug=item.slug)
    return url_for(".section", slug=item.slug, position=section.position)


def _note_reading(slug: str, position: int) -> None:
    """ "Continue reading" for readers the shop knows; a visitor trying a free lesson is not
    made a guest (a row and a cookie) just for that. Saved once the page is built."""
    reader_id = _reader_id()
    if reader_id is not None:
        progress.record_opened(reader_id, current_snapshot().bookmarks.get(slug), slug, position)


@bp.get("/p/<slug>/s/<int:position>")
@cached_page(_owned_facts, on_show=_note_reading, shows_walls=True)
def section(slug: str, position: int):
    item = _visible_product_or_404(slug)
    current = queries.find_section(item, position) or abort(404)
    viewer = _viewer()
    media = delivery.on_page(item, current)
    if not entitlements.can_read_section(viewer, current):
        return render_template(
            "storefront/paywall.html", product=item, section=current, media=media
        ), 403
    index = item.sections.index(current)
    return render_template(
        "storefront/section.html",
        product=item,
        section=current,
        media=media,
        previous=item.sections[index - 1] if index > 0 else None,
        following=item.sections[index + 1] if index + 1 < len(item.sections) else None,
        readable_sections=entitlements.readable_section_ids(viewer, item),
        wall=tips.wall(item, limit=10),
        # After the last lesson, what to read next.
        related=_related(item, viewer) if index + 1 == len(item.sections) else [],
    )


@bp.get("/p/<slug>/files/<int:file_id>")
def download(slug: str, file_id: int):
    item = _visible_product_or_404(slug)
    attachment = next((f for f in item.files if f.id == file_id), None) or abort(404)
    viewer = _viewer()
    if not entitlements.can_read_product(viewer, item):
        return render_template("storefront/paywall.html", product=item), 403
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "files" / attachment.stored_name
    if not path.is_file():
        abort(404)
    reader = None if viewer.is_creator else viewer.reader
    stamped = _stamped(reader, item, attachment, path) if reader is not None else None
    # A download counts once: not a HEAD, nor the later pieces of a file fetched in ranges
    # (download managers, iOS), only a request for the whole file or its start.
    if reader is not None and request.method == "GET" and _from_the_start(request.range):
        taken = downloads.take(reader.id, attachment, item.download_limit)
        if not taken.allowed:
            page = render_template(
                "storefront/download_limit.html", product=item, limit=item.download_limit
            )
            return page, 403
    if stamped is not None:
        return send_file(
            io.BytesIO(stamped),
            mimetype=downloads.PDF_TYPE,
            as_attachment=True,
            download_name=attachment.filename,
            max_age=0,
        )
    # Sent by nginx when X_ACCEL_REDIRECT_PREFIX is set: a big file never holds a worker.
    response = send_upload(
        "files",
        attachment.stored_name,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )
    # The stored type is the whole header, a text file's charset included; handed to
    # send_file as its mimetype, werkzeug would append a second charset to it.
    response.content_type = attachment.content_type
    return response


def _from_the_start(asked) -> bool:
    return asked is None or not asked.ranges or asked.ranges[0][0] == 0


def _stamped(reader, item: Product, attachment, path: Path) -> bytes | None:
    """A PDF with the buyer's name, id and purchase date on every page (made now, never
    stored); None for other files, or a PDF that cannot be stamped."""
    if not downloads.is_pdf(attachment, path):
        return None
    bought = downloads.bought_at(reader.id, item.id)
    how = f"购买于 {local_time(bought, '%Y-%m-%d')}" if bought else "会员权益"
    today = local_time(utcnow(), "%Y-%m-%d")
    mark = f"{reader.display_name}（读者 {reader.id}）· {how} · 下载于 {today} · 仅供本人学习使用"
    return downloads.stamped_pdf(path, mark)


def _library_facts(**_view_args) -> tuple:
    reader = current_snapshot()
    last_read = {mark.product_id: mark.section_id for mark in reader.bookmarks.values()}
    is_guest = reader.profile is None or reader.profile.is_guest
    return tuple(reader.owned_since.items()), tuple(sorted(last_read.items())), is_guest


@bp.get("/library")
@cached_page(_library_facts)
def library():
    owned_since, last_read, is_guest = reader_facts_of(_library_facts, {})
    return render_template(
        "storefront/library.html",
        entries=entitlements.library_entries(dict(owned_since), dict(last_read)),
        is_guest=is_guest,
    )


@bp.get("/media/covers/<path:filename>")
def cover(filename: str):
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "covers"
    try:
        response = send_from_directory(folder, filename, max_age=ONE_YEAR)
    except NotFound:
        # A WebP size of a cover stored before sizes existed: made once, on first request.
        if not _made_variant(folder, filename):
            raise
        response = send_from_directory(folder, filename, max_age=ONE_YEAR)
    # Cover names (and their sizes' names) carry a content hash: never revalidated.
    response.cache_control.immutable = True
    return response


def _made_variant(folder: Path, filename: str) -> bool:
    try:
        return cover_variants.ensure_variant(folder, filename)
    except (OSError, ValueError):
        current_app.logger.exception("cover size %s could not be made", filename)
        return False
