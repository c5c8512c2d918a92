"""/healthz: 200 when the shop can serve (database answers, migrations current), else 503.

Polled every few seconds, so it stays out of everything a page goes through: no page cache
(which keeps only the catalog views marked for it), no rate limit, no CSRF, no session (the
view never touches it, so no cookie is set), and no-store, so no proxy answers for it. It
names no version, revision or setting: it is public.
"""

from flask import Blueprint, jsonify, request

from app import health
from app.extensions import csrf, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@csrf.exempt
@limiter.exempt
def healthz():
    state = health.check()
    answer = jsonify(
        ok=state.ok,
        database="ok" if state.database else "failed",
        migrations="current" if state.migrations_current else "behind",
        forwarded_for=forwarded_for_count(request.environ),
    )
    answer.status_code = 200 if state.ok else 503
    answer.headers["Cache-Control"] = "no-store"
    return answer


def forwarded_for_count(environ) -> int:
    """How many addresses X-Forwarded-For held as the request arrived.

    `flask shop doctor` fetches this through the public address and compares it with its own
    PROXY_FIX_HOPS: each proxy on the way adds one address, so the count it sees (it sends
    none itself) is the number of proxies. Only the count is told, never an address, and not
    PROXY_FIX_HOPS (the doctor has the configuration): anyone may ask, and the count says
    nothing a caller could not learn from its own request but how many proxies it passed.
    """
    # ProxyFix rewrites REMOTE_ADDR from this header (keeping the old values under
    # "werkzeug.proxy_fix.orig") but leaves the header itself as it came.
    header = environ.get("HTTP_X_FORWARDED_FOR") or ""
    return sum(1 for address in header.split(",") if address.strip())
