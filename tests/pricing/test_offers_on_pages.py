"""A limited-time offer where readers see prices: item pages, cards, the paywall, the API; and
cached pages that change price when an offer begins or ends, though nothing was edited."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Offer
from app.models.base import utcnow
from app.pricing import offers
from app.sharing.views import _price_label
from tests import factories


def _shop(app, starts_in=timedelta(hours=-1), lasts=timedelta(days=2)):
    with app.app_context():
        item = factories.product(title="写作课", price_fen=9900)
        now = utcnow()
        offers.create(item, 6900, now + starts_in, now + starts_in + lasts)
        db.session.commit()
        return item.slug


def test_the_item_page_shows_the_offer_the_original_price_and_the_time_left(app, client):
    slug = _shop(app)
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert (
        'data-offer>¥69</span><s class="price-was"><span class="visually-hidden">原价</span>¥99'
        in page
    )
    assert "data-offer-banner" in page and "data-offer-ends=" in page
    assert "¥69 购买" in page
    home = client.get("/").get_data(as_text=True)
    assert "data-offer>¥69" in home


def test_the_paywall_asks_the_offer_price(app, client):
    slug = _shop(app)
    page = client.get(f"/p/{slug}/read").get_data(as_text=True)
    assert "¥69 购买《写作课》" in page


def test_the_api_lists_the_running_offer(app, client):
    slug = _shop(app)
    [item] = [i for i in client.get("/api/products").get_json()["items"] if i["slug"] == slug]
    assert item["price_fen"] == 9900 and item["offer"]["price_fen"] == 6900
    assert item["offer"]["ends_at"]


@pytest.mark.parametrize("moment", ["start", "end"])
def test_cached_pages_change_price_when_an_offer_begins_or_ends(app_factory, moment):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=0)
    slug = _shop(app, starts_in=timedelta(hours=1) if moment == "start" else timedelta(hours=-1))
    client = app.test_client()
    before = client.get(f"/p/{slug}").get_data(as_text=True)
    assert client.get(f"/p/{slug}").get_data(as_text=True) == before  # served from the cache
    with app.app_context():  # the clock passes the offer's start (or end): moved, not edited
        db.session.execute(
            sa.update(Offer).values(
                starts_at=utcnow() - timedelta(hours=2),
                ends_at=utcnow()
                + (timedelta(hours=1) if moment == "start" else -timedelta(hours=1)),
            )
        )
        db.session.commit()
    after = client.get(f"/p/{slug}").get_data(as_text=True)
    if moment == "start":
        assert "data-offer>" not in before and "data-offer>¥69" in after
    else:
        assert "data-offer>¥69" in before and "data-offer>" not in after


def test_the_poster_says_what_the_item_costs_today(app_ctx):
    item = factories.product(price_fen=9900)
    db.session.commit()
    assert _price_label(item) == "¥99"
    offers.create(item, 6900, utcnow() - timedelta(hours=1), utcnow() + timedelta(days=1))
    db.session.commit()
    assert _price_label(item) == "限时 ¥69"
    chosen = factories.product(price_fen=3000)
    chosen.pay_what_you_want = True
    assert _price_label(chosen) == "随心付"
    assert _price_label(factories.product(price_fen=0)) == "免费"
