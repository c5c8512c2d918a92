"""Every payment event as one JSON line in the server's log, beside its row in payment_events:
the log is what an operator greps (journald, `docker compose logs`) and what an error tracker
or log shipper takes in, without database access.

Only facts about money and WeChat's ids go in: the kind, the order, amounts, WeChat's states
and error codes, where the news came from. Never who: no openid, name, IP address or message
text, and nothing that acts as a key (the refund confirmation token, a prepay_id that opens
WeChat's cashier). An event's detail key that is not named in LOGGED stays out, so a key added
later is private until someone decides otherwise.
"""

import json
import logging
from datetime import datetime

LOGGER = "shop.payments"
LOGGED = frozenset(
    {
        "after_close",
        "amount_fen",
        "channel",
        "code",
        "fen",
        "out_refund_no",
        "out_trade_no",
        "paid_fen",
        "reason",
        "source",
        "tip",
        "trade_state",
        "transaction_id",
    }
)

log = logging.getLogger(LOGGER)


def line(kind: str, order_id: int | None, out_trade_no: str | None, detail: dict, at: datetime):
    """The event as the log shows it."""
    record = {"event": "payment", "kind": str(kind), "at": at.isoformat(timespec="seconds")}
    if order_id is not None:
        record["order_id"] = order_id
    if out_trade_no:
        record["out_trade_no"] = out_trade_no
    record |= {key: value for key, value in detail.items() if key in LOGGED}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)


def emit(kind: str, order_id: int | None, out_trade_no: str | None, detail: dict, at: datetime):
    if log.isEnabledFor(logging.INFO):
        log.info(line(kind, order_id, out_trade_no, detail, at))


def send_to_stderr() -> None:
    """Outside tests, payment events go to stderr one JSON object a line (the process's
    manager keeps them: journald under systemd, the container's log under Docker)."""
    if log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
