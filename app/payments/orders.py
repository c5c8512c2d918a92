"""The order state machine: the one place an order or a refund changes state.

Purchases and tips (赞赏) are both orders and move the same way; only a paid purchase
grants access, and a tip's payment or refund refreshes the supporter walls instead.

    pending -> paid -> partially_refunded -> refunded
    pending -> closed (expired, cancelled, replaced, repriced, merged)
    closed  -> paid   (WeChat took the money after we closed it: honour it, and log it)

A refund is recorded processing before WeChat is asked, and WeChat's verdict settles it:

    processing -> success | closed | change
    processing -> failed  (WeChat definitely refused it)
    failed, change -> success  (WeChat says it was refunded after all: the money is gone)

Every transition is a compare-and-set UPDATE ... WHERE status IN (...) whose row count says
whether this caller won; the loser of a race sees 0 rows and answers like a duplicate. That,
with unique out_trade_no / transaction_id / (reader, product) constraints, makes
fulfilment happen once however many notifications arrive at once, on SQLite and PostgreSQL.
Services add and flush; the caller commits once.
"""

import logging
import secrets
import string
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.catalog import entitlements, queries
from app.extensions import db
from app.models import (
    HOLDS_MONEY,
    Entitlement,
    Order,
    OrderKind,
    OrderStatus,
    PayChannel,
    PaymentEvent,
    PaymentEventKind,
    Product,
    Reader,
    Refund,
    RefundStatus,
)
from app.models.base import insert_or_ignore, utcnow
from app.money import format_fen
from app.payments import event_log
from app.payments.attribution import DIRECT, Attribution
from app.pricing import coupons, gifts, memberships, points, rule
from app.wechat import outbox

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
_PAYABLE = (OrderStatus.PENDING, OrderStatus.CLOSED)
# WeChat's word that money went back outweighs what the shop last believed: a refund marked
# failed (or in 退款异常) that WeChat later reports refunded is applied, once.
_REFUND_SUCCEEDS_FROM = (RefundStatus.PROCESSING, RefundStatus.FAILED, RefundStatus.CHANGE)
# The reason shown for a refund the merchant made in 商户平台 or 商家助手, not in the shop.
OUTSIDE_REFUND_REASON = "商户平台退款"


class OrderError(Exception):
    """A refused transition. `code` is for logs and the API; `message` is for people."""

    code = "order_error"
    message = "订单无法处理"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        if message:
            self.message = message


class NotForSale(OrderError):
    code = "not_for_sale"
    message = "这件商品现在不能购买"


class PriceChanged(OrderError):
    code = "price_changed"
    message = "价格刚刚调整了，请确认新的价格后再支付"


class AlreadyOwned(OrderError):
    code = "already_owned"
    message = "你已经购买过了"


class UnknownOrder(OrderError):
    code = "unknown_order"
    message = "订单不存在"


class AmountMismatch(OrderError):
    code = "amount_mismatch"
    message = "支付金额与订单金额不符"


class RefundNotAllowed(OrderError):
    code = "refund_not_allowed"
    message = "这笔订单不能这样退款"


def new_out_trade_no(now: datetime) -> str:
    """32 chars: Beijing time to the second (sortable, readable) + 18 random alphanumerics."""
    stamp = now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d%H%M%S")
    return stamp + "".join(secrets.choice(_ALPHABET) for _ in range(18))


def new_out_refund_no(now: datetime) -> str:
    return "R" + new_out_trade_no(now)[:31]


def record_event(order: Order | None, kind: PaymentEventKind, **detail) -> None:
    if order is None:
        _insert_event(None, kind, **detail)
    else:
        _insert_event(order.id, kind, out_trade_no=order.out_trade_no, **detail)


def _jsonable(detail: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in detail.items()}


def find(out_trade_no: str, *, for_update: bool = False) -> Order | None:
    query = sa.select(Order).where(Order.out_trade_no == out_trade_no)
    if for_update:
        query = query.with_for_update()  # PostgreSQL; SQLite's BEGIN IMMEDIATE did it already
    return db.session.scalar(query)


def for_reader(reader: Reader) -> list[Order]:
    return list(
        db.session.scalars(
            sa.select(Order)
            .where(Order.reader_id == reader.id)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(100)
        )
    )


def _set_status(order: Order, allowed_from, **values) -> bool:
    """Compare-and-set: move the order only if it is still in one of `allowed_from`."""
    result = db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.status.in_(allowed_from))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        db.session.refresh(order)
    return bool(result.rowcount)


# --- placing orders -----------------------------------------------------------------------------


def place_order(
    reader: Reader,
    product: Product,
    channel: PayChannel,
    client_ip: str,
    ttl: timedelta,
    now: datetime | None = None,
    rec_slot: str | None = None,
    attribution: Attribution = DIRECT,
    coupon_code: str | None = None,
    chosen_fen: int | None = None,
    points_wanted: int = 0,
    expected_total_fen: int | None = None,
    as_gift: bool = False,
) -> Order:
    """The reader's open order for this product, or a new one, at the price the price rule
    gives now (app/pricing/rule.py) with the coupon typed and up to `points_wanted` points,
    or for a 随心付 item the amount chosen (`chosen_fen`; None: the suggested one).
    `as_gift`: bought for a friend (请朋友读): paying it makes a gift link, and the reader
    may own the item already. `expected_total_fen`: what the
    reader was shown; a price that changed meanwhile is PriceChanged, a coupon that no
    longer applies CouponRefused. `rec_slot` is the recommendation slot the reader came
    from, credited if this order is paid; `attribution` what brought the reader (kept
    from the first attempt when the open order is reused).

    A double click or a back-button resubmit finds the open order instead of making a
    second. An order that no longer fits (see `replacement_reason`) is closed here and
    replaced: WeChat refuses a second prepay with different parameters. A price of 0 (a
    coupon for all of it) is an order paid at once, never sent to WeChat.
    """
    now = now or utcnow()
    if not product.is_published or product.is_free or (as_gift and product.is_membership):
        raise NotForSale()
    if not as_gift and entitlements.owns(entitlements.Viewer(reader=reader), product):
        raise AlreadyOwned()
    price = rule.quote(
        product,
        reader.id,
        coupon_code=coupon_code,
        amount_fen=chosen_fen,
        points=points_wanted,
        now=now,
    )
    check_price_shown(price, expected_total_fen)

    existing = open_order(reader, product, as_gift=as_gift)
    if existing is not None:
        reason = replacement_reason(existing, price, channel, now)
        if reason is None:
            return existing
        close(existing, reason)

    free = price.total_fen == 0
    order = Order(
        out_trade_no=new_out_trade_no(now),
        reader_id=reader.id,
        product_id=product.id,
        title=product.title,
        amount_fen=price.total_fen,
        list_price_fen=price.list_price_fen,
        price_lines=price.snapshot(),
        coupon_id=price.coupon.id if price.coupon else None,
        points_spent=price.points,
        channel=PayChannel.NONE if free else channel,
        client_ip=client_ip,
        created_at=now,
        expires_at=now + ttl,
        rec_slot=rec_slot,
        source=attribution.source,
        sharer_id=attribution.sharer_id,
        is_gift=as_gift,
    )
    try:
        with db.session.begin_nested():
            db.session.add(order)
    except IntegrityError:
        # A concurrent click made the open order first (PostgreSQL; on SQLite begin_write
        # already serialised the two): the database's one-open-order index decided.
        return open_order(reader, product)
    if price.coupon is not None:
        coupons.reserve(
            price.coupon,
            product,
            reader.id,
            order.id,
            rule.price_before(price, "coupon"),
            -price.line("coupon").fen,
            now,
        )
    if price.points:
        points.spend(reader.id, order.id, price.points)
    record_event(
        order, PaymentEventKind.CREATED, channel=order.channel.value, amount_fen=order.amount_fen
    )
    if free:
        _complete_without_payment(order, now)
    return order


def _complete_without_payment(order: Order, now: datetime) -> None:
    """An order for 0: paid as it is placed, access granted, its coupon use kept."""
    _set_status(order, (OrderStatus.PENDING,), status=OrderStatus.PAID, paid_at=now)
    connection = db.session.connection()
    _insert_event(
        order.id,
        PaymentEventKind.PAID,
        connection=connection,
        out_trade_no=order.out_trade_no,
        source="no_payment",
    )
    coupons.keep_for_paid_order(connection, order.id)
    if order.is_gift:
        gifts.make_for_paid_order(connection, order.id, order.reader_id, order.product_id)
    else:
        _grant(connection, {order.reader_id}, order.product_id, order.id)


def check_price_shown(price: rule.Quote, shown_fen: int | None) -> None:
    """The reader pays what the page showed them: a price changed since is asked again.
    `shown_fen` is None when the caller showed no price (an API client that sent none)."""
    if shown_fen is not None and shown_fen != price.total_fen:
        raise PriceChanged()


def replacement_reason(order: Order, price: rule.Quote, channel: PayChannel, now: datetime):
    """Why the reader's open order cannot be reused for this purchase, or None if it can.

    "expired": past its time. "replaced": another channel (bought on the desktop, now in
    WeChat). "repriced": the price (an offer began or ended, the item's price changed,
    another coupon or none, other points) is not the order's; the reader pays what the
    page showed, so a new order is made at it. A renamed item alone keeps the order: the
    money is the same, and the title WeChat shows was fixed at its prepay.
    """
    if order.expires_at <= now:
        return "expired"
    if order.channel is not channel:
        return "replaced"
    if (
        order.amount_fen != price.total_fen
        or order.coupon_id != (price.coupon.id if price.coupon else None)
        or order.points_spent != price.points
    ):
        return "repriced"
    return None


def open_order(reader: Reader, product: Product, as_gift: bool = False) -> Order | None:
    """The reader's pending purchase of this product for themselves, expired or not (at most
    one exists); with `as_gift`, their latest pending one for a friend (a double click
    reuses it; a gift for a second friend is bought after the first is paid)."""
    return db.session.scalar(
        sa.select(Order)
        .where(
            Order.kind == OrderKind.PURCHASE,
            Order.reader_id == reader.id,
            Order.product_id == product.id,
            Order.status == OrderStatus.PENDING,
            Order.is_gift == as_gift,
        )
        .order_by(Order.id.desc())
        .limit(1)
    )


def attach_prepay(order: Order, prepay_id: str, code_url: str | None, mweb_url: str | None) -> None:
    order.prepay_at = utcnow()
    order.prepay_id = prepay_id
    order.code_url = code_url
    order.mweb_url = mweb_url
    record_event(order, PaymentEventKind.PREPAY, prepay_id=prepay_id)


# --- payment --------------------------------------------------------------------------------------


# The payment path runs inside the write lock for every notification WeChat sends. Its
# statements are built once, as Core on the tables, so a notification costs SQL, not Python.
_orders = Order.__table__
_events = PaymentEvent.__table__
_PAY = (
    sa.update(_orders)
    .where(
        _orders.c.out_trade_no == sa.bindparam("out_trade_no_"),
        _orders.c.status.in_([s.value for s in _PAYABLE]),
        _orders.c.amount_fen == sa.bindparam("amount_fen_"),
    )
    .values(
        status=OrderStatus.PAID.value,
        paid_at=sa.bindparam("paid_at"),
        transaction_id=sa.bindparam("transaction_id"),
        payer_openid=sa.bindparam("payer_openid"),
    )
    .returning(
        _orders.c.id,
        _orders.c.reader_id,
        _orders.c.product_id,
        _orders.c.closed_at,
        _orders.c.kind,
        _orders.c.coupon_id,
        _orders.c.is_gift,
    )
)
_EVENT = sa.insert(_events)
_PAID_WITH = sa.select(_orders.c.id).where(
    _orders.c.out_trade_no == sa.bindparam("out_trade_no_"),
    _orders.c.transaction_id == sa.bindparam("transaction_id_"),
)


def already_paid_by(out_trade_no: str, transaction_id: str) -> bool:
    """Whether this exact payment is already recorded."""
    found = db.session.connection().execute(
        _PAID_WITH, {"out_trade_no_": out_trade_no, "transaction_id_": transaction_id}
    )
    return found.first() is not None


def confirm_payment(
    out_trade_no: str,
    *,
    transaction_id: str,
    amount_fen: int,
    payer_openid: str | None,
    paid_at: datetime | None,
    source: str,
) -> bool:
    """WeChat says this order was paid. True if this call made it paid (and fulfilled it).

    The amount must equal the order's exactly; anything else is never paid and is logged
    as an alert. A repeat for a paid order changes nothing and returns False. The usual
    path is one UPDATE ... RETURNING (the compare-and-set, amount included) and inserts
    that let unique constraints decide.

    Access goes to the reader who ordered and to the WeChat account that paid: a desktop
    guest scans the QR with their phone, the guest's browser keeps access, and the payer's
    WeChat identity gets it too, so it is in 已购 when they open the shop in WeChat. (The
    guest is not turned into that WeChat reader: whoever scanned may be someone else.)
    A tip grants nothing; its supporter wall changes, so cached pages are renewed. Either
    way the 公众号's messages about it are queued.
    """
    connection = db.session.connection()  # one for the whole path: no per-statement lookups
    won = connection.execute(
        _PAY,
        {
            "out_trade_no_": out_trade_no,
            "amount_fen_": amount_fen,
            "paid_at": paid_at or utcnow(),
            "transaction_id": transaction_id,
            "payer_openid": payer_openid,
        },
    ).first()
    if won is None:
        _explain_refusal(out_trade_no, amount_fen, transaction_id, source)
        return False

    after_close = won.closed_at is not None
    if after_close:
        log.warning("order %s was paid after it was closed; honouring it", out_trade_no)
    _insert_event(
        won.id,
        PaymentEventKind.PAID,
        connection=connection,
        out_trade_no=out_trade_no,
        transaction_id=transaction_id,
        source=source,
        after_close=after_close,
    )
    # The 公众号's messages to the buyer and the creator, in this same transaction: sent
    # after the commit (app/wechat/outbox.py), never from inside the payment.
    outbox.queue_for_payment(connection, won.id, won.kind)
    if won.coupon_id is not None:
        coupons.keep_for_paid_order(connection, won.id)
    if won.kind == OrderKind.TIP.value:
        queries.mark_walls_changed()
        return True
    points.settle_paid_order(connection, won.id)
    if won.is_gift:  # the item is for whoever claims the gift, not the buyer or the payer
        gifts.make_for_paid_order(connection, won.id, won.reader_id, won.product_id)
        return True
    reader_ids = {won.reader_id}
    if payer_openid:
        reader_ids.add(_reader_id_for_payer(connection, payer_openid))
    _grant(connection, reader_ids, won.product_id, won.id)
    return True


_PLAN_DAYS = sa.select(Product.__table__.c.membership_days).where(
    Product.__table__.c.id == sa.bindparam("product_id")
)


def _grant(connection: sa.Connection, reader_ids: set[int], product_id: int, order_id: int):
    """What a paid purchase gives: the item, or for a 会员 plan its days of membership."""
    days = connection.execute(_PLAN_DAYS, {"product_id": product_id}).scalar()
    if days:
        memberships.grant_for_paid_order(connection, order_id, reader_ids, product_id, days)
    else:
        entitlements.grant_for_order(connection, reader_ids, product_id, order_id)


_READER_ID_BY_OPENID = sa.select(Reader.__table__.c.id).where(
    Reader.__table__.c.openid == sa.bindparam("openid")
)


def _reader_id_for_payer(connection: sa.Connection, openid: str) -> int:
    """The id of the reader bound to the payer's openid, creating one if WeChat is new to us.

    Used while a payment holds the write lock: Core statements, and the unique openid
    deciding a concurrent creation. (Here rather than in app.readers, which sits above
    payments: a merge of readers moves their orders.)
    """
    found = connection.execute(_READER_ID_BY_OPENID, {"openid": openid}).scalar()
    if found is not None:
        return found
    connection.execute(
        insert_or_ignore(Reader.__table__, ("openid",)), {"openid": openid, "created_at": utcnow()}
    )
    return connection.execute(_READER_ID_BY_OPENID, {"openid": openid}).scalar_one()


def _explain_refusal(out_trade_no: str, amount_fen: int, transaction_id: str, source: str):
    """Why the compare-and-set matched nothing: unknown order, wrong amount, or a repeat."""
    order = find(out_trade_no)
    if order is None:
        record_event(
            None,
            PaymentEventKind.PAYMENT_FOR_UNKNOWN_ORDER,
            out_trade_no=out_trade_no,
            source=source,
        )
        raise UnknownOrder()
    if amount_fen != order.amount_fen:
        log.error(
            "ALERT amount mismatch on %s: paid %s fen, order is %s fen (%s)",
            out_trade_no,
            amount_fen,
            order.amount_fen,
            source,
        )
        record_event(
            order,
            PaymentEventKind.PAYMENT_REJECTED,
            reason="amount_mismatch",
            paid_fen=amount_fen,
            source=source,
        )
        raise AmountMismatch()
    _insert_event(
        order.id,
        PaymentEventKind.PAYMENT_DUPLICATE,
        out_trade_no=out_trade_no,
        transaction_id=transaction_id,
        source=source,
    )


def _insert_event(order_id: int | None, kind: PaymentEventKind, connection=None, **detail) -> None:
    """The event's row, and its line in the log (app/payments/event_log.py). `out_trade_no`
    names the order in the log; the row has the order's id (or the number, when unknown)."""
    now = utcnow()
    out_trade_no = detail.pop("out_trade_no", None) if order_id is not None else None
    (connection or db.session.connection()).execute(
        _EVENT,
        {"order_id": order_id, "kind": kind, "detail": _jsonable(detail), "created_at": now},
    )
    event_log.emit(kind, order_id, out_trade_no or detail.get("out_trade_no"), detail, now)


def close(order: Order, reason: str) -> bool:
    """Close an unpaid order here (the caller also closes it at WeChat)."""
    won = _set_status(
        order,
        (OrderStatus.PENDING,),
        status=OrderStatus.CLOSED,
        closed_at=utcnow(),
        close_reason=reason,
    )
    if won:
        record_event(order, PaymentEventKind.CLOSED, reason=reason)
        if order.coupon_id is not None:
            coupons.release_for_closed_order(order.id)
        points.give_back_for_closed_order(order)
    return won


# What WeChat answers while the reader has not paid yet: worth recording once, not per query.
_WAITING_STATES = ("NOTPAY", "USERPAYING")


def note_query(order: Order, state: str) -> None:
    """Remember when WeChat was last asked (polling is paced by it). The first answer, and
    any answer that says more than "not paid yet" (paid, closed, an error), is recorded as
    a payment event; a repeated NOTPAY is not, or one abandoned tab would write hundreds."""
    first = order.last_queried_at is None
    order.last_queried_at = utcnow()
    if first or state not in _WAITING_STATES:
        record_event(order, PaymentEventKind.QUERIED, trade_state=state)


# --- refunds --------------------------------------------------------------------------------------


def open_refund(order: Order, amount_fen: int, reason: str, now: datetime | None = None) -> Refund:
    """Record a refund request before asking WeChat, so nothing is asked twice unrecorded."""
    order = find(order.out_trade_no, for_update=True)
    if order.status not in HOLDS_MONEY:
        raise RefundNotAllowed("只有已支付的订单可以退款")
    if order.is_gift and (refusal := gifts.refusal_to_refund(order)):
        raise RefundNotAllowed(refusal)
    available = refundable_fen(order)
    if amount_fen <= 0 or amount_fen > available:
        raise RefundNotAllowed(f"退款金额须在 ¥0.01 与 {format_fen(available)} 之间")
    refund = Refund(
        order=order,
        out_refund_no=new_out_refund_no(now or utcnow()),
        amount_fen=amount_fen,
        reason=reason[:80],
    )
    db.session.add(refund)
    db.session.flush()
    record_event(
        order, PaymentEventKind.REFUND_REQUESTED, out_refund_no=refund.out_refund_no, fen=amount_fen
    )
    return refund


def refundable_fen(order: Order) -> int:
    """How much of the order may still be refunded: the amount, less what was refunded and
    what is on its way; nothing for an order that holds no money. The one answer to it:
    open_refund checks it under the write lock, the studio's refund form and `flask orders
    refund` ask it first (to refuse early, to offer or default to the rest)."""
    if order.status not in HOLDS_MONEY:
        return 0
    in_flight = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0)).where(
            Refund.order_id == order.id, Refund.status == RefundStatus.PROCESSING
        )
    )
    return max(0, order.amount_fen - order.refunded_fen - in_flight)


def refund_refused(refund: Refund, message: str) -> None:
    """WeChat definitely refused the refund. Never for an unknown outcome (a time-out, an
    HTTP error): that refund may have been made, so it stays processing for reconcile."""
    won = _set_refund_status(
        refund, RefundStatus.FAILED, (RefundStatus.PROCESSING,), finished_at=utcnow()
    )
    if won:
        record_event(
            refund.order,
            PaymentEventKind.REFUND_FAILED,
            out_refund_no=refund.out_refund_no,
            why=message,
        )


def refund_outcome_unknown(refund: Refund, message: str) -> None:
    """WeChat may or may not have made the refund: it stays processing (still counted by
    refundable_fen) until a notification or reconcile's query says what happened."""
    record_event(
        refund.order,
        PaymentEventKind.REFUND_OUTCOME_UNKNOWN,
        out_refund_no=refund.out_refund_no,
        why=message,
    )


def refund_accepted(refund: Refund, refund_id: str | None) -> None:
    refund.refund_id = refund_id
    record_event(refund.order, PaymentEventKind.REFUND_ACCEPTED, out_refund_no=refund.out_refund_no)


# WeChat's refund_status: what the refund becomes, and the event that records it.
_REFUND_VERDICTS = {
    "SUCCESS": (RefundStatus.SUCCESS, PaymentEventKind.REFUND_SUCCESS),
    "REFUNDCLOSE": (RefundStatus.CLOSED, PaymentEventKind.REFUND_CLOSED),
    "CHANGE": (RefundStatus.CHANGE, PaymentEventKind.REFUND_CHANGE),
}


def settle_refund(
    out_refund_no: str,
    status: str,
    refund_id: str | None,
    finished_at: datetime | None,
    revoke_access: bool,
    *,
    out_trade_no: str | None = None,
    amount_fen: int | None = None,
) -> bool:
    """WeChat's verdict on a refund (notification or query). True if this call applied it.

    A refund the shop never asked for (made in 商户平台, so with an out_refund_no the shop
    never issued) is recorded first, for the order `out_trade_no` names, then settled like
    any other: the money left either way, and the books and access must follow.
    """
    refund = find_refund(out_refund_no)
    if refund is None:
        refund = _record_outside_refund(out_refund_no, out_trade_no, amount_fen, refund_id)
    verdict = _REFUND_VERDICTS.get(status)
    if verdict is None:  # PROCESSING: nothing to settle yet
        return False
    target, event = verdict
    allowed_from = (
        _REFUND_SUCCEEDS_FROM if target is RefundStatus.SUCCESS else (RefundStatus.PROCESSING,)
    )
    won = _set_refund_status(
        refund,
        target,
        allowed_from,
        finished_at=finished_at or utcnow(),
        refund_id=refund_id or refund.refund_id,
    )
    if not won:
        return False
    order = refund.order
    record_event(order, event, out_refund_no=out_refund_no)
    if target is RefundStatus.SUCCESS:
        _apply_refunded_amount(order, refund.amount_fen, revoke_access)
    return True


def find_refund(out_refund_no: str) -> Refund | None:
    return db.session.scalar(sa.select(Refund).where(Refund.out_refund_no == out_refund_no))


def _record_outside_refund(
    out_refund_no: str, out_trade_no: str | None, amount_fen: int | None, refund_id: str | None
) -> Refund:
    """A processing Refund row for a refund made outside the shop, for settle_refund."""
    order = find(out_trade_no, for_update=True) if out_trade_no else None
    if order is None:
        record_event(
            None,
            PaymentEventKind.REFUND_FOR_UNKNOWN_REFUND,
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
        )
        raise UnknownOrder("退款单不存在")
    if order.status not in HOLDS_MONEY or not amount_fen or amount_fen <= 0:
        # Paid at WeChat but not (yet) here: reconcile honours the payment first, and WeChat
        # keeps sending the notification meanwhile; the bill reports it if that never happens.
        record_event(
            order,
            PaymentEventKind.REFUND_FOR_UNKNOWN_REFUND,
            out_refund_no=out_refund_no,
            fen=amount_fen,
        )
        raise RefundNotAllowed("本店订单未支付，无法记入这笔退款")
    refund = Refund(
        order_id=order.id,  # not order=: the backref would add it outside the savepoint
        out_refund_no=out_refund_no,
        amount_fen=amount_fen,
        reason=OUTSIDE_REFUND_REASON,
        refund_id=refund_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(refund)
    except IntegrityError:
        # The same refund's notification and a query raced (PostgreSQL; SQLite's
        # begin_write serialised them): the unique out_refund_no decided.
        return find_refund(out_refund_no)
    record_event(
        order, PaymentEventKind.REFUND_OUTSIDE, out_refund_no=out_refund_no, fen=amount_fen
    )
    return refund


def _set_refund_status(refund: Refund, status: RefundStatus, allowed_from, **values) -> bool:
    result = db.session.execute(
        sa.update(Refund)
        .where(Refund.id == refund.id, Refund.status.in_(allowed_from))
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        db.session.refresh(refund)
    return bool(result.rowcount)


def _apply_refunded_amount(order: Order, amount_fen: int, revoke_access: bool) -> None:
    refunded_before = order.refunded_fen
    refunded = Order.refunded_fen + amount_fen
    db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id)
        .values(
            refunded_fen=refunded,
            status=sa.case(
                (refunded >= Order.amount_fen, OrderStatus.REFUNDED.value),
                else_=OrderStatus.PARTIALLY_REFUNDED.value,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order)
    points.settle_refund(order, refunded_before)
    if order.is_tip:
        queries.mark_walls_changed()  # the wall and its totals lose the refunded amount
    elif order.status is OrderStatus.REFUNDED and order.product.is_membership:
        memberships.end_for_refunded_order(order)  # a refund of a pass ends it
    elif order.status is OrderStatus.REFUNDED and order.is_gift:
        gifts.void_for_refund(order)  # unclaimed: nobody may claim it now
        if revoke_access:
            _revoke_access(order)  # claimed (refunded at WeChat all the same): the money left
    elif order.status is OrderStatus.REFUNDED and revoke_access:
        _revoke_access(order)


def _revoke_access(order: Order) -> None:
    """Take back the access this order gave, but not access another paid order still gives
    (a reader who paid twice, or whose guest purchases were merged in, keeps reading)."""
    holders = db.session.scalars(
        sa.select(Entitlement.reader_id).where(Entitlement.order_id == order.id)
    ).all()
    db.session.execute(sa.delete(Entitlement).where(Entitlement.order_id == order.id))
    record_event(order, PaymentEventKind.ACCESS_REVOKED)
    for reader_id in holders:
        reader = db.session.get(Reader, reader_id)
        still_paid = sa.or_(
            Order.reader_id == reader_id,
            Order.payer_openid == reader.openid if reader.openid else sa.false(),
        )
        other = db.session.scalar(
            sa.select(Order.id).where(
                still_paid,
                Order.kind == OrderKind.PURCHASE,
                Order.product_id == order.product_id,
                Order.status.in_(HOLDS_MONEY),
            )
        )
        if other is not None:
            entitlements.grant_for_order(
                db.session.connection(), {reader_id}, order.product_id, other
            )
