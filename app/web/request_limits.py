"""How large a request body may be, per kind of route, and how deep its JSON may nest.

MAX_CONTENT_LENGTH (60 MB) is what the studio's uploads need; nothing else does. The JSON
API's bodies are a few hundred bytes, the readers' forms (buy, tip, sign-in) a few hundred
more. So: the API gets API_MAX_BODY_BYTES, every other form FORM_MAX_BODY_BYTES, and only the
signed-in creator's studio keeps MAX_CONTENT_LENGTH; a reader's upload form (an avatar) names
its own limit with `takes_upload`. A body over its limit is refused with a
413 from its Content-Length, before any hook (CSRF's included) reads or parses it; a body sent
without one is cut off at the same limit while it is read.
"""

from flask import Flask, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_login import current_user


def init_app(app: Flask) -> None:
    """Call before the extensions that read bodies (CSRF) register their hooks."""
    app.json = NestingSafeJSONProvider(app)
    app.before_request(refuse_large_bodies)


def refuse_large_bodies():
    limit = body_limit()
    request.max_content_length = limit  # cuts off a body sent without a Content-Length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)


def body_limit() -> int | None:
    """The largest body this route takes; None: MAX_CONTENT_LENGTH."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "reads_own_body", False):
        return None
    if getattr(view, "upload_limit", None) is not None:
        return view.upload_limit
    if request.blueprint == "api":
        return current_app.config["API_MAX_BODY_BYTES"]
    if request.blueprint == "studio" and current_user.is_authenticated:
        return None
    return current_app.config["FORM_MAX_BODY_BYTES"]


def reads_own_body(view):
    """Mark a server-to-server XML endpoint (WeChat's notifications, the sandbox's Pay API)
    that reads at most its own limit from the stream and answers in WeChat's XML."""
    view.reads_own_body = True
    return view


def takes_upload(max_bytes: int):
    """Mark a form that carries a file: its body may be up to `max_bytes`."""

    def mark(view):
        view.upload_limit = max_bytes
        return view

    return mark


class NestingSafeJSONProvider(DefaultJSONProvider):
    """JSON nested deeper than Python's recursion limit is malformed JSON (a 400), not a crash:
    json.loads raises RecursionError for it, which no caller expects."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
