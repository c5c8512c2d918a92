"""The share poster: a PNG a reader long-presses in WeChat to save or send on.

Drawn with Pillow on a phone-shaped canvas: the cover, the title, the price, who made it,
who recommends it, and a QR code to scan. Text needs a CJK font (app/catalog/covers.py);
without one the poster keeps the cover, the price and the QR code, which is what a scan needs.
"""

import io
from dataclasses import dataclass
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps

from app.catalog.covers import COVER_SIZE, cjk_font

WIDTH, HEIGHT = 750, 1200  # 2x of a 375 px wide phone screen
MARGIN = 48
QR_SIZE = 240
INK, MUTED, PRICE_RED = (17, 17, 17), (120, 120, 120), (230, 67, 64)


@dataclass(frozen=True)
class PosterContent:
    title: str
    summary: str
    kind_label: str  # 文章, 课程, ...
    price_label: str  # "¥19.90", "限时 ¥9.90" (an offer), "随心付" or "免费"
    byline: str  # the shop and its creator
    recommender: str | None  # the sharer's name, when a reader shares
    qr_payload: str  # what the QR code says: a link, or a 带参数二维码's URL
    qr_caption: str  # what scanning does
    cover_path: Path | None


def draw_poster(content: PosterContent) -> bytes:
    poster = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(poster)
    cover_height = (WIDTH * COVER_SIZE[1]) // COVER_SIZE[0]
    poster.paste(_cover(content.cover_path, (WIDTH, cover_height)), (0, 0))

    y = cover_height + 40
    label_font, title_font, body_font = cjk_font(26), cjk_font(44), cjk_font(28)
    if title_font is not None:
        draw.text((MARGIN, y), content.kind_label, font=label_font, fill=MUTED)
        y += 48
        for line in _wrap(content.title, title_font, WIDTH - 2 * MARGIN)[:3]:
            draw.text((MARGIN, y), line, font=title_font, fill=INK)
            y += 60
        y += 12
    price_font = cjk_font(40) or ImageFont.load_default(40)  # digits and ¥ need no CJK font
    draw.text((MARGIN, y), content.price_label, font=price_font, fill=PRICE_RED)
    if body_font is not None:
        y += 72
        for line in _wrap(content.summary, body_font, WIDTH - 2 * MARGIN)[:3]:
            draw.text((MARGIN, y), line, font=body_font, fill=MUTED)
            y += 42

    qr_top = HEIGHT - MARGIN - QR_SIZE
    draw.line((MARGIN, qr_top - 36, WIDTH - MARGIN, qr_top - 36), fill=(235, 235, 235), width=2)
    poster.paste(_qr(content.qr_payload, QR_SIZE), (WIDTH - MARGIN - QR_SIZE, qr_top))
    if body_font is not None:
        text_width = WIDTH - 3 * MARGIN - QR_SIZE
        lines = [content.recommender and f"{content.recommender} 推荐你读", content.byline]
        ty = qr_top + 20
        for line in filter(None, lines):
            for part in _wrap(line, body_font, text_width)[:2]:
                draw.text((MARGIN, ty), part, font=body_font, fill=INK)
                ty += 42
        ty += 20
        for part in _wrap(content.qr_caption, label_font, text_width)[:2]:
            draw.text((MARGIN, ty), part, font=label_font, fill=MUTED)
            ty += 36

    buffer = io.BytesIO()
    # PNG keeps the QR code's edges sharp; zlib's default level, not optimize=True, which
    # takes 7 times as long (posters are drawn per view) to save 5% of the bytes.
    poster.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def _cover(path: Path | None, size: tuple[int, int]) -> Image.Image:
    if path is not None and path.is_file():
        try:
            with Image.open(path) as image:
                return ImageOps.fit(image.convert("RGB"), size)
        except (OSError, ValueError):
            pass  # an unreadable cover: the poster goes out with a plain band instead
    return Image.new("RGB", size, (7, 193, 96))


def _qr(payload: str, size: int) -> Image.Image:
    # Medium error correction and a full quiet zone: a phone camera reads it off a screenshot.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    return image.resize((size, size), Image.Resampling.NEAREST)


def _wrap(text: str, font, width: int) -> list[str]:
    """Lines of `text` that fit `width` pixels; Chinese wraps between any two characters."""
    lines, line = [], ""
    for char in text:
        if font.getlength(line + char) > width and line:
            lines.append(line)
            line = char.lstrip()
        else:
            line += char
    return [*lines, line] if line else lines
