"""Inside WeChat, a reader is signed in silently on their first catalog page.

WeChat tells the shop who is there (snsapi_base, no consent page), so purchases made on any
device and bound to this WeChat account show up at once. Tried once per session, so a reader
who cancels is not sent round in circles.

The hook runs first among the app's hooks (see create_app): before the page cache, which
serves signed-in readers' pages before any other hook, and before page views are counted.
"""

from flask import redirect, request, session, url_for

from app.accounts.session import OAUTH_TRIED_KEY, current_reader, is_wechat_browser


def init_app(app) -> None:
    app.before_request(sign_in_inside_wechat)


def sign_in_inside_wechat():
    if (
        request.blueprint != "storefront"
        or request.method != "GET"
        or session.get(OAUTH_TRIED_KEY)
        or not is_wechat_browser()
    ):
        return None
    reader = current_reader()
    if reader is not None and not reader.is_guest:
        return None
    session[OAUTH_TRIED_KEY] = True
    return redirect(url_for("accounts.wechat_login", next=request.full_path.rstrip("?")))
