"""The sandbox's side of WeChat web OAuth: codes, tokens and user info, as WeChat hands them out.

Plain functions over the sandbox tables; the blueprint turns them into WeChat's URLs and JSON.
Error codes and messages are WeChat's (see docs/wechat-protocol.md §8).
"""

import secrets
import string
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.models.base import db, utcnow
from app.sandbox.models import SandboxOAuthGrant, SandboxUser

CODE_LIFETIME = timedelta(minutes=5)
ACCESS_LIFETIME = timedelta(hours=2)
REFRESH_LIFETIME = timedelta(days=30)
SCOPES = ("snsapi_base", "snsapi_userinfo")

_OPENID_ALPHABET = string.ascii_letters + string.digits + "-_"

# What WeChat says of a user it does not describe (one who never set a name here, or a
# snapshot page's stand-in): this name and its grey default picture.
PLACEHOLDER_NICKNAME = "微信用户"
DEFAULT_AVATAR_URL = (
    "https://thirdwx.qlogo.cn/mmopen/vi_32/"
    "POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"
)

# What WeChat's error page says about a callback it will not send a reader's code to.
REDIRECT_URI_MALFORMED = "redirect_uri 参数错误"
REDIRECT_URI_FOREIGN = "redirect_uri 域名与后台配置不一致（10003）"


class OAuthError(Exception):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def as_json(self) -> dict:
        return {"errcode": self.errcode, "errmsg": self.errmsg}


def redirect_uri_problem(redirect_uri: str, shop_host: str) -> str | None:
    """What WeChat's error page would say about this callback, or None when it is acceptable.

    WeChat hands a reader's code only to an http(s) URL on the account's registered 网页授权域名;
    the sandbox's registered domain is the shop's own host. Anything else (javascript:, a
    relative or protocol-relative URL, another host, user info before the host) is refused, as
    are spaces and control characters, which browsers would strip before following it.
    """
    if any(char <= " " or char == "\x7f" or char == "\\" for char in redirect_uri):
        return REDIRECT_URI_MALFORMED
    try:
        parts = urlsplit(redirect_uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return REDIRECT_URI_MALFORMED
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return REDIRECT_URI_MALFORMED
    if parts.netloc.lower() != shop_host.lower():
        return REDIRECT_URI_FOREIGN
    return None


def new_openid() -> str:
    """28 characters starting with 'o', shaped like a real openid."""
    return "o" + "".join(secrets.choice(_OPENID_ALPHABET) for _ in range(27))


def create_user(nickname: str) -> SandboxUser:
    user = SandboxUser(openid=new_openid(), nickname=nickname.strip()[:64] or PLACEHOLDER_NICKNAME)
    db.session.add(user)
    db.session.flush()
    return user


def all_users() -> list[SandboxUser]:
    return list(db.session.scalars(sa.select(SandboxUser).order_by(SandboxUser.id)))


def find_user(openid: str | None) -> SandboxUser | None:
    if not openid:
        return None
    return db.session.scalar(sa.select(SandboxUser).where(SandboxUser.openid == openid))


def issue_code(user: SandboxUser, appid: str, scope: str, snapshot: bool = False) -> str:
    """A code for this user, or, on a 朋友圈 snapshot page (快照页), for a stand-in: its
    token names a fresh openid marked is_snapshotuser, and its user info is WeChat's
    placeholder, as WeChat gives a snapshot page nothing of the person."""
    grant = SandboxOAuthGrant(
        user_id=user.id,
        appid=appid,
        scope=scope,
        snapshot_openid=new_openid() if snapshot else None,
        code=secrets.token_hex(16),
        code_expires_at=utcnow() + CODE_LIFETIME,
    )
    db.session.add(grant)
    db.session.flush()
    return grant.code


def exchange_code(appid: str, code: str) -> dict:
    """sns/oauth2/access_token: a code buys tokens once, within five minutes."""
    grant = db.session.scalar(
        sa.select(SandboxOAuthGrant).where(
            SandboxOAuthGrant.code == code, SandboxOAuthGrant.appid == appid
        )
    )
    if grant is None or grant.code_expires_at < utcnow():
        raise OAuthError(40029, "invalid code")
    now = utcnow()
    # Compare-and-set, so a code replayed concurrently is still used only once.
    used = db.session.execute(
        sa.update(SandboxOAuthGrant)
        .where(SandboxOAuthGrant.id == grant.id, SandboxOAuthGrant.code_used_at.is_(None))
        .values(
            code_used_at=now,
            access_token=secrets.token_urlsafe(48),
            access_expires_at=now + ACCESS_LIFETIME,
            refresh_token=secrets.token_urlsafe(48),
            refresh_expires_at=now + REFRESH_LIFETIME,
        )
    ).rowcount
    if not used:
        raise OAuthError(40163, "code been used")
    db.session.refresh(grant)
    return _token_payload(grant)


def refresh(appid: str, refresh_token: str) -> dict:
    grant = db.session.scalar(
        sa.select(SandboxOAuthGrant).where(
            SandboxOAuthGrant.refresh_token == refresh_token, SandboxOAuthGrant.appid == appid
        )
    )
    if grant is None or grant.refresh_expires_at < utcnow():
        raise OAuthError(40030, "invalid refresh_token")
    grant.access_token = secrets.token_urlsafe(48)
    grant.access_expires_at = utcnow() + ACCESS_LIFETIME
    db.session.flush()
    return _token_payload(grant)


def user_info(access_token: str, openid: str) -> dict:
    grant = _live_grant(access_token, openid)
    if grant.scope != "snsapi_userinfo":
        raise OAuthError(48001, "api unauthorized")
    user = grant.user
    if grant.snapshot_openid:
        return {
            "openid": grant.snapshot_openid,
            "nickname": PLACEHOLDER_NICKNAME,
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": DEFAULT_AVATAR_URL,
            "privilege": [],
        }
    described = user.nickname != PLACEHOLDER_NICKNAME
    return {
        "openid": user.openid,
        "nickname": user.nickname,
        "sex": user.sex,
        "province": user.province,
        "city": user.city,
        "country": user.country,
        # None: the view fills in the user's picture, as it knows the shop's address.
        "headimgurl": None if described else DEFAULT_AVATAR_URL,
        "privilege": [],
    }


def check_token(access_token: str, openid: str) -> dict:
    _live_grant(access_token, openid)
    return {"errcode": 0, "errmsg": "ok"}


def _live_grant(access_token: str, openid: str) -> SandboxOAuthGrant:
    grant = db.session.scalar(
        sa.select(SandboxOAuthGrant).where(SandboxOAuthGrant.access_token == access_token)
    )
    if grant is None:
        raise OAuthError(40001, "invalid credential, access_token is invalid or not latest")
    if grant.access_expires_at < utcnow():
        raise OAuthError(42001, "access_token expired")
    if _openid_of(grant) != openid:
        raise OAuthError(40003, "invalid openid")
    return grant


def _openid_of(grant: SandboxOAuthGrant) -> str:
    return grant.snapshot_openid or grant.user.openid


def _token_payload(grant: SandboxOAuthGrant) -> dict:
    payload = {
        "access_token": grant.access_token,
        "expires_in": int(ACCESS_LIFETIME.total_seconds()),
        "refresh_token": grant.refresh_token,
        "openid": _openid_of(grant),
        "scope": grant.scope,
    }
    if grant.snapshot_openid:
        payload["is_snapshotuser"] = 1  # WeChat leaves the field out for everyone else
    return payload
