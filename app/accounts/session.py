"""Who is looking at this page: the reader in the session cookie, and whether the creator is."""

import unicodedata
from urllib.parse import urlsplit

from flask import g, request, session
from flask_login import current_user

from app.entitlements import Viewer
from app.extensions import db
from app.models import Reader
from app.readers import create_guest

READER_KEY = "reader_id"


def current_reader() -> Reader | None:
    if "reader" not in g:
        reader_id = session.get(READER_KEY)
        g.reader = db.session.get(Reader, reader_id) if reader_id else None
    return g.reader


def current_viewer() -> Viewer:
    return Viewer(reader=current_reader(), is_creator=current_user.is_authenticated)


def remember_reader(reader: Reader) -> None:
    session.permanent = True
    session[READER_KEY] = reader.id
    g.reader = reader


def ensure_reader() -> Reader:
    """The current reader, creating a guest on first need (never for a mere page view)."""
    reader = current_reader()
    if reader is None:
        reader = create_guest()
        remember_reader(reader)
    return reader


def is_wechat_browser() -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


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
