"""Files from the upload folder, sent by the shop or, behind nginx, by nginx.

A paid download can be tens of megabytes; a reader on a slow phone would hold a Python thread
for minutes. With X_ACCEL_REDIRECT_PREFIX set (nginx's `internal` location that maps to the
upload folder, see deploy/nginx/shop.conf), the shop still decides who may have the file and
what it is called, and answers with those headers and an empty body; nginx reads the
`X-Accel-Redirect` header and sends the file itself. nginx keeps the answer's Content-Type,
Content-Disposition and Cache-Control (so a download stays private and unstored) and drops
the rest, which its internal location adds back.

Only call this after the entitlement check: the header is as good as the file.
"""

from pathlib import Path
from urllib.parse import quote

from flask import abort, current_app, send_from_directory
from werkzeug.security import safe_join
from werkzeug.wrappers import Response


def send_upload(subfolder: str, stored_name: str, **send_options) -> Response:
    """send_from_directory() for UPLOAD_FOLDER/subfolder/stored_name, with its options
    (download name, max_age); a name that leaves the folder, or no such file, is a 404."""
    uploads = Path(current_app.config["UPLOAD_FOLDER"])
    # One checked path for both ways of sending: never outside the upload folder.
    relative = safe_join(subfolder, stored_name) or abort(404)
    prefix = current_app.config["X_ACCEL_REDIRECT_PREFIX"]
    if not prefix:
        return send_from_directory(uploads, relative, **send_options)
    # Not conditional: nginx answers ranges and revalidation from the file itself; a 206 or
    # 304 from here would be passed on with no body in it.
    response = send_from_directory(uploads, relative, conditional=False, etag=False, **send_options)
    response.close()  # the file send_file opened; nginx opens its own
    response.direct_passthrough = False
    response.set_data(b"")
    response.headers["X-Accel-Redirect"] = prefix + quote(relative)
    return response
