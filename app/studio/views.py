import sqlalchemy as sa
from flask import render_template
from flask_login import login_required

from app.extensions import db
from app.models import Entitlement, Product, ProductStatus, Reader
from app.studio import bp


@bp.before_request
@login_required
def require_creator():
    """Every studio page is the creator's only."""


@bp.get("/")
def index():
    def count(query) -> int:
        return db.session.scalar(query) or 0

    figures = {
        "published": count(
            sa.select(sa.func.count(Product.id)).where(Product.status == ProductStatus.PUBLISHED)
        ),
        "drafts": count(
            sa.select(sa.func.count(Product.id)).where(Product.status == ProductStatus.DRAFT)
        ),
        "readers": count(sa.select(sa.func.count(Reader.id))),
        "entitlements": count(sa.select(sa.func.count(Entitlement.id))),
    }
    return render_template("studio/index.html", figures=figures)
