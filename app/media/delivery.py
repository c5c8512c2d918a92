"""Who may play a media, and the playlists that let them: plain Python, no request.

- `access`: the one rule. A ready media plays whole for whoever may read its lesson (a free
  试看 lesson: anyone) or its item; a paid one plays its first `preview_seconds` for the
  others, when the creator set a preview; otherwise nothing.
- Addresses: the page names only the master playlist, which the player asks for with the
  reader's cookie (so cached pages, shared by many readers, carry nothing personal). Every
  address inside it (a rendition's playlist, each segment, the key) is signed for this media,
  this thing and this session, and expires: a playlist copied out of one browser is of no use
  in another, or later. A preview's playlist signs only the segments of the preview.
- The stored playlists name the key by a placeholder and segments by file name; what a
  reader gets has the signed addresses in their place.
"""

import base64
import enum
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from app.catalog import entitlements
from app.catalog.entitlements import Viewer
from app.extensions import db
from app.media import storage, transcode
from app.models import Media, MediaKind, MediaStatus, Product, Section

KEY_TTL_S = 10 * 60  # the key: asked for once, right after the first playlist
# A segment's and a rendition's address lasts the media's length and this (pauses; a player
# may switch renditions any time while it plays).
SEGMENT_SLACK_S = 4 * 3600


class Access(enum.Enum):
    FULL = "full"
    PREVIEW = "preview"
    NONE = "none"


@dataclass(frozen=True)
class Playable:
    access: Access
    preview_ms: int | None = None  # PREVIEW: how much


def on_page(product: Product, section: Section | None) -> Media | None:
    """What a lesson (or an item's own page) plays: its newest ready media."""
    place = Media.section_id.is_(None) if section is None else Media.section_id == section.id
    return db.session.scalar(
        sa.select(Media)
        .where(Media.product_id == product.id, place, Media.status == MediaStatus.READY)
        .order_by(Media.id.desc())
        .limit(1)
    )


def by_lesson(product: Product) -> dict[int, Media]:
    """A course's lessons that play something: section id -> its newest ready media."""
    found: dict[int, Media] = {}
    for media in db.session.scalars(
        sa.select(Media)
        .where(
            Media.product_id == product.id,
            Media.section_id.is_not(None),
            Media.status == MediaStatus.READY,
        )
        .order_by(Media.id)
    ):
        found[media.section_id] = media
    return found


def in_place(product: Product, section: Section | None) -> list[Media]:
    """Every media of a lesson (or an item's own page), the newest first: the studio's list
    (one playing, perhaps one being processed or failed)."""
    place = Media.section_id.is_(None) if section is None else Media.section_id == section.id
    return list(
        db.session.scalars(
            sa.select(Media).where(Media.product_id == product.id, place).order_by(Media.id.desc())
        )
    )


def access(viewer: Viewer, media: Media) -> Playable:
    if media.status is not MediaStatus.READY:
        return Playable(Access.NONE)
    if media.section is not None:
        readable = entitlements.can_read_section(viewer, media.section)
    else:
        readable = entitlements.can_read_product(viewer, media.product)
    if readable:
        return Playable(Access.FULL)
    if media.preview_seconds and entitlements.can_view_product(viewer, media.product):
        return Playable(Access.PREVIEW, min(media.preview_seconds * 1000, media.duration_ms))
    return Playable(Access.NONE)


# --- signed addresses ---------------------------------------------------------------------


_EXPIRES = re.compile(r"[0-9]{1,12}")
_MAC = re.compile(r"[A-Za-z0-9_-]{24}")


class Signer:
    """Signs and checks `what` of a media for a session: `expires.mac` in one query value.

    The media's key is signed in too: SQLite may give a deleted media's id to a new one, and
    an address made for the old one must not open the new."""

    def __init__(self, secret_key: str | bytes, session_key: str | None):
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._key = hashlib.sha256(b"media addresses\0" + secret).digest()
        self._session = session_key or ""

    def sign(self, media: Media, what: str, ttl_s: float, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + ttl_s)
        return f"{expires}.{self._mac(media, what, expires)}"

    def valid(self, token: str, media: Media, what: str, now: float | None = None) -> bool:
        expires_text, _, mac = token.partition(".")
        if not _EXPIRES.fullmatch(expires_text) or not _MAC.fullmatch(mac):
            return False
        if int(expires_text) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(mac, self._mac(media, what, int(expires_text)))

    def _mac(self, media: Media, what: str, expires: int) -> str:
        message = f"{media.id}\0{media.key_hex}\0{what}\0{self._session}\0{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()


def rendition_what(name: str) -> str:
    return f"playlist:{name}"


def segment_what(rendition: str, segment: str) -> str:
    return f"segment:{rendition}/{segment}"


KEY_WHAT = "key"


# --- playlists ----------------------------------------------------------------------------


def master_playlist(media: Media, rendition_url: Callable[[str], str]) -> str:
    """The renditions the player chooses between, best first."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for rendition in media.renditions:
        attributes = [f"BANDWIDTH={rendition['bandwidth']}"]
        if media.kind is MediaKind.VIDEO:
            attributes.append(f"RESOLUTION={rendition['width']}x{rendition['height']}")
            codecs = "avc1.4d401f,mp4a.40.2" if rendition["audio_kbps"] else "avc1.4d401f"
        else:
            codecs = "mp4a.40.2"
        attributes.append(f'CODECS="{codecs}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), rendition_url(rendition["name"])]
    return "\n".join(lines) + "\n"


class BrokenPlaylist(ValueError):
    """A stored playlist names something it should not (never written by the shop)."""


def rendition_playlist(
    stored: str,
    key_url: str,
    segment_url: Callable[[str], str],
    preview_ms: int | None = None,
) -> str:
    """The stored playlist as a reader gets it: the key's and each segment's signed address;
    for a preview, only the segments that start within it, and the end."""
    placeholder = f'URI="{transcode.KEY_PLACEHOLDER}"'
    out, played_ms, pending_duration = [], 0.0, 0.0
    for line in stored.splitlines():
        if line.startswith("#EXT-X-KEY:"):
            out.append(line.replace(placeholder, f'URI="{key_url}"'))
        elif line.startswith("#EXTINF:"):
            if preview_ms is not None and played_ms >= preview_ms:
                break
            pending_duration = float(line[len("#EXTINF:") :].split(",")[0])
            out.append(line)
        elif line and not line.startswith("#"):
            if not storage.SEGMENT.fullmatch(line):
                raise BrokenPlaylist(line[:40])
            out.append(segment_url(line))
            played_ms += pending_duration * 1000
        elif line != "#EXT-X-ENDLIST":
            out.append(line)
    out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"


def playing_ttl_s(media: Media) -> float:
    return media.duration_s + SEGMENT_SLACK_S
