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
