"""Template filters and globals: money and times are formatted here, at the edge."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, url_for
from werkzeug.local import LocalProxy

from app.catalog.cover_variants import VARIANT_WIDTHS, variant_name
from app.money import format_fen, yuan_for_input


def register(app: Flask) -> None:
    app.add_template_filter(format_fen, "fen")
    app.add_template_filter(yuan_for_input, "fen_plain")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(file_size, "file_size")
    app.add_template_filter(duration, "duration")
    app.add_template_global(cover_url)
    app.add_template_global(cover_srcset)
    app.add_template_global(jssdk_script_url)
    app.add_template_global(avatar_src)
    app.add_template_global(_in_snapshot_page, "in_snapshot_page")
    app.add_template_global(offer_for)

    @app.context_processor
    def shop_context():
        from app.catalog.queries import shop_profile

        return {"shop": shop_profile(), "current_reader": _reader_shown}


def _current_reader_shown():
    """The reader, for a template that shows something of them: such a page is theirs alone,
    and the page cache must not share it with other readers."""
    from app.accounts.session import current_reader
    from app.web.page_cache import mark_personal

    mark_personal()
    return current_reader()


_reader_shown = LocalProxy(_current_reader_shown)


def jssdk_script_url() -> str:
    """WeChat's JS-SDK, or the sandbox's stand-in: no page loads it from WeChat in a test."""
    if current_app.config["WECHAT_SANDBOX"]:
        return url_for("sandbox.jweixin_js")
    return current_app.config["WECHAT_JSSDK_URL"]


def _in_snapshot_page() -> bool:
    from app.accounts.session import in_snapshot_page

    return in_snapshot_page()


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """UTC in the database, the shop's time zone on the page."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["SHOP_TIMEZONE"])).strftime(fmt)


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def duration(milliseconds: int) -> str:
    """A lesson's length as players show it: 4:05, or 1:02:03."""
    seconds = round(milliseconds / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def cover_url(filename: str | None, external: bool = False) -> str:
    if not filename:
        return url_for("static", filename="img/cover-placeholder.svg", _external=external)
    return url_for("storefront.cover", filename=filename, _external=external)


def cover_srcset(filename: str | None) -> str:
    """The cover's WebP sizes for srcset ('' for the placeholder, an SVG that scales)."""
    if not filename:
        return ""
    return ", ".join(
        f"{url_for('storefront.cover', filename=variant_name(filename, width))} {width}w"
        for width in VARIANT_WIDTHS
    )


def avatar_src(person) -> str | None:
    """A reader's picture (a Reader, a snapshot's Profile, a wall's Supporter): the one they
    uploaded, else WeChat's, else None for the page's stand-in."""
    if person.chosen_avatar:
        return url_for("accounts.avatar", filename=person.chosen_avatar)
    return person.avatar_url


def offer_for(product):
    """The limited-time offer running for `product`, if any. A page asks for many items (a
    list of cards): the running offers are read once per request, every item's at once."""
    if "running_offers" not in g:
        from app.pricing.offers import running_offers

        g.running_offers = running_offers()
    return g.running_offers.get(product.id)
