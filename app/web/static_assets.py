"""app/static with its content hash in every URL, kept for a year, served from memory.

`url_for('static', filename='css/shop.css')` gives `/static/css/shop.css?v=<hash>`: a
url_defaults hook adds the first 12 hex digits of the file's SHA-256. A request carrying the
current hash is answered `Cache-Control: public, max-age=31536000, immutable`, so a repeat
visit asks for nothing but the page; a new file means a new hash, a new URL, and browsers
fetch it once. A request without `v`, or with another hash (a page rendered by a worker of
the previous release during a deploy), still gets the file, with `no-cache`: it is
revalidated by its ETag on the next use, never kept past a change.

Each file is read, hashed and (for text types of MIN_SIZE bytes or more) gzipped once per
process, on its first use; requests then cost a dictionary lookup. Files larger than
MAX_IN_MEMORY are hashed the same way but sent from disk, unencoded. With app.debug a file's
modification time is checked on each use, so an edited stylesheet shows without a restart.

The studio's plotly.min.js (a URL with plotly's version) and the covers (content-hashed names)
follow the same rule: versioned, a year, immutable.
"""

import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, abort, current_app, request, send_from_directory
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from app.web import compression

ONE_YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"
MAX_IN_MEMORY = 1024 * 1024
VERSION_ARG = "v"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    version: str
    mtime: float
    mimetype: str
    raw: bytes | None  # None: too large to keep, sent from disk
    packed: bytes | None  # gzip, when the type compresses and it is worth it


class StaticAssets:
    def __init__(self, folder: str | Path, check_changes: bool = False):
        self.folder = Path(folder)
        self.check_changes = check_changes
        self._assets: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, filename: str) -> Asset | None:
        """The asset, or None for a name that is not a file in the folder (misses are not
        remembered: a probe for a thousand names must not grow the table)."""
        asset = self._assets.get(filename)
        if asset is None or (self.check_changes and self._changed(filename, asset)):
            asset = self._load(filename)
            if asset is not None:
                with self._lock:
                    self._assets[filename] = asset
        return asset

    def version(self, filename: str) -> str | None:
        asset = self.get(filename)
        return asset.version if asset is not None else None

    def _path(self, filename: str) -> Path | None:
        joined = safe_join(str(self.folder), filename)
        return Path(joined) if joined is not None else None

    def _changed(self, filename: str, asset: Asset) -> bool:
        path = self._path(filename)
        return path is None or not path.is_file() or path.stat().st_mtime != asset.mtime

    def _load(self, filename: str) -> Asset | None:
        path = self._path(filename)
        if path is None or not path.is_file():
            return None
        stat = path.stat()
        mimetype = _mimetype(path)
        if stat.st_size > MAX_IN_MEMORY:
            digest = hashlib.sha256()
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 16), b""):
                    digest.update(block)
            return Asset(digest.hexdigest()[:12], stat.st_mtime, mimetype, None, None)
        raw = path.read_bytes()
        packed = None
        if mimetype in compression.COMPRESSIBLE and len(raw) >= compression.MIN_SIZE:
            packed = compression.gzip_bytes(raw)
            if len(packed) >= len(raw) * 0.9:
                packed = None
        version = hashlib.sha256(raw).hexdigest()[:12]
        return Asset(version, stat.st_mtime, mimetype, raw, packed)


def _mimetype(path: Path) -> str:
    guessed = mimetypes.guess_type(path.name)[0]
    return _TYPES.get(path.suffix) or guessed or "application/octet-stream"


def init_app(app: Flask) -> None:
    """Version the static URLs and serve them from memory (after the static rule exists)."""
    assets = app.extensions["static_assets"] = StaticAssets(app.static_folder, app.debug)

    @app.url_defaults
    def add_static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and VERSION_ARG not in values:
            version = assets.version(values.get("filename", ""))
            if version is not None:
                values[VERSION_ARG] = version

    app.view_functions["static"] = serve_static


def serve_static(filename: str) -> Response:
    assets: StaticAssets = current_app.extensions["static_assets"]
    asset = assets.get(filename)
    if asset is None:
        abort(404)
    # The current hash: a year. None or another (a page from the previous release): revalidate.
    cache_control = IMMUTABLE if request.args.get(VERSION_ARG) == asset.version else "no-cache"
    if asset.raw is None:
        response = send_from_directory(assets.folder, filename)  # conditional by itself
        response.headers["Cache-Control"] = cache_control
        return response
    encoded = asset.packed is not None and compression.accepts_gzip()
    response = current_app.response_class(
        asset.packed if encoded else asset.raw, mimetype=asset.mimetype
    )
    if asset.packed is not None:
        response.vary.add("Accept-Encoding")
    if encoded:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(asset.version + ("-gz" if encoded else ""))
    response.last_modified = asset.mtime
    response.headers["Cache-Control"] = cache_control
    return response.make_conditional(request)
