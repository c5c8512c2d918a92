"""Signatures, XML and req_info against the vectors in tests/data (docs/wechat-protocol.md
§1, §6, §7)."""

import json
from pathlib import Path

import pytest
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature

from app.sandbox import pay_protocol as proto

DATA = Path(__file__).parent.parent / "data"
VECTORS = json.loads((DATA / "v2-sign-vectors.json").read_text())
REQ_INFO_VECTOR = json.loads((DATA / "refund-req-info-vector.json").read_text(encoding="utf-8"))


def test_official_sign_vector():
    params, key = VECTORS["params"], VECTORS["api_key"]
    assert proto.string_to_sign(params, key) == VECTORS["string_to_sign"]
    assert proto.sign(params, key) == VECTORS["sign"]["MD5"]
    assert proto.sign(params, key, "HMAC-SHA256") == VECTORS["sign"]["HMAC-SHA256"]


def test_empty_values_and_sign_are_not_signed():
    params = {**VECTORS["params"], "attach": "", "sign": "WHATEVER"}
    assert proto.sign(params, VECTORS["api_key"]) == VECTORS["sign"]["MD5"]
    assert proto.signature_ok({**params, "sign": VECTORS["sign"]["MD5"]}, VECTORS["api_key"])
    assert not proto.signature_ok(params, VECTORS["api_key"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {
                "appId": "wxd678efh567hg6787",
                "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                "package": "prepay_id=wx2017033010242291fcfe0db70013231072",
                "signType": "MD5",
                "timeStamp": "1490840662",
            },
            "22D9B4E54AB1950F51E0649E8810ACD6",
        ),
        (
            {
                "appId": "wx619a931576afe069",
                "nonceStr": "RIPb5Upk3ku7knU6",
                "package": "prepay_id=wx2611334392677180ea59742b3744840000",
                "signType": "MD5",
                "timeStamp": "1774495197",
            },
            "1F2E9533D7D483FBCDBD0B9BCA76F97D",
        ),
    ],
)
def test_jsapi_pay_sign_vectors(params, expected):
    assert proto.sign(params, "qazwsxedcrfvtgbyhnujmikolp111111") == expected


def test_req_info_matches_the_round_trip_vector():
    plaintext, req_info = REQ_INFO_VECTOR["plaintext"], REQ_INFO_VECTOR["req_info"]
    assert REQ_INFO_VECTOR["api_key"] == VECTORS["api_key"]
    # AES-ECB with standard padding is deterministic: the same plaintext gives the same bytes.
    assert proto.encrypt_req_info(plaintext, VECTORS["api_key"]) == req_info


def test_wechatpy_decrypts_our_refund_notification():
    key = VECTORS["api_key"]
    for size in range(40, 60):  # around a block boundary, where 32-byte padding would differ
        details = proto.to_xml({"out_refund_no": "R" * size, "refund_fee": 1}, root="root")
        outer = proto.to_xml(
            {
                "return_code": "SUCCESS",
                "appid": "wxd930ea5d5a258f4f",
                "mch_id": "10000100",
                "nonce_str": proto.nonce_str(),
                "req_info": proto.encrypt_req_info(details, key),
            }
        )
        result = WeChatPay("wxd930ea5d5a258f4f", key, "10000100").parse_refund_notify_result(outer)
        assert result["out_refund_no"] == "R" * size and result["refund_fee"] == 1


def test_signed_xml_is_what_wechatpy_accepts():
    key = VECTORS["api_key"]
    text = proto.signed_xml({"appid": "wx1", "attach": "a]]>b<c>", "total_fee": 5}, key)
    parsed = WeChatPay("wx1", key, "1").parse_payment_result(text)
    assert parsed["attach"] == "a]]>b<c>" and parsed["total_fee"] == 5
    assert parsed["return_code"] == "SUCCESS" and len(parsed["nonce_str"]) == 32
    fields = proto.parse_xml(text.encode())
    assert fields["sign"] == calculate_signature(
        {k: v for k, v in fields.items() if k != "sign"}, key
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"not xml",
        b"<xml><a>1</a>",
        b"<other><a>1</a></other>",
        b"<xml>text</xml>",
        b"<xml><a>1</a><a>2</a></xml>",
        b'<xml><a x="1">1</a></xml>',
        b'<xml x="1"><a>1</a></xml>',
        b"<xml><a><b>1</b></a></xml>",
        b"<!DOCTYPE xml><xml><a>1</a></xml>",
        b'<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml><a>1</a></xml>',
        b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>',
        "<xml><a>中</a></xml>".encode("gbk"),
        b"<xml><a>" + b"x" * proto.MAX_BODY_BYTES + b"</a></xml>",
    ],
)
def test_malformed_bodies_are_refused(body):
    with pytest.raises(proto.MalformedXML):
        proto.parse_xml(body)


def test_parse_keeps_empty_fields_as_empty_strings():
    assert proto.parse_xml(b"<xml><a/><b><![CDATA[x]]></b><c>1</c></xml>") == {
        "a": "",
        "b": "x",
        "c": "1",
    }


def test_beijing_times():
    moment = proto.parse_beijing_stamp("20240101080000")
    assert moment.isoformat() == "2024-01-01T00:00:00+00:00"
    assert proto.beijing_stamp(moment) == "20240101080000"
    assert proto.beijing_text(moment) == "2024-01-01 08:00:00"
    for bad in ("2024010108000", "2024-01-01", "20241301080000"):
        with pytest.raises(ValueError):
            proto.parse_beijing_stamp(bad)


def test_parse_keeps_spaces_because_they_are_signed():
    assert proto.parse_xml(b"<xml>\n<a><![CDATA[ b ]]></a>\n<c> 1</c>\n</xml>") == {
        "a": " b ",
        "c": " 1",
    }
    with pytest.raises(proto.MalformedXML):
        proto.parse_xml(b"<xml>text<a>1</a></xml>")
