"""Optional error reporting to Sentry (or a server speaking its protocol, such as GlitchTip):
off unless SENTRY_DSN is set.

What leaves the server is the error and where it happened, not the reader (the SDK's own
defaults send no personal data; `scrub` makes sure of it): no cookies, no
query strings (share links carry sharer codes, WeChat's callbacks carry OAuth codes), no
request bodies (payment notifications, forms), only harmless headers, no local variables
(they hold keys and orders), and no performance tracing.
"""

from urllib.parse import urlsplit, urlunsplit

from flask import Flask

KEPT_HEADERS = frozenset({"Host", "User-Agent", "Accept", "Accept-Language", "Content-Type"})


def init_app(app: Flask) -> None:
    dsn = app.config["SENTRY_DSN"]
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config["SENTRY_ENVIRONMENT"],
        integrations=[FlaskIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0,
        before_send=scrub,
    )


def scrub(event: dict, hint: dict | None = None) -> dict:
    """The event without what could name a reader or open anything."""
    request = event.get("request")
    if request:
        request.pop("cookies", None)
        request.pop("data", None)
        request.pop("query_string", None)
        request.pop("env", None)
        if request.get("url"):
            request["url"] = urlunsplit(urlsplit(request["url"])._replace(query="", fragment=""))
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
    event.pop("user", None)
    return event
