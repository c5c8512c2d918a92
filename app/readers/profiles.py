"""What readers call themselves: the name and picture they choose on 我的.

WeChat no longer describes a reader to the shop (snsapi_userinfo answers "微信用户" and a grey
picture), so readers name themselves. What they choose sits beside what WeChat said
(models.Reader) and wins over it wherever the shop names them; going back to WeChat's clears it.

Only WeChat readers choose. A guest is one browser's cookie: a name set there would be lost
with the cookie, could not follow them to WeChat, and would let anyone mint named rows with
pictures on the server by the thousand; a guest who wants a name signs in first (tips keep
their own signature field for anyone).

Avatars are checked and re-encoded as every upload is (app/pictures.py): cropped square,
AVATAR_SIZE px, a JPEG with no metadata, under UPLOAD_FOLDER/avatars with the reader's id and
a content hash in its name, so a new picture gets a new URL and browsers may keep it for a
year. The caller removes a replaced file once the change is committed (remove_avatar).
"""

import hashlib
import re
import unicodedata
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageOps

from app import pictures
from app.catalog import queries
from app.extensions import db
from app.models import HOLDS_MONEY, Order, OrderKind, Reader
from app.wechat.oauth import PLACEHOLDER_NICKNAME

NAME_MAX_CHARS = 32
MAX_AVATAR_BYTES = 2 * 1024 * 1024
AVATAR_SIZE = 256
AVATAR_FOLDER = "avatars"  # under UPLOAD_FOLDER

# Letters that draw nothing, a favourite for blank-looking names: counted as spaces.
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
_ZERO_WIDTH_JOINER = "\u200d"  # emoji sequences need it; every other format character goes
_SPACES = re.compile(r"\s+")
_AVATAR_NAME = re.compile(r"\d+-[0-9a-f]{10}\.jpg")


class ProfileRejected(ValueError):
    """A name or picture the shop will not show; the message is for the reader."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def clean_name(text: str) -> str:
    """The name as it will be shown: trimmed, runs of spaces made one. Refused when empty,
    longer than NAME_MAX_CHARS, holding control or invisible characters, or WeChat's
    placeholder (which the shop never takes for a name)."""
    if len(text) > NAME_MAX_CHARS * 4:  # refused before the work of normalising it
        raise ProfileRejected(f"昵称最多 {NAME_MAX_CHARS} 个字")
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch in _BLANK_LETTERS else ch for ch in text).strip()
    if any(_is_hidden(ch) for ch in text):
        raise ProfileRejected("昵称里不能有换行、制表符或看不见的字符")
    name = _SPACES.sub(" ", text)
    if not any(unicodedata.category(ch)[0] in "LNPS" for ch in name):
        raise ProfileRejected("请填写昵称")
    if len(name) > NAME_MAX_CHARS:
        raise ProfileRejected(f"昵称最多 {NAME_MAX_CHARS} 个字")
    if name == PLACEHOLDER_NICKNAME:
        raise ProfileRejected(f"「{PLACEHOLDER_NICKNAME}」是微信的默认名，请换一个")
    return name


def _is_hidden(ch: str) -> bool:
    """Controls (a tab, a newline), format characters that reorder or hide text, line and
    paragraph separators; ordinary spaces are fine."""
    if ch == _ZERO_WIDTH_JOINER:
        return False
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


def choose_name(reader: Reader, text: str) -> None:
    _only_wechat_readers(reader)
    name = clean_name(text)
    if name != reader.chosen_name:
        reader.chosen_name = name
        _shown_elsewhere(reader)


def avatar_picture(data: bytes) -> bytes:
    """The upload as it will be stored: checked, cropped square, re-encoded. Done before the
    write transaction, which need not wait on decoding."""
    try:
        picture = pictures.open_upload(data, MAX_AVATAR_BYTES, "头像")
    except pictures.PictureRejected as rejected:
        raise ProfileRejected(rejected.message) from rejected
    square = ImageOps.fit(
        pictures.flat_rgb(picture), (AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS
    )
    return pictures.jpeg(square, quality=85)


def choose_avatar(reader: Reader, upload_folder: Path, picture: bytes) -> str | None:
    """Store a picture from avatar_picture as the reader's avatar; the file it replaced."""
    _only_wechat_readers(reader)
    name = f"{reader.id}-{hashlib.sha256(picture).hexdigest()[:10]}.jpg"
    pictures.atomic_write(upload_folder / AVATAR_FOLDER / name, picture)
    replaced = reader.chosen_avatar
    reader.chosen_avatar = name
    _shown_elsewhere(reader)
    return replaced if replaced != name else None


def use_wechat_profile(reader: Reader) -> str | None:
    """Forget the chosen name and picture: WeChat's show again (or the shop's stand-ins).
    The avatar file to remove, if any."""
    replaced = reader.chosen_avatar
    if reader.chosen_name is not None or replaced is not None:
        reader.chosen_name = reader.chosen_avatar = None
        _shown_elsewhere(reader)
    return replaced


def remove_avatar(upload_folder: Path, name: str) -> None:
    if _AVATAR_NAME.fullmatch(name):
        (upload_folder / AVATAR_FOLDER / name).unlink(missing_ok=True)


def _only_wechat_readers(reader: Reader) -> None:
    if reader.is_guest:
        raise ProfileRejected("绑定微信后才能设置昵称和头像")


def _shown_elsewhere(reader: Reader) -> None:
    """The supporter walls name tippers: pages that may show this reader are rendered anew.
    (Their own pages follow by themselves: the page cache keys them on the profile.)"""
    on_a_wall = sa.exists().where(
        Order.kind == OrderKind.TIP,
        Order.status.in_(HOLDS_MONEY),
        sa.or_(Order.reader_id == reader.id, Order.payer_openid == reader.openid),
    )
    if db.session.scalar(sa.select(on_a_wall)):
        queries.mark_walls_changed()
