"""The daily bill check kept: stored per day, a banner on every studio page until handled, and a
message to the creator through the 公众号 (the sandbox's, for real)."""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import BillCheck, Order, OrderStatus
from app.payments import bill_checks
from tests.payments.helpers import bought_and_paid, wechat_answers
from tests.payments.test_reconcile import _today
from tests.wechat.messaging import sandbox_got, use_templates, wechat_user, writes


def _lose_the_payment(app, out_trade_no: str) -> None:
    """As if the shop had lost a payment WeChat took: the bill will say so."""
    with app.app_context():
        order = db.session.scalar(sa.select(Order).where(Order.out_trade_no == out_trade_no))
        order.status = OrderStatus.CLOSED
        db.session.commit()


def _check(app, day: str) -> BillCheck:
    with app.app_context():
        check = db.session.get(BillCheck, date.fromisoformat(day))
        db.session.expunge(check)
        return check


def test_yesterday_is_beijings():
    # 2026-12-07 17:00 UTC is already the 8th in Beijing: its yesterday is the 7th.
    assert bill_checks.yesterday(datetime(2026, 12, 7, 17, 0, tzinfo=UTC)) == date(2026, 12, 7)
    assert bill_checks.yesterday(datetime(2026, 12, 7, 15, 0, tzinfo=UTC)) == date(2026, 12, 6)


def test_without_a_date_the_command_checks_yesterday_and_keeps_the_result(app, runner):
    result = runner.invoke(args=["orders", "bill"])
    assert result.exit_code == 0, result.output
    day = bill_checks.yesterday().isoformat()
    assert f"{day} 对账一致" in result.output
    check = _check(app, day)
    assert check.differences == [] and not check.needs_attention


def test_differences_reach_the_creator_as_a_banner_and_a_message(app, runner, studio):
    out_trade_no, _, _ = bought_and_paid(app)
    creator = wechat_user(app, "创作者")
    use_templates(app, creator_openid=creator)
    writes(app, creator)  # within 48 hours: a customer-service message may go
    _lose_the_payment(app, out_trade_no)

    result = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert result.exit_code == 1
    assert "本店订单未支付" in result.output and "通知创作者：已发送" in result.output
    check = _check(app, _today())
    assert check.needs_attention and check.notice == "已发送"
    assert [d["out_trade_no"] for d in check.real_differences] == [out_trade_no]
    (_, body), *_ = [m for m in sandbox_got(app, "custom") if m[1]["touser"] == creator]
    assert f"微信对账 {_today()}：有 1 处差异" in body["text"]["content"]
    assert "/studio/bill" in body["text"]["content"]

    page = studio.get("/studio/orders").get_data(as_text=True)
    assert "bill-alert" in page and "1 处差异" in page
    listing = studio.get("/studio/bill").get_data(as_text=True)
    assert out_trade_no in listing and "本店订单未支付" in listing

    answer = studio.post(f"/studio/bill/{_today()}/handled", data={"csrf_token": _csrf(studio)})
    assert answer.status_code == 302
    assert "bill-alert" not in studio.get("/studio/orders").get_data(as_text=True)
    assert _check(app, _today()).handled_at is not None


def test_a_check_that_finds_the_difference_again_asks_for_attention_again(app, runner, studio):
    out_trade_no, _, _ = bought_and_paid(app)
    _lose_the_payment(app, out_trade_no)
    runner.invoke(args=["orders", "bill", "--date", _today()])
    studio.post(f"/studio/bill/{_today()}/handled", data={"csrf_token": _csrf(studio)})

    again = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert again.exit_code == 1
    assert _check(app, _today()).needs_attention
    assert "bill-alert" in studio.get("/studio/orders").get_data(as_text=True)


def test_without_the_creators_openid_the_banner_alone_tells(app, runner, studio):
    out_trade_no, _, _ = bought_and_paid(app)
    _lose_the_payment(app, out_trade_no)
    result = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert "未设置创作者的 openid" in result.output
    assert "未设置创作者的 openid" in _check(app, _today()).notice
    assert sandbox_got(app, "custom") == []
    assert "bill-alert" in studio.get("/studio/tips").get_data(as_text=True)


def test_a_bill_that_cannot_be_had_is_a_problem_too(app, runner, studio):
    bought_and_paid(app)
    with wechat_answers(app, "pay/downloadbill", status=502, body=b"<html>bad gateway</html>"):
        result = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert result.exit_code == 1
    check = _check(app, _today())
    assert check.error.startswith("下载对账单失败") and check.needs_attention
    assert "对账单下载失败" in studio.get("/studio/orders").get_data(as_text=True)


def test_marking_an_unknown_or_malformed_day_changes_nothing(app, studio):
    token = _csrf(studio)
    assert (
        studio.post("/studio/bill/2026-13-40/handled", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        studio.post("/studio/bill/2026-01-01/handled", data={"csrf_token": token}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BillCheck)) == 0


def test_the_bill_page_is_the_creators_only(client):
    answer = client.get("/studio/bill")
    assert answer.status_code == 302 and "/creator/login" in answer.headers["Location"]


def _csrf(studio) -> str:
    from tests.payflow import csrf_token_in

    return csrf_token_in(studio.get("/studio/bill").get_data(as_text=True))
