"""Fixtures the web tests share."""

import pytest

from app.extensions import db
from tests import factories


@pytest.fixture
def article(app):
    """A published paid article, ¥19.90, titled 写作课; its slug."""
    with app.app_context():
        item = factories.product(title="写作课", price_fen=1990)
        db.session.commit()
        return item.slug


@pytest.fixture
def studio(app):
    """A client logged in as the shop's creator."""
    import re

    from app.readers.creators import create_creator

    with app.app_context():
        create_creator("creator", "correct horse battery")
        db.session.commit()
    client = app.test_client()
    page = client.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/creator/login",
        data={"username": "creator", "password": "correct horse battery", "csrf_token": token},
    )
    return client
