"""营销 in the studio and `flask shop coupon create`: what a creator types becomes offers and
coupons, refused with a reason when it cannot."""

import csv
import io
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Coupon, CouponKind, Offer
from app.models.base import utcnow
from app.pricing import coupons, drafts
from app.pricing.refusals import PromotionInvalid
from tests import factories
from tests.payflow import csrf_token_in


@pytest.fixture
def item(app):
    with app.app_context():
        product = factories.product(title="写作课", price_fen=9900)
        db.session.commit()
        return product.id, product.slug


def _post(studio, path, **form):
    token = csrf_token_in(studio.get("/studio/promotions").get_data(as_text=True))
    return studio.post(path, data={"csrf_token": token, **form}, follow_redirects=True)


def test_the_creator_sets_an_offer_and_readers_see_it(app, studio, item, client):
    product_id, slug = item
    page = _post(
        studio,
        "/studio/promotions/offers",
        product_id=str(product_id),
        price="69",
        ends_at="2099-01-01T00:00",
    ).get_data(as_text=True)
    assert "已为《写作课》设置限时优惠" in page and "进行中" in page
    confirm = client.get(f"/p/{slug}/buy").get_data(as_text=True)
    assert 'name="price_fen" value="6900"' in confirm

    with app.app_context():
        offer_id = db.session.query(Offer.id).scalar()
    page = _post(studio, f"/studio/promotions/offers/{offer_id}/end").get_data(as_text=True)
    assert "限时优惠已结束" in page
    assert 'name="price_fen" value="9900"' in client.get(f"/p/{slug}/buy").get_data(as_text=True)


def test_an_offer_that_cannot_be_is_refused_with_its_reason(studio, item):
    product_id, _ = item
    page = _post(
        studio,
        "/studio/promotions/offers",
        product_id=str(product_id),
        price="120",
        ends_at="2099-01-01T00:00",
    ).get_data(as_text=True)
    assert "优惠价须低于原价" in page


def test_the_creator_makes_coupons_and_downloads_them(app, studio, item):
    product_id, _ = item
    page = _post(
        studio,
        "/studio/promotions/coupons",
        name="老读者",
        kind="percent",
        zhe="8.5",
        code="oldfriend",
        product_ids=str(product_id),
        total_limit="100",
        per_reader_limit="1",
        count="1",
    ).get_data(as_text=True)
    assert "已创建优惠码 OLDFRIEND" in page and "8.5 折" in page
    page = _post(
        studio, "/studio/promotions/coupons", kind="amount", amount="5", count="20"
    ).get_data(as_text=True)
    assert "已生成 20 个优惠码" in page
    with app.app_context():
        made = coupons.find("OLDFRIEND")
        assert made.percent_off == 15 and [p.id for p in made.products] == [product_id]
        assert db.session.query(Coupon).count() == 21

    download = studio.get("/studio/promotions/coupons.csv")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "优惠码" and len(rows) == 22

    page = _post(studio, f"/studio/promotions/coupons/{made.id}/disable").get_data(as_text=True)
    assert "已停用" in page
    assert re.search(r'data-coupon="OLDFRIEND">.*?停用</td>', page, re.S)


def test_a_coupon_that_cannot_be_is_refused_with_its_reason(app, studio):
    page = _post(
        studio, "/studio/promotions/coupons", kind="percent", zhe="12", count="1"
    ).get_data(as_text=True)
    assert "优惠券没有创建" in page and "0 到 9.9" in page
    with app.app_context():
        assert db.session.query(Coupon).count() == 0


def test_creator_input_is_read_as_the_shop_reads_it():
    assert drafts.zhe_to_percent_off("8") == 20
    assert drafts.zhe_to_percent_off("8.8折") == 12
    assert drafts.zhe_to_percent_off("0") == 100
    for bad in ("10", "-1", "8.55", "八"):
        with pytest.raises(PromotionInvalid):
            drafts.zhe_to_percent_off(bad)
    moment = drafts.local_time("2026-12-08 10:00", "Asia/Shanghai", "开始时间")
    assert moment.isoformat() == "2026-12-08T02:00:00+00:00"
    with pytest.raises(PromotionInvalid, match="开始时间"):
        drafts.local_time("明天", "Asia/Shanghai", "开始时间")


def test_coupons_from_the_shell(app, runner, item):
    _, slug = item
    result = runner.invoke(
        args=["shop", "coupon", "create", "--amount", "10", "--item", slug, "--count", "3"]
    )
    assert result.exit_code == 0, result.output
    codes = [line for line in result.stdout.splitlines() if re.fullmatch(r"[A-Z0-9]{8}", line)]
    assert len(codes) == 3
    with app.app_context():
        assert all(coupons.find(code).amount_off_fen == 1000 for code in codes)

    named = runner.invoke(
        args=["shop", "coupon", "create", "--zhe", "9", "--code", "NINE", "--ends", "2099-01-01"]
    )
    assert named.exit_code == 0 and "NINE" in named.stdout
    with app.app_context():
        nine = coupons.find("NINE")
        assert nine.kind is CouponKind.PERCENT and nine.percent_off == 10
        assert nine.ends_at > utcnow() + timedelta(days=3000)

    for args, message in [
        (["--amount", "1", "--zhe", "8"], "之一"),
        (["--amount", "1", "--item", "no-such"], "没有商品"),
        (["--amount", "abc"], "立减金额"),
    ]:
        refused = runner.invoke(args=["shop", "coupon", "create", *args])
        assert refused.exit_code == 1 and message in refused.output
