"""What the pricing tests share: paying an order as WeChat's notification would."""

from app.extensions import db
from app.models.base import utcnow
from app.payments import orders


def pay(order, amount=None, payer_openid=None, transaction_id=None) -> bool:
    """WeChat says `order` was paid (its own amount unless told); committed, and the order
    refreshed. True if this call made it paid."""
    won = orders.confirm_payment(
        order.out_trade_no,
        transaction_id=transaction_id or "4200" + order.out_trade_no[-24:],
        amount_fen=order.amount_fen if amount is None else amount,
        payer_openid=payer_openid,
        paid_at=utcnow(),
        source="test",
    )
    db.session.commit()
    db.session.refresh(order)
    return won
