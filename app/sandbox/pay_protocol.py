"""WeChat Pay v2 on the wire: signatures, XML both ways, req_info encryption, Beijing times.

Pure functions with no database and no Flask, so the protocol can be checked against the
official vectors on its own (docs/wechat-protocol.md §1, §6, §7).
"""

import base64
import hashlib
import hmac
import re
import secrets
import string
from datetime import UTC, datetime
from xml.parsers import expat
from zoneinfo import ZoneInfo

import xmltodict
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SIGN_TYPES = ("MD5", "HMAC-SHA256")
BEIJING = ZoneInfo("Asia/Shanghai")
MAX_BODY_BYTES = 64 * 1024  # WeChat's requests are a few hundred bytes; detail is ≤ 6 KB

_NONCE_ALPHABET = string.ascii_letters + string.digits
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+")


class MalformedXML(ValueError):
    """The body is not a flat WeChat <xml> document; answered with return_code FAIL."""


# --- signatures (§1) ---------------------------------------------------------------------------


def string_to_sign(params: dict, key: str) -> str:
    """Every non-empty field but sign, sorted by name, as raw k=v joined by &, then &key=."""
    if not key:
        # An empty key signs what anyone can forge: never sign or verify with one.
        raise ValueError("refusing to sign with an empty key")
    pairs = [f"{name}={params[name]}" for name in sorted(params) if name != "sign" and params[name]]
    return "&".join([*pairs, f"key={key}"])


def sign(params: dict, key: str, sign_type: str = "MD5") -> str:
    message = string_to_sign(params, key).encode("utf-8")
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()
    return hashlib.md5(message).hexdigest().upper()


def signature_ok(params: dict, key: str, sign_type: str = "MD5") -> bool:
    given = params.get("sign") or ""
    return hmac.compare_digest(given.encode("utf-8"), sign(params, key, sign_type).encode())


def nonce_str() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(32))


# --- XML -------------------------------------------------------------------------------------


def _refuse_doctype(*_args):
    # xmltodict already refuses <!ENTITY>; WeChat's XML never has a DOCTYPE at all.
    raise ValueError("DOCTYPE is not allowed")


class _NoDoctypeExpat:
    """expat, as xmltodict.parse takes it, with DOCTYPE declarations refused."""

    @staticmethod
    def ParserCreate(*args, **kwargs):  # expat's own name for it
        parser = expat.ParserCreate(*args, **kwargs)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        return parser


def parse_xml(body: bytes) -> dict[str, str]:
    """A WeChat request body as {field: text}; empty elements give ''."""
    if not body.strip():
        raise MalformedXML("post数据为空")
    if len(body) > MAX_BODY_BYTES:
        raise MalformedXML("post数据过大")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedXML("编码格式错误，请使用UTF-8") from None
    try:
        # Values are signed as sent, so no stripping of their spaces; entities stay refused.
        document = xmltodict.parse(text, expat=_NoDoctypeExpat, strip_whitespace=False)
    except Exception:  # expat errors, refused entities or DOCTYPE, anything else: all malformed
        raise MalformedXML("XML格式错误") from None
    if not isinstance(document, dict) or set(document) != {"xml"}:
        raise MalformedXML("XML格式错误")
    root = document["xml"]
    if root is None or (isinstance(root, str) and not root.strip()):
        root = {}
    if not isinstance(root, dict):
        raise MalformedXML("XML格式错误")
    if not root.get("#text", "x").strip():
        del root["#text"]  # only the line breaks between elements
    fields = {}
    for name, value in root.items():
        # Attributes (@x), mixed text (#text), repeated (list) or nested (dict): not WeChat's.
        if not _FIELD_NAME.fullmatch(name) or not (value is None or isinstance(value, str)):
            raise MalformedXML("XML格式错误")
        fields[name] = value or ""
    return fields


def _element(name: str, value) -> str:
    text = str(value)
    if text.isascii() and text.isdigit():
        return f"<{name}>{text}</{name}>"
    # A value may itself contain "]]>" (attach, body): split it across two CDATA sections.
    return f"<{name}><![CDATA[{text.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"


def to_xml(fields: dict, root: str = "xml") -> str:
    """Fields in the given order; None values are left out."""
    inner = "".join(_element(name, value) for name, value in fields.items() if value is not None)
    return f"<{root}>{inner}</{root}>"


def fail_xml(return_msg: str, **extra) -> str:
    """return_code FAIL: unsigned; return_code and return_msg (downloadbill adds error_code)."""
    return to_xml({"return_code": "FAIL", "return_msg": return_msg, **extra})


def signed_xml(fields: dict, key: str, sign_type: str = "MD5") -> str:
    """return_code SUCCESS and the fields, with nonce_str and a sign over everything."""
    message = {"return_code": "SUCCESS", **fields, "nonce_str": nonce_str()}
    message = {name: str(value) for name, value in message.items() if value not in (None, "")}
    if sign_type != "MD5":
        message["sign_type"] = sign_type
    message["sign"] = sign(message, key, sign_type)
    return to_xml(message)


# --- refund notification req_info (§6) ---------------------------------------------------------


def encrypt_req_info(plaintext: str, api_key: str) -> str:
    """AES-256-ECB under the lower-case hex md5 of the API key, PKCS7 on 16-byte blocks, base64."""
    key = hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # ECB: WeChat's choice
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


# --- times: WeChat speaks Beijing time --------------------------------------------------------


def beijing_stamp(moment: datetime) -> str:
    """yyyyMMddHHmmss (time_start, time_expire, time_end)."""
    return moment.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def beijing_text(moment: datetime) -> str:
    """yyyy-MM-dd HH:mm:ss (refund success times, bills)."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def parse_beijing_stamp(stamp: str) -> datetime:
    """yyyyMMddHHmmss in Beijing time -> aware UTC; ValueError when it is not one."""
    if not re.fullmatch(r"[0-9]{14}", stamp):
        raise ValueError(stamp)
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).astimezone(UTC)
