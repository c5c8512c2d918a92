"""PaymentEventKind: the audit trail's kinds, their stored values and their labels."""

from app.models import PaymentEvent, PaymentEventKind


def test_every_kind_has_its_own_chinese_label():
    labels = [kind.label for kind in PaymentEventKind]
    assert len(set(labels)) == len(labels)
    assert all(label and not label.isascii() for label in labels)


def test_stored_values_stay_as_the_rows_already_hold_them():
    # Existing payment_events rows and the dashboard's rollups read these exact strings.
    assert {kind.value for kind in PaymentEventKind} == {
        "created",
        "prepay",
        "prepay_failed",
        "paid",
        "payment_duplicate",
        "payment_rejected",
        "payment_for_unknown_order",
        "notification_refused",
        "queried",
        "closed",
        "refund_confirmed",
        "refund_requested",
        "refund_accepted",
        "refund_outcome_unknown",
        "refund_failed",
        "refund_outside",
        "refund_for_unknown_refund",
        "refund_success",
        "refund_closed",
        "refund_change",
        "access_revoked",
    }


def test_an_event_shows_its_label_and_an_unknown_kind_as_stored():
    assert PaymentEvent(kind="paid").label == "支付成功"
    assert PaymentEvent(kind=PaymentEventKind.REFUND_SUCCESS).label == "退款成功"
    assert PaymentEvent(kind="notify").label == "notify"
