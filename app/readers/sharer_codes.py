"""Sharer codes: who shared, in a form that fits a link and a QR code.

A sharer code is the reader's id with a keyed tag (HMAC with the app's SECRET_KEY): anyone
can read the id, nobody can make a code for another id, so a forged or mistyped code is just
a share without a sharer. Codes are computed, never stored: a link shared a year ago still
names its sharer, as long as the SECRET_KEY is the same.
"""

import base64
import hashlib
import hmac
import re

TAG_LENGTH = 8  # 40 bits: guessing a valid code for someone else takes ~10^12 tries
_CODE = re.compile(rf"([0-9a-z]{{1,12}})\.([a-z2-7]{{{TAG_LENGTH}}})")


def _tag(secret: str, reader_id: int) -> str:
    digest = hmac.new(secret.encode(), f"sharer:{reader_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:TAG_LENGTH]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if not number:
            return text


def sharer_code(secret: str, reader_id: int) -> str:
    return f"{_base36(reader_id)}.{_tag(secret, reader_id)}"


def sharer_id(secret: str, code: str | None) -> int | None:
    """The reader a code names, or None when it is not a code this shop made."""
    match = _CODE.fullmatch(code or "")
    if match is None:
        return None
    reader_id = int(match.group(1), 36)
    if not hmac.compare_digest(match.group(2), _tag(secret, reader_id)):
        return None
    return reader_id
