"""The sandbox's requests to the shop (notifications, messages to its server URL), delivered
as WeChat's servers deliver them, but without a socket.

The app's WSGI callable gets the request at the URL's path, query and host, so the sandbox
never needs a second free worker to reach the shop it runs in. The shop's handler runs in an
empty context, as a request from another machine would: its own app context and database
session, not the caller's. Commit your own writes first, or on SQLite it waits for them.
"""

import contextvars
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app


def post(app: Flask, url: str, body: bytes, content_type: str = "text/xml") -> tuple[int, str]:
    """(HTTP status, body) of the shop's answer; (0, the exception) if its handler crashed."""
    parts = urlsplit(url)
    builder = EnvironBuilder(
        path=parts.path or "/",
        query_string=parts.query,
        method="POST",
        base_url=f"{parts.scheme}://{parts.netloc}",
        headers={"Content-Type": content_type},
        data=body,
    )
    try:
        app_iter, status, _headers = contextvars.Context().run(
            run_wsgi_app, app, builder.get_environ(), True
        )
        content = b"".join(app_iter)  # buffered: the handler has already run and closed
    except Exception as exc:  # the shop's crash is its answer (a 500 over the network)
        return 0, f"{type(exc).__name__}: {exc}"
    finally:
        builder.close()
    return int(status.split(" ", 1)[0]), content.decode("utf-8", "replace")
