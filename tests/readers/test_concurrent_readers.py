"""A course launch: many signed-in readers at once open lessons, look at the course and buy.

Every reader here has a session, as inside WeChat, so every lesson they open records their
progress. The readers run in threads, each with its own browser (test client), against one
app on a file-backed database (SQLite, or PostgreSQL when the suite runs there): no answer
may be an error, each reader's course page must offer to continue at the lesson they just
opened, and at the end the database holds every reader's last lesson and every paid order
gives access.
"""

import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.extensions import db
from app.models import Entitlement, Order, OrderStatus, ProductKind, ReadingProgress, Section
from app.sandbox.models import SandboxPayNotification
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import path_of, sign_in_as
from tests.payflow import DESKTOP_UA, csrf_token_in

READERS = 20
LESSONS = 6
OPENS_PER_READER = 4
GUEST_BUYERS = 4  # visitors without a session who buy: the shop makes them guests then
PAY_WAIT_SECONDS = 10


@dataclass
class Visit:
    """What one reader's browser saw: every unexpected answer, and what it did last."""

    name: str
    problems: list[str] = field(default_factory=list)
    last_lesson: int | None = None
    out_trade_no: str | None = None

    def expect(self, response, status: int, what: str) -> bool:
        if response.status_code != status:
            title = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True))
            said = title.group(1) if title else response.get_data(as_text=True)[:200]
            self.problems.append(f"{self.name} {what}: {response.status_code} {said}")
            return False
        return True


def _shop(app):
    """A course every reader owns, an article for sale, and the readers; their ids."""
    with app.app_context():
        course = factories.product(
            ProductKind.COURSE,
            title="新课上线",
            sections=[(f"第{i}课", f"第{i}课的正文", i == 1) for i in range(1, LESSONS + 1)],
        )
        article = factories.product(title="上线特价文章", price_fen=990)
        readers = [factories.reader(openid=f"oCrowdReader{i:016d}") for i in range(READERS)]
        for reader in readers:
            factories.give(reader, course)
        db.session.commit()
        return course.slug, article.slug, [reader.id for reader in readers]


def _buy_and_pay(app, client, visit: Visit, slug: str) -> None:
    """Buy on the desktop, pay by scanning with a phone (the sandbox), poll like the pay
    page does until paid, then read the article."""
    confirm = client.get(f"/p/{slug}/buy")
    if not visit.expect(confirm, 200, "confirm page"):
        return
    page = confirm.get_data(as_text=True)
    shown = re.search(r'name="price_fen" value="(\d+)"', page).group(1)
    placed = client.post(
        f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page), "price_fen": shown}
    )
    if not visit.expect(placed, 302, "place order") or "/orders/" not in placed.location:
        visit.problems.append(f"{visit.name} place order: sent to {placed.location}")
        return
    visit.out_trade_no = placed.location.rsplit("/", 1)[1]
    pay_page = client.get(path_of(placed.location))
    if not visit.expect(pay_page, 200, "pay page"):
        return
    code_url = re.search(r"(/sandbox/pay/scan/[^\"'<\s&]+)", pay_page.get_data(as_text=True))
    if code_url is None:
        visit.problems.append(f"{visit.name} pay page: no QR code link")
        return

    phone = app.test_client()
    cashier = phone.get(code_url.group(1))
    if not visit.expect(cashier, 200, "cashier"):
        return
    paid = phone.post(
        code_url.group(1),
        data={
            "csrf_token": csrf_token_in(cashier.get_data(as_text=True)),
            "decision": "pay",
            "new_nickname": f"{visit.name}的手机",
        },
    )
    if not visit.expect(paid, 200, "pay at the cashier"):
        return
    # The pay page polls until the order is paid: by WeChat's notification (delivered by
    # whichever reader's thread finds it due) or by the shop's own query.
    deadline = time.monotonic() + PAY_WAIT_SECONDS
    while True:
        deliver_due_notifications(app)
        status = client.get(f"/orders/{visit.out_trade_no}/status")
        if not visit.expect(status, 200, "order status"):
            return
        if status.get_json()["status"] == "paid":
            break
        if time.monotonic() > deadline:
            visit.problems.append(f"{visit.name} order: {status.get_json()['status']}")
            return
        time.sleep(0.05)
    article = client.get(f"/p/{slug}/read")
    if visit.expect(article, 200, "read the article") and factories.PAID_SECRET not in (
        article.get_data(as_text=True)
    ):
        visit.problems.append(f"{visit.name} read the article: no paid text")


def _reader(app, client, visit, course, article, seed, start) -> Visit:
    rng = random.Random(seed)
    steps = ["lesson"] * OPENS_PER_READER + ["article", "buy"]
    rng.shuffle(steps)
    start.wait()
    for step in steps:
        if step == "lesson":
            position = rng.randint(1, LESSONS)
            if visit.expect(client.get(f"/p/{course}/s/{position}"), 200, f"lesson {position}"):
                visit.last_lesson = position
            # Back to the course: it offers to continue where the reader just was.
            back = client.get(f"/p/{course}")
            if visit.expect(back, 200, "course page") and (
                f"继续学习：第{visit.last_lesson}课" not in back.get_data(as_text=True)
            ):
                visit.problems.append(
                    f"{visit.name} course page: does not continue at lesson {visit.last_lesson}"
                )
        elif step == "article":
            visit.expect(client.get(f"/p/{article}"), 200, "article page")
        else:
            _buy_and_pay(app, client, visit, article)
    return visit


def _guest_buyer(app, client, visit, article, start) -> Visit:
    start.wait()
    visit.expect(client.get(f"/p/{article}"), 200, "article page")
    _buy_and_pay(app, client, visit, article)
    return visit


def _run(app, course, article, reader_ids) -> list[Visit]:
    start = threading.Barrier(READERS + GUEST_BUYERS)
    with ThreadPoolExecutor(max_workers=READERS + GUEST_BUYERS) as pool:
        running = []
        for number, reader_id in enumerate(reader_ids):
            client = app.test_client()
            client.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
            sign_in_as(app, client, reader_id)
            visit = Visit(f"reader {reader_id}")
            running.append(pool.submit(_reader, app, client, visit, course, article, number, start))
        for number in range(GUEST_BUYERS):
            client = app.test_client()
            client.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
            visit = Visit(f"guest buyer {number}")
            running.append(pool.submit(_guest_buyer, app, client, visit, article, start))
        return [future.result(timeout=60) for future in running]


def test_a_course_launch_answers_every_reader(app_factory):
    # Every browser here is a thread of one process, and a purchase holds a second connection
    # while the in-process sandbox answers: a pool for all of them at once (a sync worker
    # serves one request at a time and needs two).
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2 * (READERS + GUEST_BUYERS)})
    course, article, reader_ids = _shop(app)
    visits = _run(app, course, article, reader_ids)

    problems = [problem for visit in visits for problem in visit.problems]
    assert problems == [], "\n".join(problems)

    with app.app_context():
        course_id = db.session.scalar(sa.select(Section.product_id).where(Section.title == "第1课"))
        saved = dict(
            db.session.execute(
                sa.select(ReadingProgress.reader_id, Section.position)
                .join(Section, Section.id == ReadingProgress.section_id)
                .where(ReadingProgress.product_id == course_id)
            ).all()
        )
        opened = {
            reader_id: visit.last_lesson
            for reader_id, visit in zip(reader_ids, visits[:READERS], strict=True)
        }
        assert saved == opened  # every reader's last lesson, nobody else's

        paid = [visit.out_trade_no for visit in visits]
        assert None not in paid and len(set(paid)) == READERS + GUEST_BUYERS
        orders = db.session.scalars(sa.select(Order).where(Order.out_trade_no.in_(paid))).all()
        assert {order.status for order in orders} == {OrderStatus.PAID}
        for order in orders:
            granted = db.session.scalar(
                sa.select(Entitlement).where(
                    Entitlement.reader_id == order.reader_id,
                    Entitlement.product_id == order.product_id,
                )
            )
            assert granted is not None, order.out_trade_no

    # WeChat's requests were answered too: each payment notification at its first attempt.
    deliver_due_notifications(app)
    with app.app_context():
        notified = db.session.execute(
            sa.select(SandboxPayNotification.attempts, SandboxPayNotification.delivered_at)
        ).all()
    assert len(notified) == READERS + GUEST_BUYERS
    assert all(attempts == 1 and delivered for attempts, delivered in notified), notified
