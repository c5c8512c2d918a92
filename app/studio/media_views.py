"""Studio: a lesson's (or an item's) audio or video. Uploads arrive in chunks from
app/static/js/studio-media.js (JSON answers, so the page can resume and show progress);
processing is the worker's, and the page asks how far it got."""

from flask import abort, current_app, flash, jsonify, redirect, request, url_for

from app.catalog import queries
from app.extensions import db
from app.media import ffmpeg, storage, uploads
from app.models import Media, MediaStatus, Product, Section
from app.studio import bp
from app.transactions import writing


def _folder():
    return current_app.config["UPLOAD_FOLDER"]


def _media_or_404(media_id: int) -> Media:
    return db.session.get(Media, media_id) or abort(404)


def _place_url(media_or_upload) -> str:
    """The studio page where this media's place is edited."""
    if media_or_upload.section_id is not None:
        return url_for(
            ".product_section_edit",
            product_id=media_or_upload.product_id,
            section_id=media_or_upload.section_id,
        )
    return url_for(".product_edit", product_id=media_or_upload.product_id)


@bp.post("/products/<int:product_id>/media/uploads")
def media_upload_start(product_id: int):
    sent = request.get_json(silent=True) or {}
    try:
        size = int(sent.get("size", 0))
        section_id = int(sent["section_id"]) if sent.get("section_id") else None
    except (TypeError, ValueError):
        return jsonify(error="文件信息不完整"), 400
    try:
        with writing():
            product = db.session.get(Product, product_id) or abort(404)
            section = None
            if section_id is not None:
                section = db.session.get(Section, section_id) or abort(404)
            upload = uploads.start(product, section, str(sent.get("filename", "")), size)
            answer = {"token": upload.token, "received": 0}
    except uploads.UploadRefused as refused:
        return jsonify(error=str(refused)), 400
    return jsonify(answer | {"chunk_bytes": uploads.CHUNK_BYTES}), 201


@bp.get("/media/uploads/<token>")
def media_upload_status(token: str):
    upload = uploads.find(token) or abort(404)
    return jsonify(received=upload.received_bytes, size=upload.size_bytes)


@bp.put("/media/uploads/<token>")
def media_upload_chunk(token: str):
    offset = request.args.get("offset", type=int)
    if offset is None:
        return jsonify(error="缺少 offset"), 400
    chunk = request.get_data(cache=False)
    try:
        with writing():
            upload = uploads.find(token, for_update=True) or abort(404)
            received = uploads.append(upload, offset, chunk, _folder())
    except uploads.WrongOffset as wrong:
        return jsonify(error=str(wrong), received=wrong.received), 409
    except uploads.UploadRefused as refused:
        return jsonify(error=str(refused)), 400
    return jsonify(received=received)


@bp.post("/media/uploads/<token>/finish")
def media_upload_finish(token: str):
    try:
        upload = uploads.find(token) or abort(404)
        probe = uploads.probe(upload, _folder(), current_app.config["FFMPEG_BINARY"])
        db.session.rollback()  # nothing held while a second request finishes the same one
        with writing():
            upload = uploads.find(token, for_update=True) or abort(404)
            media = uploads.finish(upload, probe, _folder())
            answer = {"media_id": media.id, "status": media.status.value}
    except uploads.WrongOffset as wrong:
        return jsonify(error=str(wrong), received=wrong.received), 409
    except ffmpeg.NotMedia as refused:
        with writing():
            upload = uploads.find(token, for_update=True)
            if upload is not None:
                uploads.discard(upload, _folder())
        return jsonify(error=str(refused)), 400
    return jsonify(answer), 201


@bp.get("/media/<int:media_id>/status")
def media_status(media_id: int):
    media = _media_or_404(media_id)
    return jsonify(
        status=media.status.value,
        label=media.status.label,
        progress=media.progress,
        error=media.error,
        ready=media.status is MediaStatus.READY,
    )


@bp.post("/media/<int:media_id>/preview")
def media_preview(media_id: int):
    """How much of a paid lesson those who have not bought it may play (blank: none)."""
    text = request.form.get("preview_seconds", "").strip()
    with writing():
        media = _media_or_404(media_id)
        if not text:
            media.preview_seconds = None
        elif text.isascii() and text.isdigit() and 0 < int(text) <= media.duration_s:
            media.preview_seconds = int(text)
        else:
            flash("试看时长应为 1 到全长之间的整数秒，或留空", "error")
            return redirect(_place_url(media) + "#media")
        queries.mark_content_changed()  # the paywall shows the player, or no longer
    flash("已保存试看时长", "info")
    return redirect(_place_url(media) + "#media")


@bp.post("/media/<int:media_id>/delete")
def media_delete(media_id: int):
    with writing():
        media = _media_or_404(media_id)
        back = _place_url(media)
        db.session.delete(media)
        queries.mark_content_changed()
    storage.remove(_folder(), media_id)
    flash("已删除音视频", "info")
    return redirect(back + "#media")
