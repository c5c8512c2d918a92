"""The shop's own address, so that no request can choose the host of the shop's absolute URLs.

Absolute URLs (url_for(_external=True): share links, og: tags, notify URLs, the pay pages'
return links) are built from the request's Host, or X-Forwarded-Host behind a trusted proxy.
A forged one would end up in pages, and in pages cached for every other visitor. With
PUBLIC_BASE_URL set, every request is taken as addressed to it, whatever it names. Without
it, TRUSTED_HOSTS (Flask's own setting) refuses unknown hosts with a 400, and the page cache
keeps pages per host.

`public_url` builds the addresses WeChat calls back (payment and refund notifications, the
OAuth callback) the same way, from a request or, in the CLI, from PUBLIC_BASE_URL.
"""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def public_url(endpoint: str, **values) -> str:
    """An absolute URL WeChat can reach: PUBLIC_BASE_URL when set, else this request's host.
    Outside a request (a command, a timer) it is PUBLIC_BASE_URL's, or localhost's."""
    if not has_request_context():
        base_url = current_app.config["PUBLIC_BASE_URL"] or None
        with current_app.test_request_context(base_url=base_url):
            return public_url(endpoint, **values)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


class PublicAddress:
    """WSGI middleware: the request's host and scheme are those of the shop's public base URL.

    It runs inside ProxyFix, so what a proxy forwards is overridden too.
    """

    def __init__(self, wsgi_app, base_url: str):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"PUBLIC_BASE_URL must be like https://shop.example.com: {base_url}")
        self.wsgi_app = wsgi_app
        self.scheme = parts.scheme
        self.host = parts.netloc
        self.port = str(parts.port or (443 if parts.scheme == "https" else 80))

    def __call__(self, environ, start_response):
        environ["wsgi.url_scheme"] = self.scheme
        environ["HTTP_HOST"] = self.host
        environ["SERVER_NAME"] = self.host.rsplit(":", 1)[0] if ":" in self.host else self.host
        environ["SERVER_PORT"] = self.port
        return self.wsgi_app(environ, start_response)
