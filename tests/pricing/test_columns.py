"""专栏: buying a column grants its articles, those written after the purchase included."""

from app.catalog import editing
from app.catalog.editing import SectionFields
from app.extensions import db
from app.models import ProductKind
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone


def test_a_column_bought_once_opens_the_articles_written_after(app):
    with app.app_context():
        column = factories.product(
            ProductKind.COLUMN,
            price_fen=9900,
            sections=[("第一篇", "第一篇的正文", True), ("第二篇", "第二篇的付费正文", False)],
        )
        db.session.commit()
        slug, column_id = column.slug, column.id
    buyer = app.test_client()
    buyer.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    page = buyer.get(f"/p/{slug}/buy").get_data(as_text=True)
    buyer.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page), "price_fen": "9900"})
    pay_on_phone(app, latest_order(app).code_url)
    deliver_due_notifications(app)

    with app.app_context():  # a month later, the creator writes the third article
        editing.add_section(
            db.session.get(factories.Product, column_id),
            SectionFields(title="第三篇", body_md="后来写的付费正文"),
        )
        db.session.commit()

    assert "后来写的付费正文" in buyer.get(f"/p/{slug}/s/3").get_data(as_text=True)
    stranger = app.test_client().get(f"/p/{slug}/s/3")
    assert stranger.status_code == 403 and "后来写的付费正文" not in stranger.get_data(as_text=True)
