import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Creator,
    Entitlement,
    Order,
    OrderStatus,
    Product,
    ProductKind,
    ProductStatus,
    Reader,
)
from app.readers.creators import authenticate
from app.sandbox.models import SandboxUser


def test_create_admin(app, runner):
    result = runner.invoke(
        args=["shop", "create-admin", "--username", "mubai", "--password", "long-enough-pw"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Creator.username)) == "mubai"

    again = runner.invoke(
        args=["shop", "create-admin", "--username", "mubai", "--password", "long-enough-pw"]
    )
    assert again.exit_code != 0 and "已存在" in again.output
    short = runner.invoke(args=["shop", "create-admin", "--username", "x", "--password", "short"])
    assert short.exit_code != 0 and "至少" in short.output


def test_demo_fills_an_empty_shop_once(app, runner, tmp_path):
    result = runner.invoke(args=["shop", "demo"])
    assert result.exit_code == 0, result.output
    assert "用户名 demo" in result.output and "密码" in result.output

    with app.app_context():
        products = db.session.scalars(sa.select(Product)).all()
        assert len(products) >= 10
        assert {p.kind for p in products} == set(ProductKind)
        published = [p for p in products if p.status is ProductStatus.PUBLISHED]
        assert any(p.price_fen == 0 for p in published)
        assert sum(p.price_fen > 0 for p in published) > len(published) / 2
        assert all(990 <= p.price_fen <= 19900 for p in products if p.price_fen)
        for product in products:
            assert (tmp_path / "uploads" / "covers" / product.cover_image).exists()
        readers = db.session.scalars(sa.select(Reader)).all()
        assert len(readers) >= 3
        # Each named demo reader is also a sandbox WeChat user, so you can sign in as them.
        sandbox_openids = set(db.session.scalars(sa.select(SandboxUser.openid)))
        assert {r.openid for r in readers if r.openid} <= sandbox_openids
        # Months of made-up sales: every paid purchase gave its reader access.
        paid = db.session.scalars(
            sa.select(Order).where(Order.kind == "purchase", Order.status == OrderStatus.PAID)
        ).all()
        assert len(paid) > 300
        owned = set(db.session.execute(sa.select(Entitlement.reader_id, Entitlement.product_id)))
        assert all((o.reader_id, o.product_id) in owned for o in paid)

    second = runner.invoke(args=["shop", "demo"])
    assert second.exit_code == 0 and "跳过" in second.output
    assert "用户名 demo" in second.output  # the credentials are shown on every `make run`
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Product.id))) == len(products)


def test_demo_shop_pages_render(app, runner, client):
    runner.invoke(args=["shop", "demo"])
    with app.app_context():
        slugs = db.session.scalars(
            sa.select(Product.slug).where(Product.status == ProductStatus.PUBLISHED)
        ).all()
    assert client.get("/").status_code == 200
    assert client.get("/about").status_code == 200
    for slug in slugs:
        assert client.get(f"/p/{slug}").status_code == 200


def test_reset_password_lets_a_locked_out_creator_back_in_and_ends_every_session(app, runner):
    create = ["shop", "create-admin", "--username", "mubai", "--password", "long-enough-pw"]
    assert runner.invoke(args=create).exit_code == 0
    with app.app_context():
        old_stamp = db.session.scalar(sa.select(Creator)).session_stamp

    reset = ["shop", "reset-password", "--username", "mubai", "--password", "a-brand-new-pw"]
    result = runner.invoke(args=reset)
    assert result.exit_code == 0, result.output
    with app.app_context():
        creator = db.session.scalar(sa.select(Creator))
        assert creator.session_stamp != old_stamp  # sessions opened before load nobody now
        assert authenticate("mubai", "a-brand-new-pw") is creator
        assert authenticate("mubai", "long-enough-pw") is None

    unknown = ["shop", "reset-password", "--username", "nobody", "--password", "a-brand-new-pw"]
    assert "没有用户名为 nobody 的创作者" in runner.invoke(args=unknown).output
    short = ["shop", "reset-password", "--username", "mubai", "--password", "short-pw1"]
    assert "密码至少 10 位" in runner.invoke(args=short).output
