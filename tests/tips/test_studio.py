"""The creator's view of tips: the list, totals by item and period, hiding, settings."""

import re

import sqlalchemy as sa

from app.extensions import db
from app.models import Tip
from app.sandbox.notify import deliver_due_notifications
from tests.payflow import DESKTOP_UA, csrf_token_in, tip_and_pay


def _desktop(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    return client


def _post(studio, path, **form):
    page = studio.get("/studio/settings").get_data(as_text=True)  # any page with a form
    return studio.post(path, data={"csrf_token": csrf_token_in(page), **form})


def _table(page: str, marker: str) -> list[list[str]]:
    table = page[page.index(marker) :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [re.findall(r"<td>(.*?)</td>", row) for row in rows if "<td>" in row]


def test_only_the_creator_sees_tips(app, client):
    assert "/creator/login" in client.get("/studio/tips").location
    assert client.post("/studio/tips/x/message", data={"hidden": "1"}).status_code in (302, 400)


def test_the_creator_sees_every_tip_with_totals(app, studio, article):
    reader = _desktop(app)
    tip_and_pay(app, reader, f"/p/{article}/tip", name="小王", preset_fen="500", message="好文")
    tip_and_pay(app, reader, f"/p/{article}/tip", name="小李", preset_fen="1000", anonymous="1")
    tip_and_pay(app, reader, "/about/tip", name="老张", preset_fen="200")

    page = studio.get("/studio/tips").get_data(as_text=True)
    assert "¥17" in page[page.index("data-tips-total") :][:60]
    assert "好文" in page and "老张" in page
    # Anonymous to the creator too: the name it would have had is not even stored.
    assert "匿名读者" in page and "小李" not in page
    assert _table(page, "data-by-item") == [["写作课", "2", "¥15"], ["作者本人", "1", "¥2"]]
    by_day = _table(page, "data-by-period")
    assert len(by_day) == 1 and by_day[0][1:] == ["3", "¥17"]
    for period in ("week", "month"):
        page = studio.get(f"/studio/tips?period={period}").get_data(as_text=True)
        assert _table(page, "data-by-period")[0][1:] == ["3", "¥17"]


def test_a_refunded_tip_counts_nothing(app, runner, studio, article):
    order = tip_and_pay(app, _desktop(app), f"/p/{article}/tip", preset_fen="1000")
    runner.invoke(args=["orders", "refund", order.out_trade_no, "--amount", "3"])
    deliver_due_notifications(app)
    page = studio.get("/studio/tips").get_data(as_text=True)
    assert _table(page, "data-by-item") == [["写作课", "1", "¥7"]]
    runner.invoke(args=["orders", "refund", order.out_trade_no])
    deliver_due_notifications(app)
    page = studio.get("/studio/tips").get_data(as_text=True)
    assert _table(page, "data-by-item") == [["写作课", "1", "¥0"]]
    assert "is-refunded" in page and "已退款" in page


def test_hiding_a_message_takes_it_off_the_walls(app, studio, article):
    order = tip_and_pay(app, _desktop(app), f"/p/{article}/tip", preset_fen="500", message="广告")
    response = _post(studio, f"/studio/tips/{order.out_trade_no}/message", hidden="1")
    assert response.status_code == 302
    assert "广告" not in app.test_client().get(f"/p/{article}").get_data(as_text=True)
    assert "广告" not in app.test_client().get("/about").get_data(as_text=True)
    assert "恢复显示" in studio.get("/studio/tips").get_data(as_text=True)

    _post(studio, f"/studio/tips/{order.out_trade_no}/message", hidden="0")
    assert "广告" in app.test_client().get(f"/p/{article}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Tip.message_hidden_at)) is None


def test_hiding_needs_a_real_tip(app, studio, article):
    assert _post(studio, "/studio/tips/nope/message", hidden="1").status_code == 404


def test_settings_are_saved_and_checked(app, studio):
    response = _post(
        studio,
        "/studio/tips/settings",
        presets="1, 6.66，20",
        max_yuan="100",
        thanks_note="谢谢你！",
        show_amounts="",
    )
    assert response.status_code == 302 and response.location.endswith(
        "/studio/settings#tip-settings"
    )
    page = studio.get("/studio/settings").get_data(as_text=True)
    assert 'value="1, 6.66, 20"' in page and 'value="100"' in page and "谢谢你！" in page
    tip_form = app.test_client().get("/about/tip").get_data(as_text=True)
    assert "<span>¥6.66</span>" in tip_form and "¥100" in tip_form

    refused = _post(studio, "/studio/tips/settings", presets="5, 200", max_yuan="100")
    assert refused.status_code == 302
    assert "预设金额须在" in studio.get("/studio/settings").get_data(as_text=True)
    bad = _post(studio, "/studio/tips/settings", presets="abc", max_yuan="100")
    assert bad.status_code == 302
    assert "金额有误" in studio.get("/studio/settings").get_data(as_text=True)
