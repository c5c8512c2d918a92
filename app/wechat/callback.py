"""The Official Account's message and event callback: what WeChat pushes, and the answer.

- GET: WeChat checks the server URL (signature of Token, timestamp and nonce); the answer
  is `echostr` as sent.
- POST: the same signature on the query; in safe mode (`encrypt_type=aes`) the body is
  decrypted with the EncodingAESKey (its own `msg_signature` checked) and the answer encrypted.
  Every message gets one answer: a repeat (WeChat sends again after 5 s without one) and
  anything unreadable get "success", which WeChat takes as "nothing to say".

What a follower is answered is app/wechat/replies.py; what a message tells of its sender
(following, the 48-hour window) is kept by app/wechat/followers.py. Nothing here waits on
the network.
"""

from collections.abc import Mapping
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from app.models import WeChatMessageSeen
from app.models.base import insert_or_ignore, utcnow
from app.transactions import writing_apart
from app.wechat import followers, replies

NOTHING_TO_SAY = "success"
SEEN_FOR = timedelta(days=1)  # WeChat's retries come within 15 s; a day is plenty

_seen = WeChatMessageSeen.__table__


class Refused(Exception):
    """Not from WeChat (a wrong signature): answered 403, never with content."""


def verify_url(args: Mapping[str, str]) -> str:
    _check(args)
    return args.get("echostr", "")


def answer(args: Mapping[str, str], body: bytes) -> str:
    _check(args)
    config = current_app.config
    safe = args.get("encrypt_type") == "aes"
    crypto = None
    if safe:
        if not config["WECHAT_ENCODING_AES_KEY"]:
            raise Refused("safe mode without an EncodingAESKey")
        crypto = WeChatCrypto(
            config["WECHAT_TOKEN"], config["WECHAT_ENCODING_AES_KEY"], config["WECHAT_APPID"]
        )
        try:
            body = crypto.decrypt_message(
                body, args.get("msg_signature", ""), args["timestamp"], args["nonce"]
            )
        except (InvalidSignatureException, InvalidAppIdException) as error:
            raise Refused(type(error).__name__) from None
        except Exception:  # a body that is not the encrypted envelope
            return NOTHING_TO_SAY
    try:
        message = parse_message(body)
    except Exception:  # malformed XML, entities, anything: nobody to answer
        return NOTHING_TO_SAY
    if not getattr(message, "source", None) or not _first_time(message):
        return NOTHING_TO_SAY
    followers.note(message)  # who follows, and who may get a customer-service message
    xml = replies.reply_to(message).render()
    if not xml:
        return NOTHING_TO_SAY
    if crypto is not None:
        return crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
    return xml


def _check(args: Mapping[str, str]) -> None:
    token = current_app.config["WECHAT_TOKEN"]
    try:
        check_signature(
            token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
        )
    except InvalidSignatureException:
        raise Refused("wrong signature") from None


def _first_time(message) -> bool:
    """Record the message; False if it was answered before. A message by its MsgId, an event
    (which has none) by who sent it and when."""
    message_id = getattr(message, "id", None)
    key = f"msg:{message_id}" if message_id else f"event:{message.source}:{message.time}"
    with writing_apart() as connection:
        connection.execute(sa.delete(_seen).where(_seen.c.seen_at < utcnow() - SEEN_FOR))
        # RETURNING, not rowcount: on PostgreSQL this insert reports a rowcount of -1.
        recorded = insert_or_ignore(_seen, ("key",)).returning(_seen.c.key)
        return (
            connection.execute(recorded, {"key": key[:160], "seen_at": utcnow()}).first()
            is not None
        )
