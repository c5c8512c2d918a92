"""Covers in WebP at the sizes cards and pages show: made on upload, by the backfill command,
or on the first request for one; offered in srcset by every cover <img>."""

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from app.catalog import cover_uploads, cover_variants, covers, editing, queries
from app.catalog.editing import ProductFields
from app.extensions import db
from app.models import Product, ProductKind
from tests import factories
from tests.conftest import sign_in_as

SIZES = {240: (240, 135), 360: (360, 203), 720: (720, 405)}


def _picture(size=(1600, 1200), color="#1d4ed8") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def _assert_variants(folder: Path, cover_name: str) -> None:
    assert tuple(SIZES) == cover_variants.VARIANT_WIDTHS
    for width, size in SIZES.items():
        with Image.open(folder / cover_variants.variant_name(cover_name, width)) as variant:
            assert variant.format == "WEBP" and variant.size == size


def _covers(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"]) / "covers"


def test_variant_names_follow_the_stored_name():
    assert cover_variants.variant_name("slug-1a2b3c4d5e.jpg", 360) == "slug-1a2b3c4d5e-360.webp"
    assert cover_variants.variant_names("a-0123456789.png") == [
        "a-0123456789-240.webp",
        "a-0123456789-360.webp",
        "a-0123456789-720.webp",
    ]


def test_an_uploaded_cover_gets_its_webp_sizes(app, app_ctx):
    uploads = Path(app.config["UPLOAD_FOLDER"])
    product = editing.create_product(
        ProductKind.ARTICLE,
        ProductFields(title="写作课", price_yuan="9.9"),
        uploads,
        _picture(),
    )
    _assert_variants(uploads / "covers", product.cover_image)
    # Smaller than the JPEG they stand in for.
    jpeg = (uploads / "covers" / product.cover_image).stat().st_size
    webp = (uploads / "covers" / cover_variants.variant_name(product.cover_image, 720)).stat()
    assert webp.st_size < jpeg


def test_a_drawn_cover_and_a_demo_cover_get_them_too(app, app_ctx, tmp_path):
    drawn = cover_uploads.store_drawn_cover(tmp_path, "drawn", "标题", "图文")
    _assert_variants(tmp_path, drawn)
    demo = covers.save_cover(
        tmp_path, "demo", covers.draw_cover("标题", "课程", ("#0f766e", "#5eead4"))
    )
    assert demo.endswith(".png")
    _assert_variants(tmp_path, demo)


def test_removing_a_cover_removes_its_sizes(tmp_path):
    name = cover_uploads.store_cover(tmp_path, "gone", Image.new("RGB", (800, 450), "red"))
    assert len(list(tmp_path.iterdir())) == 5  # cover, thumbnail, three sizes
    cover_uploads.remove_cover(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def _old_cover(app) -> str:
    """A cover stored before sizes existed: the file alone, on a product."""
    with app.app_context():
        folder = _covers(app)
        name = covers.save_cover(
            folder, "old", covers.draw_cover("旧封面", "图文", ("#111111", "#999999"))
        )
        for variant in cover_variants.variant_names(name):
            (folder / variant).unlink()
        item = factories.product(title="旧商品")
        item.cover_image = name
        db.session.commit()
        return name


def test_the_backfill_command_makes_what_is_missing_once(app, runner):
    name = _old_cover(app)
    folder = _covers(app)
    (folder / cover_variants.variant_name(name, 360)).write_bytes(b"kept as it is")

    result = runner.invoke(args=["shop", "covers"])
    assert result.exit_code == 0, result.output
    assert "新生成 2 个" in result.output
    assert (folder / cover_variants.variant_name(name, 360)).read_bytes() == b"kept as it is"
    for width in (240, 720):
        with Image.open(folder / cover_variants.variant_name(name, width)) as variant:
            assert variant.size == SIZES[width]

    again = runner.invoke(args=["shop", "covers"])
    assert again.exit_code == 0 and "新生成 0 个" in again.output and "1 张已齐全" in again.output


def test_the_backfill_says_which_cover_files_are_gone(app, runner):
    name = _old_cover(app)
    (_covers(app) / name).unlink()
    result = runner.invoke(args=["shop", "covers"])
    assert result.exit_code == 1 and name in result.output


def test_a_missing_size_is_made_on_its_first_request(app, client):
    name = _old_cover(app)
    url = f"/media/covers/{cover_variants.variant_name(name, 360)}"
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/webp"
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        with Image.open(io.BytesIO(response.get_data())) as variant:
            assert variant.format == "WEBP" and variant.size == (360, 203)
    assert (_covers(app) / cover_variants.variant_name(name, 360)).is_file()
    assert not any(p.name.endswith(".part") for p in _covers(app).iterdir())


@pytest.mark.parametrize(
    "requested",
    [
        "old-{hash}-999.webp",  # a width that is not offered
        "nothing-0123456789-360.webp",  # no such cover
        "..%2F{hash}-360.webp",
        ".hidden-360.webp",
    ],
)
def test_only_sizes_of_stored_covers_are_made(app, client, requested):
    name = _old_cover(app)
    stem_hash = name.removeprefix("old-").removesuffix(".png")
    assert client.get(f"/media/covers/{requested.format(hash=stem_hash)}").status_code == 404
    assert sorted(p.name for p in _covers(app).iterdir()) == [name]


def test_no_sizes_of_a_thumbnail(app, client):
    folder = _covers(app)
    name = cover_uploads.store_cover(folder, "thumbed", Image.new("RGB", (800, 450), "red"))
    before = sorted(p.name for p in folder.iterdir())
    thumb = Path(cover_uploads.thumbnail_name(name)).stem
    assert client.get(f"/media/covers/{thumb}-360.webp").status_code == 404
    assert sorted(p.name for p in folder.iterdir()) == before


def _srcsets(page: str) -> list[dict[str, str]]:
    images = []
    for tag in re.findall(r"<img [^>]*>", page):
        attributes = dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))
        if "/media/covers/" in attributes.get("src", ""):
            images.append(attributes)
    return images


def test_cover_images_offer_their_webp_sizes(app, client):
    with app.app_context():
        queries.shop_profile()
        folder = _covers(app)
        items = []
        for n in range(3):
            item = factories.product(title=f"第 {n} 课")
            item.cover_image = covers.save_cover(
                folder, item.slug, covers.draw_cover(item.title, "图文", ("#111111", "#999999"))
            )
            items.append(item)
        reader = factories.reader()
        factories.give(reader, items[0])
        db.session.commit()
        slug, reader_id = items[0].slug, reader.id
        cover = items[0].cover_image

    home = _srcsets(client.get("/").get_data(as_text=True))
    assert len(home) == 3
    for image in home:
        assert re.fullmatch(
            r"/media/covers/\S+-240\.webp 240w, /media/covers/\S+-360\.webp 360w, "
            r"/media/covers/\S+-720\.webp 720w",
            image["srcset"],
        )
        assert image["sizes"].endswith("128px")  # a phone's card
        assert (image["width"], image["height"]) == ("720", "405")
        assert image["loading"] == "lazy" and image["decoding"] == "async"

    (page_cover,) = _srcsets(client.get(f"/p/{slug}").get_data(as_text=True))
    assert f"/media/covers/{Path(cover).stem}-720.webp 720w" in page_cover["srcset"]
    assert page_cover["sizes"] == "(min-width: 792px) 760px, calc(100vw - 32px)"
    assert "loading" not in page_cover and page_cover["fetchpriority"] == "high"

    # Every size the page offers is there to fetch.
    for candidate in page_cover["srcset"].split(", "):
        with client.get(candidate.split()[0]) as response:
            assert response.status_code == 200 and response.mimetype == "image/webp"

    sign_in_as(app, client, reader_id)
    (owned,) = _srcsets(client.get("/library").get_data(as_text=True))
    assert owned["sizes"] == "112px" and "240w" in owned["srcset"]


def test_the_placeholder_has_no_srcset(app, client):
    with app.app_context():
        queries.shop_profile()
        factories.product(title="没有封面")
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    (tag,) = [t for t in re.findall(r"<img [^>]*>", page) if "card-cover" in t]
    assert "cover-placeholder.svg" in tag and "srcset" not in tag


def test_the_og_image_stays_the_stored_cover(app, client):
    with app.app_context():
        item = factories.product(title="分享")
        item.cover_image = "x-0123456789.jpg"
        db.session.commit()
        slug = item.slug
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert re.search(r'og:image" content="http://[^"]+/media/covers/x-0123456789\.jpg"', page)


def test_every_product_cover_name_is_listed(app, app_ctx):
    factories.product(title="无封面")
    with_cover = factories.product(title="有封面")
    with_cover.cover_image = "y-0123456789.jpg"
    db.session.flush()
    assert queries.cover_names() == ["y-0123456789.jpg"]
    assert db.session.get(Product, with_cover.id).cover_image == "y-0123456789.jpg"
