"""Recommendations in the shop: built from real orders, shown in their slots, never owned."""

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.catalog import queries
from app.extensions import db
from app.models import ItemRecs, PayChannel, Product, Reader, RecSlotDaily, RecsModel
from app.payments import orders
from app.recommendations import builder
from app.transactions import begin_write
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn


def _bought(reader, *items, when=datetime(2026, 11, 1, 4, tzinfo=UTC)):
    for n, item in enumerate(items):
        begin_write()
        order = orders.place_order(reader, item, PayChannel.JSAPI, "127.0.0.1", timedelta(hours=2))
        orders.confirm_payment(
            order.out_trade_no,
            transaction_id=f"4200{order.id:024d}",
            amount_fen=item.price_fen,
            payer_openid=None,
            paid_at=when + timedelta(minutes=n),
            source="test",
        )
        db.session.commit()


def _shop(app, tmp_path, third_id=None):
    """Two readers bought 写作课 and 剪辑课; a third (or the reader given) bought 写作课 only."""
    with app.app_context():
        writing = factories.product(title="写作课")
        editing = factories.product(title="剪辑课")
        other = factories.product(title="摄影课")
        first, second = (factories.reader(openid=f"oReader{n}") for n in range(2))
        third = db.session.get(Reader, third_id) if third_id else factories.reader()
        db.session.commit()
        _bought(first, writing, editing)
        _bought(second, writing, editing)
        _bought(third, writing)
        builder.rebuild(tmp_path / "cache")
        return {
            "writing": writing.slug,
            "editing": editing.slug,
            "other": other.slug,
        }


def test_the_product_page_shows_what_its_buyers_also_bought(app, tmp_path):
    shop = _shop(app, tmp_path)
    page = app.test_client().get(f"/p/{shop['writing']}").get_data(as_text=True)
    slot = page[page.index('data-slot="also_bought"') :]
    assert "买了这个的读者也买了" in page and "剪辑课" in slot
    assert f"/p/{shop['editing']}?ref=also_bought" in slot
    assert "摄影课" not in slot  # nobody bought it with 写作课


def test_for_you_never_offers_what_the_reader_owns(app, tmp_path):
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    WeChatSignIn(phone).sign_in(nickname="只买了写作课")
    with app.app_context():
        reader_id = db.session.scalar(sa.select(Reader.id).where(Reader.openid.is_not(None)))
    _shop(app, tmp_path, third_id=reader_id)
    home = phone.get("/").get_data(as_text=True)
    slot = home[home.index('data-slot="for_you"') :]
    slot = slot[: slot.index("</section>")]
    assert "为你推荐" in home and "剪辑课" in slot and "写作课" not in slot


def test_strangers_get_what_is_popular(app, tmp_path):
    _shop(app, tmp_path)
    home = app.test_client().get("/").get_data(as_text=True)
    assert 'data-slot="popular"' in home and "大家都在看" in home


def test_after_reading_related_items_follow(app, tmp_path):
    shop = _shop(app, tmp_path)
    with app.app_context():
        free = factories.product(title="写作课的免费导读", price_fen=0, body_md="正文")
        db.session.commit()
        builder.rebuild(tmp_path / "cache")
        slug = free.slug
    page = app.test_client().get(f"/p/{slug}/read").get_data(as_text=True)
    assert 'data-slot="related"' in page and "相关内容" in page
    assert f"/p/{shop['writing']}?ref=related" in page  # the title's words match


def test_rebuilds_wait_for_enough_new_purchases(app, tmp_path):
    _shop(app, tmp_path)
    with app.app_context():
        built_at = db.session.scalar(sa.select(RecsModel.built_at))
        assert builder.rebuild_if_due(tmp_path / "cache") is None
        assert db.session.scalar(sa.select(RecsModel.built_at)) == built_at


def test_an_empty_shop_builds_nothing_and_pages_still_render(app, client, tmp_path):
    with app.app_context():
        built = builder.rebuild(tmp_path / "cache")
        assert built.items == 0 and built.readers == 0
        factories.product(title="新上架")
        db.session.commit()
    assert client.get("/").status_code == 200


def test_flask_recs_rebuild_reports_the_evaluation(app, runner, tmp_path):
    _shop(app, tmp_path)
    result = runner.invoke(args=["recs", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "推荐已更新：3 件内容，3 位读者，5 笔购买" in result.output
    assert "HR@10" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemRecs)) == 3


def _slot_counts(app):
    from app.analytics import counters

    with app.app_context():
        counters.flush()
        rows = db.session.execute(
            sa.select(
                RecSlotDaily.slot, Product.title, RecSlotDaily.impressions, RecSlotDaily.clicks
            ).join(Product, Product.id == RecSlotDaily.product_key)
        ).all()
        return {(slot, title): (shown, clicked) for slot, title, shown, clicked in rows}


def test_impressions_and_clicks_are_counted_cached_pages_too(app_factory, tmp_path):
    app = app_factory(PAGE_CACHE_SIZE=64)
    shop = _shop(app, tmp_path)
    for _ in range(3):  # rendered once, then served from the page cache twice
        app.test_client().get(f"/p/{shop['writing']}")
    app.test_client().get(f"/p/{shop['editing']}?ref=also_bought")
    counts = _slot_counts(app)
    assert counts[("also_bought", "剪辑课")] == (3, 1)


def test_a_purchase_after_a_click_is_credited_to_the_slot(app, tmp_path):
    from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order

    shop = _shop(app, tmp_path)
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    reader.get(f"/p/{shop['editing']}?ref=also_bought")
    page = reader.get(f"/p/{shop['editing']}/buy").get_data(as_text=True)
    reader.post(f"/p/{shop['editing']}/buy", data={"csrf_token": csrf_token_in(page)})
    assert latest_order(app).rec_slot == "also_bought"

    stranger = app.test_client()
    stranger.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    page = stranger.get(f"/p/{shop['other']}/buy").get_data(as_text=True)
    stranger.post(f"/p/{shop['other']}/buy", data={"csrf_token": csrf_token_in(page)})
    assert latest_order(app).rec_slot is None  # came straight to the item


def test_the_studio_shows_what_each_slot_earns(app, studio, tmp_path):
    from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone

    shop = _shop(app, tmp_path)
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    reader.get(f"/p/{shop['writing']}")  # shows 剪辑课 in also_bought
    reader.get(f"/p/{shop['editing']}?ref=also_bought")
    page = reader.get(f"/p/{shop['editing']}/buy").get_data(as_text=True)
    reader.post(f"/p/{shop['editing']}/buy", data={"csrf_token": csrf_token_in(page)})
    pay_on_phone(app, latest_order(app).code_url)
    from app.analytics import counters
    from app.sandbox.notify import deliver_due_notifications

    deliver_due_notifications(app)
    with app.app_context():
        counters.flush()

    html = studio.get("/studio/recs").get_data(as_text=True)
    row = html[html.index('data-slot="also_bought"') :]
    row = row[: row.index("</tr>")]
    cells = [c for c in re.findall(r"<td>(.*?)</td>", row)]
    # Shown twice (剪辑课 on 写作课's page, 写作课 on 剪辑课's), clicked once, one order, paid.
    assert cells[1:] == ["2", "1", "50.0%", "1", "1", "100.0%", "¥9.90"]
    pairs = html[html.index('data-table="pairs"') :]
    assert "写作课" in pairs and "剪辑课" in pairs  # bought together by two readers
    assert "data-coverage" in html


def test_recs_page_before_any_build(studio):
    html = studio.get("/studio/recs").get_data(as_text=True)
    assert "flask recs rebuild" in html


def test_the_web_app_never_loads_the_engine(tmp_path):
    # Pages only look stored lists up; numba, scipy and jieba (about 65 MB a worker) load only in
    # the commands that build them (app.recommendations.builder).
    check = (
        "import sys; from app import create_app; "
        f"create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite://'}}, {str(tmp_path)!r}); "
        "print(sorted({'numba', 'scipy', 'jieba'} & set(sys.modules)))"
    )
    repo = Path(__file__).resolve().parents[2]
    loaded = subprocess.run(
        [sys.executable, "-c", check], cwd=repo, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_a_rebuild_reaches_cached_pages(app_factory, tmp_path):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=0)
    shop = _shop(app, tmp_path)
    product_page = f"/p/{shop['writing']}"
    assert "摄影课" not in app.test_client().get(product_page).get_data(as_text=True)
    with app.app_context():
        writing, other = (queries.find_product(shop[k]) for k in ("writing", "other"))
        for n in range(3):  # 写作课's buyers now buy 摄影课 too
            _bought(factories.reader(openid=f"oLater{n}"), writing, other)
        builder.rebuild(tmp_path / "cache")
    assert "摄影课" in app.test_client().get(product_page).get_data(as_text=True)
