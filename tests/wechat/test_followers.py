"""What the callback's messages and events tell the shop of who follows the 公众号 and who is
within WeChat's 48-hour window; the answers followers get stay as they were."""

from datetime import timedelta

import sqlalchemy as sa
import xmltodict

from app.extensions import db
from app.models import WeChatFollower
from app.models.base import utcnow
from app.wechat import followers
from tests.wechat.messaging import callback

FOLLOWER = "oFollower0000000000000000001"


def _known(app) -> WeChatFollower | None:
    with app.app_context():
        row = db.session.get(WeChatFollower, FOLLOWER)
        if row is not None:
            db.session.expunge(row)
        return row


def test_following_is_remembered_and_opens_the_window(app):
    answer = callback(app, FOLLOWER, event="subscribe")
    assert "欢迎关注" in xmltodict.parse(answer.get_data(as_text=True))["xml"]["Content"]
    row = _known(app)
    assert row.subscribed is True and utcnow() - row.last_interaction_at < timedelta(seconds=5)
    with app.app_context():
        state = followers.state(FOLLOWER)
    assert state.subscribed and state.in_window(utcnow())
    assert not state.in_window(utcnow() + followers.WINDOW)


def test_unfollowing_is_remembered_and_closes_the_window(app):
    callback(app, FOLLOWER, event="subscribe")
    callback(app, FOLLOWER, event="unsubscribe")
    row = _known(app)
    assert row.subscribed is False and row.last_interaction_at is None


def test_a_message_and_a_menu_click_open_the_window_without_saying_who_follows(app):
    callback(app, FOLLOWER, text="写作")
    row = _known(app)
    assert row.subscribed is None and row.last_interaction_at is not None
    with app.app_context():
        db.session.execute(
            sa.update(WeChatFollower).values(last_interaction_at=utcnow() - timedelta(days=3))
        )
        db.session.commit()
    callback(app, FOLLOWER, event="CLICK")
    assert utcnow() - _known(app).last_interaction_at < timedelta(seconds=5)


def test_opening_a_menu_link_does_not_open_the_window(app):
    callback(app, FOLLOWER, event="VIEW")
    assert _known(app) is None


def test_the_users_who_wrote_last_come_first(app):
    callback(app, "oEarlier000000000000000000001", text="一")
    callback(app, FOLLOWER, text="二")
    with app.app_context():
        assert [f.openid for f in followers.recent()] == [
            FOLLOWER,
            "oEarlier000000000000000000001",
        ]
