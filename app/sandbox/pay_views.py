"""WeChat Pay v2's server-to-server API, under /sandbox/pay/ (the shop's WECHAT_PAY_API_BASE).

wechatpy POSTs an XML body (with no Content-Type) to API_BASE_URL + "pay/unifiedorder" and so
on. Every answer is XML with HTTP 200 (§2): return_code FAIL, unsigned, when the request is
malformed or its signature is wrong; otherwise signed, with result_code SUCCESS and the
result, or result_code FAIL with WeChat's err_code. downloadbill answers plain text.
"""

import functools

from flask import current_app, request, url_for

from app.extensions import csrf, db
from app.models.base import utcnow
from app.sandbox import bp, pay, pay_bill, pay_refunds
from app.sandbox import pay_protocol as proto
from app.web.request_limits import reads_own_body


def _xml(text: str):
    return current_app.response_class(text, content_type="text/xml; charset=utf-8")


def _own_session(view):
    """Run the view in an app context, so a database session, of its own.

    An in-process call arrives inside the shop's request, and Flask would hand the sandbox the
    shop's app context and session: the sandbox's commit or rollback would end the shop's
    transaction. WeChat is another system; its writes must not touch the shop's.
    """

    @functools.wraps(view)
    def isolated(*args, **kwargs):
        with current_app.app_context():
            return view(*args, **kwargs)

    return isolated


def _read_params() -> dict:
    # Read at most one byte past the limit: a huge body is refused without being held.
    return proto.parse_xml(request.stream.read(proto.MAX_BODY_BYTES + 1))


def api(rule: str):
    """Register handler(params, now) -> result fields as the XML endpoint /sandbox/pay/<rule>."""

    def register(handler):
        @_own_session
        def view():
            return _answer(handler)

        view.__name__ = view.__qualname__ = handler.__name__
        reads_own_body(view)
        endpoint = f"pay_{handler.__name__}"
        bp.add_url_rule(f"/pay/{rule}", endpoint=endpoint, view_func=view, methods=["POST"])
        csrf.exempt(view)  # server to server: authenticated by the signature instead
        return handler

    return register


def _answer(handler):
    try:
        params = _read_params()
    except proto.MalformedXML as exc:
        return _xml(proto.fail_xml(str(exc)))
    sign_type = params.get("sign_type") if params.get("sign_type") in proto.SIGN_TYPES else "MD5"
    try:
        pay.authenticate(params)
        fields = {"result_code": "SUCCESS", **handler(params, utcnow())}
        db.session.commit()
    except pay.ProtocolFailure as exc:
        db.session.rollback()
        return _xml(proto.fail_xml(exc.return_msg))
    except pay.BusinessError as exc:
        db.session.rollback()
        fields = {"result_code": "FAIL", "err_code": exc.err_code, "err_code_des": exc.err_code_des}
    config = current_app.config
    answer = {
        "return_msg": "OK",
        "appid": config["WECHAT_APPID"],
        "mch_id": config["WECHAT_MCH_ID"],
        **fields,
    }
    return _xml(proto.signed_xml(answer, pay.api_key(), sign_type))


@api("pay/unifiedorder")
def unifiedorder(params: dict, now) -> dict:
    order = pay.unified_order(params, now)
    fields = {
        "device_info": order.device_info,
        "trade_type": order.trade_type,
        "prepay_id": order.prepay_id,
    }
    # The transport passes on the reader's host, so these open in the reader's browser.
    if order.trade_type == "NATIVE":
        fields["code_url"] = url_for(".pay_scan", token=order.pay_token, _external=True)
    if order.trade_type == "MWEB":
        fields["mweb_url"] = url_for(".pay_h5", token=order.pay_token, _external=True)
    return fields


@api("pay/orderquery")
def orderquery(params: dict, now) -> dict:
    return pay.query_order(params, now)


@api("pay/closeorder")
def closeorder(params: dict, now) -> dict:
    return pay.close_order(params, now)


@api("secapi/pay/refund")
def refund(params: dict, now) -> dict:
    return pay_refunds.apply_refund(params, now)


@api("pay/refundquery")
def refundquery(params: dict, now) -> dict:
    return pay_refunds.query_refunds(params, now)


@bp.post("/pay/pay/downloadbill")
@reads_own_body
@_own_session
def pay_downloadbill():
    """Plain text (or gzip) on success; every failure is return_code FAIL, as WeChat does."""
    try:
        params = _read_params()
        pay.authenticate(params)
        bill = pay_bill.download_bill(params, utcnow())
    except proto.MalformedXML as exc:
        return _xml(proto.fail_xml(str(exc)))
    except pay.ProtocolFailure as exc:
        return _xml(proto.fail_xml(exc.return_msg))
    except pay.BusinessError as exc:
        return _xml(proto.fail_xml(exc.err_code_des))
    except pay_bill.BillError as exc:
        return _xml(proto.fail_xml(exc.return_msg, error_code=exc.error_code))
    if params.get("tar_type") == "GZIP":
        return current_app.response_class(bill, content_type="application/x-gzip")
    return current_app.response_class(bill, content_type="text/plain; charset=utf-8")


csrf.exempt(pay_downloadbill)
