"""The session cookie: a signed token (see app/accounts/session.py), read and sent cheaply.

Flask's cookie sessions verify and decode the cookie on every request, and re-sign and
re-send a permanent session's cookie on every answer to slide its expiry. Inside WeChat every
reader carries one, on every page, so here:

- a cookie verified once is remembered per process (by its exact text, with the time it was
  signed, so it still expires on time): the next request with it is not verified again;
- it is re-sent when the session changed, or when its server-side row is due to be marked
  seen (at most hourly, mark_session_seen): its expiry slides with the session's idle limit,
  and other answers carry no Set-Cookie.
"""

import copy
import threading
import time
from collections import OrderedDict

from flask import g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

from app.readers import web_sessions

# Cookies remembered per process: about as many as readers who come back within minutes.
REMEMBERED_COOKIES = 4096


class SessionCookieInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._verified: OrderedDict[str, tuple[dict, int]] = OrderedDict()
        self._lock = threading.Lock()

    def open_session(self, app, request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:  # no SECRET_KEY: Flask's null session
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        with self._lock:
            verified = self._verified.get(value)
            if verified is not None:
                self._verified.move_to_end(value)
        if verified is None:
            try:
                verified = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:  # forged, tampered with or expired: an empty session
                return self.session_class()
            verified = (verified[0], int(verified[1].timestamp()))
            self._remember(value, verified)
        data, signed_at = verified
        if not 0 <= time.time() - signed_at <= max_age:
            return self.session_class()
        # A copy: what a request changes in its session never reaches the remembered one
        # (the session copies the top level; nested values, rarely there, are copied here).
        if any(isinstance(value, dict | list) for value in data.values()):
            data = copy.deepcopy(data)
        return self.session_class(data)

    def _remember(self, value: str, verified: tuple[dict, int]) -> None:
        with self._lock:
            self._verified[value] = verified
            while len(self._verified) > REMEMBERED_COOKIES:
                self._verified.popitem(last=False)

    def should_set_cookie(self, app, session) -> bool:
        if session.modified:
            return True
        if not session.permanent or not app.config["SESSION_REFRESH_EACH_REQUEST"]:
            return False
        live = g.get("web_session")
        return live is not None and web_sessions.seen_due(live)

    def save_session(self, app, session, response) -> None:
        # Most answers set nothing: decided before Flask works out every cookie attribute.
        if session and not self.should_set_cookie(app, session):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
