"""Where a redirect may lead: the shop's own pages only."""

import unicodedata
from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site relative path, or the default: `next=` must never lead off the shop, nor
    carry a control character (a newline cannot go into the Location header; a server
    refuses others)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if has_control_characters(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)
