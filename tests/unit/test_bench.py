"""The benchmarks that need a data set from outside the repository say where to get it;
bench/storefront.py's pure helpers (page weight, cookies) do what browsers do; bench/load.py
reads answers and forms as a browser does and serves the shop as production does."""

import asyncio
import gzip
import importlib.util
import subprocess
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_recs_eval_without_movielens_says_where_to_get_it(tmp_path):
    missing = tmp_path / "ml-latest-small"
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "recs_eval.py"), "--data", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "ml-latest-small is missing" in run.stderr and str(missing) in run.stderr
    assert "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


# --- bench/storefront.py's helpers -----------------------------------------------------------


def _load_storefront():
    spec = importlib.util.spec_from_file_location(
        "bench_storefront", REPO / "bench" / "storefront.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


storefront = _load_storefront()

PAGE = """<!doctype html><html><head>
<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/static/img/touch.png">
<link rel="stylesheet" href="/static/css/shop.css?v=1#top">
<link rel="preload" as="font" href="/static/fonts/a.woff2" crossorigin>
<style>.hero { background: url('/static/img/hero.webp') } /* url(/not-this.png) */</style>
<script src="js/app.js" defer></script>
</head><body>
<a href="/p/other">a link is not a subresource</a>
<img class="card-cover" src="/media/covers/a.png" loading="lazy" alt="">
<img src="/media/covers/a.png" alt="">
<picture>
  <source type="image/jxr" srcset="/media/covers/b.jxr">
  <source media="(min-width: 768px)" srcset="/media/covers/b-wide.webp">
  <source type="image/webp" srcset="/media/covers/b-400.webp 400w, /media/covers/b-800.webp 800w,
      /media/covers/b-1200.webp 1200w" sizes="(min-width: 600px) 50vw, 100vw">
  <img src="/media/covers/b.png" loading="lazy" alt="">
</picture>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<div style="background-image: url(&quot;/static/img/bg.svg&quot;)"></div>
<img src="https://thirdwx.qlogo.cn/avatar/0" alt="">
<script>var notFetched = "/static/js/inline.js";</script>
</body></html>"""


def test_parse_subresources_finds_what_a_browser_fetches_in_order_once_each():
    found = storefront.parse_subresources(PAGE, "http://shop.test/p/x")
    assert [(s.kind, s.url, s.lazy) for s in found] == [
        ("icon", "http://shop.test/static/img/favicon.svg", False),
        ("stylesheet", "http://shop.test/static/css/shop.css?v=1", False),
        ("font", "http://shop.test/static/fonts/a.woff2", False),
        ("image", "http://shop.test/static/img/hero.webp", False),
        ("script", "http://shop.test/p/js/app.js", False),
        # lazy where first seen, but also wanted at once further down: not lazy
        ("image", "http://shop.test/media/covers/a.png", False),
        # the first <source> the phone decodes and whose media matches; 390 px * 3 = 1170 w
        ("image", "http://shop.test/media/covers/b-1200.webp", True),
        ("image", "http://shop.test/static/img/bg.svg", False),
        ("image", "https://thirdwx.qlogo.cn/avatar/0", False),
    ]


def test_parse_subresources_preloads_the_phones_candidate_of_a_responsive_image():
    html = (
        '<link rel="preload" as="image" href="/c/a.png" '
        'imagesrcset="/c/a-600.webp 600w, /c/a-1200.webp 1200w" imagesizes="100vw">'
        '<img src="/c/a.png" srcset="/c/a-600.webp 600w, /c/a-1200.webp 1200w">'
    )
    found = storefront.parse_subresources(html, "http://shop.test/")
    assert [(s.kind, s.url) for s in found] == [("image", "http://shop.test/c/a-1200.webp")]


def test_parse_subresources_honours_base_href():
    html = '<base href="/assets/"><img src="x.png"><link rel="stylesheet" href="/y.css">'
    found = storefront.parse_subresources(html, "http://shop.test/p/x")
    assert [s.url for s in found] == ["http://shop.test/assets/x.png", "http://shop.test/y.css"]


def test_srcset_pick_is_what_a_390_px_3x_phone_takes():
    pick = storefront.pick_from_srcset
    widths = "s.webp 360w, m.webp 720w, l.webp 1440w"
    assert pick(widths, None, "fallback.png") == "l.webp"  # 100vw * 3 = 1170 px
    assert pick(widths, "(max-width: 600px) 120px, 300px", None) == "s.webp"  # 360 px: enough
    assert pick(widths, "(max-width: 600px) 200px, 300px", None) == "m.webp"  # 600 px needed
    assert pick(widths, "(min-width: 600px) 120px, 100vw", None) == "l.webp"
    assert pick(widths, "calc(50vw - 15px)", None) == "m.webp"  # 180 * 3 = 540
    assert pick("s.webp 360w, m.webp 720w", None, None) == "m.webp"  # none enough: the largest
    assert pick("a.png 1x, b.png 2x, c.png 3x, d.png 4x", None, None) == "c.png"
    assert pick("b.png 2x", None, "a.png") == "b.png"  # src is the 1x candidate
    assert pick("", None, "a.png") == "a.png"
    assert pick("", None, None) is None


def test_parse_srcset_splits_as_html_does():
    parse = storefront.parse_srcset
    assert parse(" a.png, b.png 2x,c.png 720w ") == [
        ("a.png", "x", 1.0),
        ("b.png", "x", 2.0),
        ("c.png", "w", 720.0),
    ]
    assert parse("/img?size=1,2 2x, d.png") == [("/img?size=1,2", "x", 2.0), ("d.png", "x", 1.0)]
    assert parse("data:image/png;base64,iVBO= 1x") == [("data:image/png;base64,iVBO=", "x", 1.0)]


def test_media_queries_on_the_phone():
    matches = storefront.media_matches
    assert matches("(max-width: 600px)")
    assert not matches("(min-width: 768px)")
    assert matches("only screen and (min-width: 20em) and (max-width: 480px)")
    assert matches("(min-width: 768px), (orientation: portrait)")
    assert not matches("(orientation: landscape)")
    assert matches("not (min-width: 768px)")
    assert matches("(-webkit-min-device-pixel-ratio: 2)")
    assert not matches("(min-resolution: 4dppx)")
    assert not matches("(prefers-reduced-motion: reduce)")  # unknown: does not match


def test_css_references():
    css = """@import url("base.css"); @import 'print.css' print;
    /* .old { background: url(old.png) } */
    .a { background: url(img/a.png) } .b { background: url( "b.svg#icon" ) }
    .c { background: url(data:image/png;base64,AAAA) } .d { fill: url(#gradient) }
    @font-face { src: url(/fonts/x.woff2) format("woff2"), url('/fonts/x.TTF') }"""
    assert storefront.css_references(css) == [
        ("stylesheet", "base.css"),
        ("stylesheet", "print.css"),
        ("image", "img/a.png"),
        ("image", "b.svg#icon"),
        ("font", "/fonts/x.woff2"),
        ("font", "/fonts/x.TTF"),
    ]


def test_repeat_visit_reuses_only_what_is_fresh_without_asking():
    reusable = storefront.reusable_without_asking
    assert reusable({"cache-control": "public, max-age=31536000"})
    assert reusable({"cache-control": "private, max-age=60, immutable"})
    assert not reusable({})  # no freshness at all
    assert not reusable({"last-modified": "Mon, 07 Dec 2026 08:22:45 GMT"})  # no heuristics
    assert not reusable({"cache-control": "max-age=0"})
    assert not reusable({"cache-control": "no-cache", "etag": '"x"'})
    assert not reusable({"cache-control": "public, max-age=600, no-cache"})
    assert not reusable({"cache-control": "private, no-store"})
    assert not reusable({"cache-control": "s-maxage=600"})  # for shared caches only
    assert not reusable({"cache-control": "max-age=soon"})
    date = "Mon, 07 Dec 2026 08:00:00 GMT"
    assert reusable({"date": date, "expires": "Mon, 07 Dec 2026 09:00:00 GMT"})
    assert not reusable({"date": date, "expires": "Mon, 07 Dec 2026 07:00:00 GMT"})
    assert not reusable({"date": date, "expires": "0"})
    later = {"date": date, "expires": "Mon, 07 Dec 2026 09:00:00 GMT"}
    assert not reusable({**later, "cache-control": "max-age=0"})  # max-age wins over Expires


def test_repeat_visit_asks_conditionally_when_it_can():
    conditions = storefront.revalidation_headers
    stored = {"etag": '"abc"', "last-modified": "Mon, 07 Dec 2026 08:22:45 GMT"}
    assert conditions({**stored, "cache-control": "no-cache"}) == (
        ("If-None-Match", '"abc"'),
        ("If-Modified-Since", "Mon, 07 Dec 2026 08:22:45 GMT"),
    )
    assert conditions({**stored, "cache-control": "private, no-store"}) == ()  # never stored
    assert conditions({"cache-control": "no-cache"}) == ()  # nothing to ask with


def test_cookie_updates_follow_set_cookie():
    assert storefront.cookie_updates(
        [
            "session=eyJ.abc; Expires=Tue, 07 Dec 2027 08:00:00 GMT; HttpOnly; Path=/",
            "old=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
            "gone=x; Max-Age=0",
        ]
    ) == {"session": "eyJ.abc", "old": None, "gone": None}


def test_decode_body():
    text = "已购".encode() * 50
    assert storefront.decode_body(gzip.compress(text), "gzip") == text
    assert storefront.decode_body(zlib.compress(text), "deflate") == text
    assert storefront.decode_body(text, None) == text
    assert storefront.decode_body(text, "zstd") is None  # not asked for, not undone


# --- bench/load.py's helpers -----------------------------------------------------------------


def _load_load_test():
    sys.path.insert(0, str(REPO / "bench"))  # it imports the storefront benchmark's helpers
    try:
        spec = importlib.util.spec_from_file_location("bench_load", REPO / "bench" / "load.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "bench"))
    return module


load = _load_load_test()


def test_load_sends_a_forms_hidden_fields_as_the_browser_would():
    consent = """<form method="post" class="wx-card">
    <input type="hidden" name="csrf_token" value="tok.en">
    <input type="hidden" name="redirect_uri" value="http://127.0.0.1:5000/cb?a=1&amp;b=2">
    <input type="text" name="new_nickname" value="">
    <button type="submit" name="decision" value="allow">允许</button>
    </form><form><input type="hidden" name="other" value="x"></form>"""
    assert load._form_fields(consent) == {
        "csrf_token": "tok.en",
        "redirect_uri": "http://127.0.0.1:5000/cb?a=1&b=2",
    }


def test_load_reads_sized_and_chunked_answers():
    async def read(raw: bytes):
        stream = asyncio.StreamReader()
        stream.feed_data(raw)
        stream.feed_eof()
        return await load._read_answer(stream)

    sized = asyncio.run(
        read(
            b"HTTP/1.1 302 FOUND\r\nLocation: http://127.0.0.1:5000/orders/1?x=1\r\n"
            b"Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok"
        )
    )
    assert (sized.status, sized.body, sized.location) == (302, b"ok", "/orders/1?x=1")
    assert sized.set_cookies == ["a=1; Path=/", "b=2"]
    body = gzip.compress("已购".encode())
    chunked = asyncio.run(
        read(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
    )
    assert chunked.text() == "已购"


def test_load_serves_with_the_production_worker_settings(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    options = load.gunicorn_workers()
    assert options == ["--worker-class", "gthread", "--workers", "3", "--threads", "4"]


def test_load_without_postgresql_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(load.glob, "glob", lambda pattern: [])
    try:
        with load.postgres_cluster(load.Processes()):
            raise AssertionError("no cluster can start without PostgreSQL")
    except load.BenchError as error:
        assert "apt-get install postgresql" in str(error)
