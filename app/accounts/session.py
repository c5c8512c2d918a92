"""Who is looking at this page: the reader and the creator of the browser's server-side session."""

import sqlalchemy as sa
from flask import current_app, g, request, session
from flask_login import current_user

from app.catalog.entitlements import Viewer
from app.extensions import db
from app.models import Creator, Reader
from app.readers import snapshot, web_sessions
from app.readers.identity import create_guest
from app.transactions import begin_write, writing_apart

SESSION_TOKEN_KEY = "sid"
# Cookies signed before sessions lived on the server named their reader directly.
LEGACY_READER_KEY = "reader_id"
# Set once the shop has asked WeChat who this browser is (silently, inside WeChat): it asks
# once per session, so a reader who refuses is not sent round in circles, and a signed-in
# reader's pages need not look at their reader row to know they are signed in.
OAUTH_TRIED_KEY = "wechat_oauth_tried"
# The link that last brought this browser (app/sharing/touch.py). It is kept when the reader
# signs in: it says how they came, not who they are, and signing in is often the next step
# after opening a friend's share card.
TOUCH_KEY = "touch"
# Set when WeChat answered the sign-in with a 朋友圈 snapshot page's stand-in (快照页): the
# browser stays a guest, is told to open the full page, and may not buy. Its pages are its
# own (the page cache never shares them, see create_app), as they carry that banner.
SNAPSHOT_PAGE_KEY = "wechat_snapshot_page"


def current_session() -> web_sessions.LiveSession | None:
    """This browser's server-side session, if its cookie names a live one.

    Read at most once per request, with its reader's snapshot, and only by requests that ask
    who is there: a visitor without a token costs no database access at all.
    """
    if "web_session" not in g:
        token = session.get(SESSION_TOKEN_KEY)
        if token:
            idle_limit = current_app.permanent_session_lifetime
            g.web_session, g.reader_snapshot = web_sessions.find_live(token, idle_limit)
        else:
            g.web_session, g.reader_snapshot = None, snapshot.NOBODY
    return g.web_session


def current_snapshot() -> snapshot.ReaderSnapshot:
    """What the session's reader owns, where they are in each item, their 为你推荐 list: read
    once per request, with the session when it is read (a page decides from, and is cached
    under, the same answer: a payment landing mid-request changes neither)."""
    live = current_session()  # reading the session reads the snapshot with it
    if "reader_snapshot" not in g:  # this request started the session: read it apart
        has_reader = live is not None and live.reader_id is not None
        g.reader_snapshot = snapshot.of_reader(live.reader_id) if has_reader else snapshot.NOBODY
    return g.reader_snapshot


def _use_session(live: web_sessions.LiveSession | None) -> None:
    """This request now runs as `live` (a new session, or none): what was read of the old
    one's reader no longer applies."""
    g.web_session = live
    g.pop("reader_snapshot", None)


def current_reader() -> Reader | None:
    if "reader" not in g:
        live = current_session()
        g.reader = db.session.get(Reader, live.reader_id) if live and live.reader_id else None
    return g.reader


def current_viewer() -> Viewer:
    return Viewer(reader=current_reader(), is_creator=current_user.is_authenticated)


def begin_session(reader: Reader | None = None, creator: Creator | None = None) -> None:
    """Sign this browser in afresh: end its old session and start a new one.

    Nothing of the old cookie survives (its CSRF token included), so a cookie planted before
    the sign-in, and every copy of it, stays what it was. A reader's cookie lasts (a guest has
    no other key); the creator's alone ends with the browser. The caller commits.
    """
    touch = session.get(TOUCH_KEY)
    end_session()
    if touch is not None:
        session[TOUCH_KEY] = touch
    token, live = web_sessions.start(
        reader_id=reader.id if reader else None, creator_id=creator.id if creator else None
    )
    _use_session(live)
    g.reader = reader
    session.permanent = reader is not None
    session[SESSION_TOKEN_KEY] = token


def end_session() -> None:
    """Sign this browser out on the server too, and forget everything its cookie held."""
    live = current_session()
    if live is not None:
        web_sessions.end(live)
    session.clear()
    _use_session(None)
    g.reader = None


def ensure_reader() -> Reader:
    """The current reader, creating a guest on first need (never for a mere page view).

    A new guest is no sign-in: nobody's identity is replaced, so the cookie keeps the rest of
    its content (the recommendation a purchase came from, say). The caller commits; a new
    guest's transaction holds the write lock from its start (the request has read by now).
    """
    reader = current_reader()
    if reader is not None:
        return reader
    begin_write()
    reader = create_guest()
    live = current_session()
    if live is not None:  # the creator's session, which had no reader yet
        _use_session(web_sessions.attach_reader(live, reader.id))
    else:
        token, live = web_sessions.start(reader_id=reader.id)
        _use_session(live)
        session.permanent = True
        session[SESSION_TOKEN_KEY] = token
    g.reader = reader
    return reader


def adopt_legacy_cookie() -> None:
    """Give a guest's cookie from before server-side sessions a session of its own.

    That cookie is a guest's only key to what it bought, so it must keep working; but only
    once: the first browser to bring it back gets the session, and every other copy opens
    nothing. A WeChat reader's old cookie is simply dropped: WeChat signs them in again.
    """
    if SESSION_TOKEN_KEY in session or LEGACY_READER_KEY not in session:
        return
    reader_id = session.pop(LEGACY_READER_KEY)
    if not isinstance(reader_id, int):
        return
    begin_write()  # it reads, then may write: on SQLite the write lock comes first
    reader = db.session.get(Reader, reader_id)
    if reader is None or not reader.is_guest or web_sessions.reader_has_any(reader.id):
        db.session.commit()  # nothing to write: the lock goes at once
        return
    token, live = web_sessions.start(reader_id=reader.id)
    _use_session(live)
    db.session.commit()
    g.reader = reader
    session.permanent = True
    session[SESSION_TOKEN_KEY] = token


def mark_session_seen(_error=None) -> None:
    """Keep last_seen_at roughly current: at most one write an hour per session, on a
    connection of its own once the request's database session is closed (see create_app),
    so that it neither waits for nor commits anything of the request's, and with the write
    lock taken first (app.transactions.writing_apart)."""
    live = g.get("web_session")
    if live is None or not web_sessions.seen_due(live):
        return
    try:
        with writing_apart() as connection:
            web_sessions.mark_seen(connection, live)
    except sa.exc.SQLAlchemyError:  # bookkeeping only: the reader's page is not at stake
        current_app.logger.warning("could not record a session as seen", exc_info=True)


def mark_snapshot_page() -> None:
    """WeChat is showing the shop as a snapshot page. Signing in is not tried again in this
    session (WeChat would answer the same), and nothing else of the session changes: the
    browser is whoever it was, never the stand-in."""
    session[SNAPSHOT_PAGE_KEY] = True
    session[OAUTH_TRIED_KEY] = True


def in_snapshot_page() -> bool:
    return bool(session.get(SNAPSHOT_PAGE_KEY))


def is_wechat_browser() -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")
