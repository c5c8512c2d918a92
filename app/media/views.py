"""The player's addresses: the master playlist (by the reader's cookie), the signed rendition
playlists, segments and key, a video's poster, and where the reader is in it. Playlists and
keys are never kept by a browser or a proxy (no-store)."""

from flask import abort, current_app, jsonify, request, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from app.accounts.session import current_session, current_viewer
from app.catalog import entitlements
from app.extensions import db
from app.media import bp, delivery, progress, storage
from app.models import Media, MediaKind, MediaStatus, Product
from app.web.accel_redirect import send_upload

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


def _ready_or_404(media_id: int) -> Media:
    media = db.session.get(Media, media_id)
    if media is None or media.status is not MediaStatus.READY:
        abort(404)
    return media


def _playable(media: Media) -> delivery.Playable:
    playable = delivery.access(current_viewer(), media)
    if playable.access is delivery.Access.NONE:
        abort(403)
    return playable


def _signer() -> delivery.Signer:
    live = current_session()
    return delivery.Signer(current_app.secret_key, live.key if live is not None else None)


def _signed_or_403(media: Media, what: str) -> None:
    if not _signer().valid(request.args.get("t", ""), media, what):
        abort(403)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _rendition(media: Media, name: str) -> dict:
    found = next((r for r in media.renditions if r["name"] == name), None)
    return found or abort(404)


@bp.get("/play/<int:media_id>.m3u8")
def master(media_id: int):
    media = _ready_or_404(media_id)
    _playable(media)
    signer = _signer()

    def rendition_url(name: str) -> str:
        token = signer.sign(media, delivery.rendition_what(name), delivery.playing_ttl_s(media))
        return url_for(".rendition", media_id=media.id, name=name, t=token)

    body = delivery.master_playlist(media, rendition_url)
    return _no_store(Response(body, mimetype=PLAYLIST_TYPE))


@bp.get("/play/<int:media_id>/<name>.m3u8")
def rendition(media_id: int, name: str):
    media = _ready_or_404(media_id)
    _rendition(media, name)
    _signed_or_403(media, delivery.rendition_what(name))
    playable = _playable(media)  # the right to play is asked again, not carried by the token
    signer = _signer()
    stored = storage.published(current_app.config["UPLOAD_FOLDER"], media.id) / name
    try:
        text = (stored / storage.PLAYLIST).read_text()
    except FileNotFoundError:  # its files gone (a restore without uploads): nothing to play
        abort(404)
    key_token = signer.sign(media, delivery.KEY_WHAT, delivery.KEY_TTL_S)
    segment_ttl = delivery.playing_ttl_s(media)

    def segment_url(segment: str) -> str:
        token = signer.sign(media, delivery.segment_what(name, segment), segment_ttl)
        return url_for(".segment", media_id=media.id, name=name, segment=segment, t=token)

    body = delivery.rendition_playlist(
        text,
        key_url=url_for(".key", media_id=media.id, t=key_token),
        segment_url=segment_url,
        preview_ms=playable.preview_ms,
    )
    return _no_store(Response(body, mimetype=PLAYLIST_TYPE))


@bp.get("/play/<int:media_id>/<name>/<segment>")
def segment(media_id: int, name: str, segment: str):
    """An encrypted segment, at an address signed for this session in a playlist it was
    allowed (a preview's lists only the preview's), to a reader who may still play it."""
    media = _ready_or_404(media_id)
    if not storage.SEGMENT.fullmatch(segment) or not storage.RENDITION.fullmatch(name):
        abort(404)
    _signed_or_403(media, delivery.segment_what(name, segment))
    _playable(media)  # a refund or an ended pass stops what was signed before it
    relative = f"{media.id}/{name}/{segment}"
    # Encrypted and never changing: the browser may keep it as long as it likes, alone.
    response = send_upload("media", relative, max_age=86400, mimetype="video/mp2t")
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@bp.get("/play/<int:media_id>/key")
def key(media_id: int):
    media = _ready_or_404(media_id)
    _signed_or_403(media, delivery.KEY_WHAT)
    _playable(media)
    body = bytes.fromhex(media.key_hex)
    return _no_store(Response(body, mimetype="application/octet-stream"))


@bp.get("/play/<int:media_id>/poster.jpg")
def poster(media_id: int):
    """A frame of the video, for those who may play it (all of it, or its preview)."""
    media = _ready_or_404(media_id)
    if not media.has_poster:
        abort(404)
    _playable(media)
    response = send_upload("media", f"{media.id}/{storage.POSTER}", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _reader_id() -> int | None:
    live = current_session()
    return live.reader_id if live is not None else None


@bp.get("/play/<int:media_id>/state")
def state(media_id: int):
    """What the player needs before it starts: whether it may play all or a preview, where
    this reader left off, and the token for its reports."""
    media = _ready_or_404(media_id)
    playable = _playable(media)
    where = progress.where(_reader_id(), media.id)
    answer = {
        "access": playable.access.value,
        "preview_ms": playable.preview_ms,
        "duration_ms": media.duration_ms,
        "position_ms": where.position_ms,
        "furthest_ms": where.furthest_ms,
        "completed": where.completed,
        "signed_in": _reader_id() is not None,
        # The course asks for a first viewing without skipping ahead (till finished once).
        "no_seek_ahead": media.product.no_seek_ahead and not where.completed,
    }
    if _reader_id() is not None:
        answer["csrf_token"] = generate_csrf()
        if media.kind is MediaKind.VIDEO:  # who is watching, moving over the picture
            answer["watermark"] = f"读者 {_reader_id()}"
    return _no_store(jsonify(answer))


@bp.post("/play/<int:media_id>/progress")
def report(media_id: int):
    media = _ready_or_404(media_id)
    if _playable(media).access is not delivery.Access.FULL:  # a preview counts toward nothing
        return jsonify(error="preview_only"), 403
    reader_id = _reader_id()
    if reader_id is None:
        return jsonify(error="not_signed_in"), 401
    sent = request.get_json(silent=True)
    if not isinstance(sent, dict):
        return jsonify(error="bad_report"), 400
    try:
        position_ms = int(sent.get("position_ms", 0))
        played_ms = int(sent.get("played_ms", 0))
    except (TypeError, ValueError, OverflowError):
        return jsonify(error="bad_report"), 400
    where = progress.record(reader_id, media, position_ms, played_ms, bool(sent.get("ended")))
    return jsonify(position_ms=where.position_ms, completed=where.completed)


@bp.get("/play/course/<int:product_id>")
def course_progress(product_id: int):
    """Which audio and video lessons of a course this reader has finished (the course page
    marks them; the page itself is shared by many readers, so it asks)."""
    product = db.session.get(Product, product_id)
    if product is None or not entitlements.can_view_product(current_viewer(), product):
        abort(404)
    found = progress.of_course(_reader_id(), product_id)
    return _no_store(jsonify(finished=found.finished, lessons=found.lessons))
