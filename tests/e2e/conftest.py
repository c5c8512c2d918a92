"""End-to-end fixtures and browser helpers: the demo shop on a live local server, driven by
Debian's Chromium. Every browser helper lives here, so the test files import only from here.

The browser is the system one (/usr/bin/chromium); nothing is downloaded. Without it the e2e
tests skip, unless REQUIRE_BROWSER=1 (as CI sets), which turns the skip into a failure.
Every test in this folder is marked e2e by the hook below, so the suite's non-browser pass
(`pytest -m "not e2e"`) leaves them out without each file having to say so.
"""

import io
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from app.demo import content
from tests.conftest import WECHAT_UA

HERE = Path(__file__).parent

SCREENSHOTS = HERE / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)

SAFARI_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)

# Playwright's per-action wait; a page of the local shop answers in milliseconds.
TIMEOUT_MS = 10_000

PHONE_WIDTH = 390
ORDER_URL = re.compile(r"/orders/(\w{32})$")
# The status poll runs every 2 s and the notification worker every 0.5 s: 15 s is generous.
PAID_WITHIN_MS = 15_000
PAYEE = content.SHOP["name"]  # the order's body is "店名-商品名"; WeChat shows the shop


def pytest_collection_modifyitems(items):
    """Mark every test under this folder e2e, so that a new file cannot forget to."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def _find_chromium() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _unavailable(reason: str):
    """Skip, or fail loudly when the environment promises a browser (REQUIRE_BROWSER=1)."""
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def chromium_path() -> str:
    """Checked before anything else in this folder, so a missing browser costs nothing."""
    path = _find_chromium()
    if path is None:
        _unavailable("Chromium not found (/usr/bin/chromium or `chromium` on PATH)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    return path


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The demo shop's app (with sandbox readers) on its own database.

    Not in testing mode, as deployed: the sandbox's worker thread delivers pay notifications.
    Tests that must act as the server (expire an order, refund from the shell) use it directly.
    """
    from app import create_app
    from app.demo.seed import seed_demo
    from app.extensions import db
    from app.recommendations import builder
    from app.sandbox.notify import stop_worker

    root = tmp_path_factory.mktemp("e2e-shop")
    upload_folder = root / "uploads"
    app = create_app(
        {
            "SECRET_KEY": "e2e-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'shop.db'}",
            "UPLOAD_FOLDER": str(upload_folder),
            "WECHAT_SANDBOX": True,
            "RATELIMIT_ENABLED": False,
            # CSRF stays on and the page cache keeps its default: the shop as deployed.
        },
        instance_path=str(root / "instance"),
    )
    with app.app_context():
        db.create_all()
        seed_demo(Path(upload_folder), with_sandbox_users=True)
        db.session.commit()
        builder.rebuild(root / "cache")  # as `flask shop demo` does
        db.session.remove()
    try:
        yield app
    finally:
        stop_worker(app)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def creator_login(live_app):
    """(username, password) of a studio login added to the live shop for the browser tests
    (the demo creator's password is generated and not kept)."""
    from app.extensions import db
    from app.readers.creators import create_creator

    with live_app.app_context():
        create_creator(E2E_CREATOR[0], E2E_CREATOR[1])
        db.session.commit()
        db.session.remove()
    return E2E_CREATOR


E2E_CREATOR = ("e2e-creator", "e2e-creator-password")
_RESPONSE_KEY = "e2e.response"


def _remembering_responses(app):
    """The app, keeping each response in its environ for _LiveRequestHandler."""

    def wsgi(environ, start_response):
        response = app(environ, start_response)
        environ[_RESPONSE_KEY] = response
        return response

    return wsgi


class _LiveRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, which also closes the response when the browser drops the
    connection. After a reset (a page navigates away while a cover is loading), werkzeug's
    drain of the socket raises before it closes the response, so a send_file() response's
    open file is left to the garbage collector: a ResourceWarning, which this suite's
    filterwarnings turn into an error in whatever test runs at that moment."""

    def connection_dropped(self, error, environ=None):
        response = (environ or {}).pop(_RESPONSE_KEY, None)
        if response is not None and hasattr(response, "close"):
            response.close()
        super().connection_dropped(error, environ)


@pytest.fixture(scope="session")
def live_server(live_app):
    """The demo shop served on a free port; yields its base URL."""
    server = make_server(
        "127.0.0.1",
        0,
        _remembering_responses(live_app),
        threaded=True,
        request_handler=_LiveRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def browser_context(browser, base_url: str, **options):
    """A fresh browser context (own cookies) that remembers every 5xx the server answered and
    everything the Content-Security-Policy refused (a script or style that silently did not
    run or apply); hand both to close_context when done."""
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []

    def note(response):
        if response.status >= 500:
            errors.append(f"{response.status} {response.url}")

    def note_policy_violation(message):
        if "Content Security Policy" in message.text:
            errors.append(f"{message.page.url if message.page else ''}: {message.text}")

    context.on("response", note)
    context.on("console", note_policy_violation)
    return context, errors


def close_context(context, errors):
    context.close()
    assert not errors, f"the shop answered with server errors or CSP refusals: {errors}"


def _iphone(browser, live_server, user_agent):
    """390×844 at 2x with touch and a Chinese locale; the user agent says where it is."""
    return browser_context(
        browser,
        live_server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=user_agent,
        locale="zh-CN",
    )


@pytest.fixture
def phone(browser, live_server):
    """An iPhone inside WeChat."""
    context, errors = _iphone(browser, live_server, WECHAT_UA)
    yield context
    close_context(context, errors)


@pytest.fixture
def safari(browser, live_server):
    """An iPhone's Safari, outside WeChat (the H5 channel)."""
    context, errors = _iphone(browser, live_server, SAFARI_UA)
    yield context
    close_context(context, errors)


@pytest.fixture
def desktop(browser, live_server):
    """A desktop Chrome outside WeChat, 1280×800."""
    context, errors = browser_context(
        browser,
        live_server,
        viewport={"width": 1280, "height": 800},
        user_agent=DESKTOP_UA,
        locale="zh-CN",
    )
    yield context
    close_context(context, errors)


# Covers below the fold are loading="lazy": scroll through once so the full-page shot shows
# them, then wait (at most 3 s) for every image to load or fail.
_LOAD_LAZY_IMAGES = """async () => {
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  for (let y = 0; y < document.documentElement.scrollHeight; y += window.innerHeight) {
    window.scrollTo(0, y);
    await pause(30);
  }
  window.scrollTo(0, 0);
  const pending = [...document.images].filter((img) => !img.complete);
  const settled = pending.map((img) => new Promise((done) => {
    img.addEventListener("load", done, { once: true });
    img.addEventListener("error", done, { once: true });
  }));
  await Promise.race([Promise.all(settled), pause(3000)]);
}"""


@pytest.fixture(scope="session")
def screenshot():
    """screenshot(page, "phone-home") saves a full-page PNG to tests/e2e/screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        page.evaluate(_LOAD_LAZY_IMAGES)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways: {width}px > {PHONE_WIDTH}px"


def assert_on_screen(locator) -> None:
    """Wholly inside what the phone shows, without scrolling (for fixed overlays)."""
    box = locator.bounding_box()
    width, height = locator.page.evaluate("[visualViewport.width, visualViewport.height]")
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"off the screen: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"off the screen: {box}"


def decode_qr(page) -> str:
    """What a phone's camera reads from the pay page's QR picture."""
    import zxingcpp
    from PIL import Image

    png = page.locator("img[data-qr]").screenshot()
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, f"expected one QR code in the picture, found {len(results)}"
    return results[0].text


def log_in_to_studio(page, login, next_path: str) -> None:
    """Log in as the creator (`creator_login`) and land on `next_path`."""
    username, password = login
    page.goto(f"/creator/login?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{next_path}")


def sign_in_in_wechat(page, nickname: str) -> None:
    """Open the shop inside WeChat and sign in as a new sandbox user called `nickname`."""
    from playwright.sync_api import expect

    page.goto("/")
    expect(page.get_by_role("heading", name="选择沙箱中的微信用户")).to_be_visible()
    page.get_by_label("或新建测试用户").fill(nickname)
    page.get_by_role("button", name="允许").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
    expect(page.locator("nav.tabbar")).to_be_visible()
