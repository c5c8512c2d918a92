"""Uploads in chunks, so a large file survives a dropped connection: the studio starts an
upload (name, size, where it goes), sends chunks at the offset the shop has so far, asks
that offset again after a failure and goes on from there. The last chunk probes the file
(what ffmpeg finds in it, not its name; outside any lock), moves it in as the media's
original and queues it.

Call these inside a unit of work (app.transactions.writing): they leave the commit to it.
"""

import secrets
from pathlib import Path

from app.extensions import db
from app.media import ffmpeg, queue, storage, transcode
from app.models import Media, MediaUpload, Product, ProductKind, Section

MAX_BYTES = 4 * 1024**3  # 4 GB: a long 1080p lesson
CHUNK_BYTES = 4 * 1024 * 1024  # what the studio sends at a time
MAX_CHUNK_BYTES = 8 * 1024 * 1024
MAX_DURATION_MS = 6 * 3600 * 1000
NAME_LENGTH = 200


class UploadRefused(ValueError):
    """The message is for the creator."""


class WrongOffset(UploadRefused):
    """A chunk for another place in the file than the shop has reached: resume from
    `received`."""

    def __init__(self, received: int):
        super().__init__(f"应从第 {received} 字节继续")
        self.received = received


def start(product: Product, section: Section | None, filename: str, size_bytes: int) -> MediaUpload:
    if product.kind is ProductKind.MEMBERSHIP:
        raise UploadRefused("会员不能上传音视频")
    if section is not None and section.product_id != product.id:
        raise UploadRefused("这节课不属于这个内容")
    if not 0 < size_bytes <= MAX_BYTES:
        raise UploadRefused(f"文件大小应在 1 字节到 {MAX_BYTES // 1024**3} GB 之间")
    name = Path(filename.replace("\\", "/")).name.strip()[:NAME_LENGTH] or "未命名"
    upload = MediaUpload(
        token=secrets.token_hex(16),
        product_id=product.id,
        section_id=section.id if section is not None else None,
        filename=name,
        size_bytes=size_bytes,
    )
    db.session.add(upload)
    db.session.flush()
    return upload


def find(token: str, for_update: bool = False) -> MediaUpload | None:
    """An upload by its token; `for_update` inside the unit of work that changes it (on
    PostgreSQL, a chunk sent again while the first is still being written waits for it)."""
    if len(token) != 32:
        return None
    return db.session.get(MediaUpload, token, with_for_update=for_update or None)


def append(upload: MediaUpload, offset: int, chunk: bytes, upload_folder) -> int:
    """Add a chunk at `offset`; the bytes received now. A chunk sent twice (its answer was
    lost) is refused with WrongOffset, which tells the studio where to go on."""
    if offset != upload.received_bytes:
        raise WrongOffset(upload.received_bytes)
    if not chunk or len(chunk) > MAX_CHUNK_BYTES:
        raise UploadRefused("分片大小不对")
    if offset + len(chunk) > upload.size_bytes:
        raise UploadRefused("文件比开始时说的大")
    part = storage.incoming(upload_folder, upload.token)
    part.parent.mkdir(parents=True, exist_ok=True)
    with part.open("r+b" if part.exists() else "wb") as out:
        out.truncate(offset)  # bytes past what was counted: a chunk whose commit failed
        out.seek(offset)
        out.write(chunk)
    upload.received_bytes = offset + len(chunk)
    return upload.received_bytes


def probe(upload: MediaUpload, upload_folder, ffmpeg_binary: str) -> ffmpeg.Probe:
    """What the whole file is; NotMedia when it is not audio or video the shop takes (then
    `discard` it: the file is of no use). Call it outside any unit of work: ffmpeg may take
    a while, and no lock should wait on it."""
    if upload.received_bytes != upload.size_bytes:
        raise WrongOffset(upload.received_bytes)
    found = ffmpeg.probe(
        storage.incoming(upload_folder, upload.token), ffmpeg.binary(ffmpeg_binary)
    )
    if found.duration_ms > MAX_DURATION_MS:
        raise ffmpeg.NotMedia("时长不能超过 6 小时")
    return found


def finish(upload: MediaUpload, probe: ffmpeg.Probe, upload_folder) -> Media:
    """The probed file becomes the media's original, and is queued for processing."""
    if upload.received_bytes != upload.size_bytes:
        raise WrongOffset(upload.received_bytes)
    part = storage.incoming(upload_folder, upload.token)
    media = Media(
        product_id=upload.product_id,
        section_id=upload.section_id,
        kind=probe.kind,
        original_name=upload.filename,
        size_bytes=upload.size_bytes,
        duration_ms=probe.duration_ms,
        width=probe.width,
        height=probe.height,
        key_hex=transcode.new_key().hex(),
    )
    db.session.add(media)
    db.session.flush()
    target = storage.original(upload_folder, media.id)
    target.parent.mkdir(parents=True, exist_ok=True)
    part.rename(target)
    db.session.delete(upload)
    queue.enqueue(media)
    return media


def discard(upload: MediaUpload, upload_folder) -> None:
    """An upload that will not become media: its row and its bytes."""
    storage.incoming(upload_folder, upload.token).unlink(missing_ok=True)
    db.session.delete(upload)
