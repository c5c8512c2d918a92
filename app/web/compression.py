"""gzip for the text the shop sends (HTML, CSS, JS, JSON, SVG), once per distinct body.

One after_request hook, registered before every other one so it runs last and sees the final
headers. It compresses a response when the client accepts gzip and the body is worth it:
a compressible type, at least MIN_SIZE bytes, not HEAD, not already encoded, not a file
or a stream (send_file answers are passed through unread; reading them here would load a
download into memory), not 'no-transform'. Whenever an answer could differ by encoding it
says `Vary: Accept-Encoding`, so a shared cache keeps both forms apart.

The anonymous page cache (page_cache.py) serves one body object many times a second, so
compressed bodies are memoised. The key is the body itself: Python caches a bytes object's
hash on the object, so a repeat of the same object costs a dictionary lookup (no digest, no
compare), an equal body from another object one pass of SipHash and one memcmp, and there are
no collisions to reason about. The memo is a segmented LRU: a body enters a small probation
segment and moves to the protected one when it is served again, so a stream of one-off pages
(a reader's own pages, rendered once) cannot push the cached catalog pages out. Level 6
(zlib's default): within 1 % of level 9's size, and paid once per body.
"""

import gzip
import threading
from collections import OrderedDict

from flask import Flask, request
from werkzeug.wrappers import Response

MIN_SIZE = 1024  # below this the gzip header and a round of CPU buy next to nothing
LEVEL = 6
MAX_MEMO_BODY = 512 * 1024  # larger bodies are compressed each time, never kept
COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "text/javascript",
        "application/javascript",
        "application/json",
        "image/svg+xml",
    }
)
_NO_BODY_STATUSES = frozenset({204, 206, 304})
UNCOMPRESSED_BLUEPRINTS = frozenset({"studio"})  # see the module's doc (BREACH)


def gzip_bytes(data: bytes) -> bytes:
    """gzip with a zero mtime: the same input always gives the same bytes."""
    return gzip.compress(data, LEVEL, mtime=0)


def accepts_gzip(environ: dict | None = None) -> bool:
    """The request's Accept-Encoding takes gzip (directly or by '*', with a quality above 0).

    Parsed once per distinct header value: browsers send a handful of them, and werkzeug's
    parser costs more than the rest of the hook together."""
    header = (environ or request.environ).get("HTTP_ACCEPT_ENCODING")
    if not header:
        return False
    known = _ACCEPTS.get(header)
    if known is None:
        known = request.accept_encodings["gzip"] > 0
        if len(_ACCEPTS) >= 256:  # odd clients cannot grow it without bound
            _ACCEPTS.clear()
        _ACCEPTS[header] = known
    return known


_ACCEPTS: dict[str, bool] = {}


class GzipMemo:
    """Compressed bodies by body: a probation segment for new ones, a protected one for
    bodies served more than once."""

    def __init__(self, probation: int = 64, protected: int = 512):
        self._probation: OrderedDict[bytes, bytes] = OrderedDict()
        self._protected: OrderedDict[bytes, bytes] = OrderedDict()
        self._sizes = (probation, protected)
        self._lock = threading.Lock()
        self.compressions = 0  # for tests and measurements

    def compressed(self, body: bytes) -> bytes:
        if len(body) > MAX_MEMO_BODY:
            self.compressions += 1
            return gzip_bytes(body)
        with self._lock:
            packed = self._protected.get(body)
            if packed is not None:
                self._protected.move_to_end(body)
                return packed
            packed = self._probation.pop(body, None)
            if packed is not None:  # served twice: protect it
                self._store(self._protected, body, packed, self._sizes[1])
                return packed
        packed = gzip_bytes(body)  # outside the lock: other requests go on meanwhile
        self.compressions += 1
        with self._lock:
            self._store(self._probation, body, packed, self._sizes[0])
        return packed

    def clear(self) -> None:
        with self._lock:
            self._probation.clear()
            self._protected.clear()

    @staticmethod
    def _store(segment: OrderedDict, body: bytes, packed: bytes, size: int) -> None:
        segment[body] = packed
        segment.move_to_end(body)
        while len(segment) > size:
            segment.popitem(last=False)


def init_app(app: Flask) -> None:
    """Register before other after_request hooks: Flask runs them in reverse, so this one
    runs last, on the final headers."""
    app.extensions["gzip_memo"] = memo = GzipMemo()

    def compress_response(response: Response) -> Response:
        return compress(response, memo)

    app.after_request(compress_response)


def compress(response: Response, memo: GzipMemo) -> Response:
    """gzip `response` in place when it is worth it (see the module's doc)."""
    if (
        response.direct_passthrough
        or response.is_streamed
        or response.status_code < 200
        or response.status_code in _NO_BODY_STATUSES
        or response.mimetype not in COMPRESSIBLE
    ):
        return response
    # One pass over the headers: werkzeug looks each name up by a scan of the list.
    encoding = vary = cache_control = etag = None
    for name, value in response.headers:
        name = name.lower()
        if name == "content-encoding":
            encoding = value
        elif name == "vary":
            vary = value
        elif name == "cache-control":
            cache_control = value
        elif name == "etag":
            etag = value
    if encoding is not None or request.blueprint in UNCOMPRESSED_BLUEPRINTS:
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    # Whoever gets this answer, another client may get the other form: say so to caches.
    if vary is None:
        response.headers.add("Vary", "Accept-Encoding")
    elif "accept-encoding" not in vary.lower() and vary.strip() != "*":
        response.headers["Vary"] = f"{vary}, Accept-Encoding"
    environ = request.environ
    if environ["REQUEST_METHOD"] == "HEAD" or not accepts_gzip(environ):
        return response
    if cache_control is not None and "no-transform" in cache_control:
        return response
    response.set_data(memo.compressed(body))  # sets Content-Length too
    response.headers.add("Content-Encoding", "gzip")
    if etag is not None and not etag.startswith("W/"):
        # Another representation: the strong validator no longer holds for it.
        response.headers["ETag"] = f"W/{etag}"
    return response
