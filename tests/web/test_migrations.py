"""The committed migrations build exactly the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.models import Order, OrderStatus, PayChannel, PaymentEvent
from app.models.base import render_migration_item, utcnow
from tests import factories

# Before tips: upgrading from here rebuilds `orders`, which payment events and access point at.
BEFORE_TIPS = "46b64b0ab0b4"


def _drop_everything():
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def test_migrations_match_the_models(app):
    with app.app_context():
        _drop_everything()
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "render_as_batch": True,
                    "render_item": render_migration_item,
                },
            )
            assert compare_metadata(context, db.metadata) == []


def test_migrations_downgrade_cleanly(app):
    with app.app_context():
        _drop_everything()
        upgrade()
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()


def test_a_shop_with_paid_orders_goes_down_and_up_again_with_every_row(app):
    with app.app_context():
        _drop_everything()
        upgrade()
        buyer, item = factories.reader(), factories.product()
        order = Order(
            out_trade_no="T1",
            reader=buyer,
            product=item,
            title=item.title,
            amount_fen=990,
            channel=PayChannel.JSAPI,
            status=OrderStatus.PAID,
            client_ip="127.0.0.1",
            expires_at=utcnow(),
            paid_at=utcnow(),
        )
        db.session.add_all([order, PaymentEvent(order=order, kind="notify", detail={})])
        factories.give(buyer, item)
        db.session.execute(
            sa.text("UPDATE entitlements SET order_id = :order"), {"order": order.id}
        )
        db.session.commit()
        counted = "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM payment_events)"

        downgrade(revision=BEFORE_TIPS)
        upgrade()

        with db.engine.connect() as connection:
            assert tuple(connection.execute(sa.text(counted)).one()) == (1, 1)
            owned = "SELECT order_id FROM entitlements"
            assert connection.execute(sa.text(owned)).scalar_one() == order.id
            if connection.dialect.name == "sqlite":  # enforcement is back on after the run
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


# Before readers chose their own name: WeChat's placeholder was stored as if it were one.
BEFORE_CHOSEN_NAMES = "eda02589c3c8"
GREY_AVATAR = (
    "https://thirdwx.qlogo.cn/mmopen/vi_32/"
    "POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"
)


def test_wechat_placeholders_stored_before_are_no_longer_names(app):
    with app.app_context():
        _drop_everything()
        upgrade(revision=BEFORE_CHOSEN_NAMES)
        insert = sa.text(
            "INSERT INTO readers (openid, nickname, avatar_url, created_at)"
            " VALUES (:openid, :nickname, :avatar, :now)"
        )
        with db.engine.begin() as connection:
            for openid, nickname, avatar in (
                ("o-placeholder", "微信用户", GREY_AVATAR),
                ("o-real", "小红", "https://thirdwx.qlogo.cn/mmopen/vi_32/RealPicture/132"),
            ):
                connection.execute(
                    insert,
                    {"openid": openid, "nickname": nickname, "avatar": avatar, "now": utcnow()},
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT openid, nickname, avatar_url FROM readers ORDER BY openid")
            ).all()
    assert [tuple(row) for row in rows] == [
        ("o-placeholder", None, None),
        ("o-real", "小红", "https://thirdwx.qlogo.cn/mmopen/vi_32/RealPicture/132"),
    ]
