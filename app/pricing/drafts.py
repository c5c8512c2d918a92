"""Reading what a creator typed (the studio's forms, `flask shop coupon create`) into offers and
coupons: yuan into fen, 折 into a percentage, the shop's local times into UTC. One reader of
creator input for both, so the shell and the studio accept the same things."""

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from app.models import CouponKind
from app.models.base import utcnow
from app.money import InvalidAmount, parse_yuan
from app.pricing.coupons import CouponDraft, CouponInvalid
from app.pricing.refusals import PromotionInvalid

_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def local_time(text: str | None, timezone: str, what: str) -> datetime | None:
    """'2026-12-08T10:00' (a datetime-local field), '2026-12-08 10:00' or '2026-12-08' in the
    shop's time zone, as UTC; None when empty. PromotionInvalid names the field `what`."""
    text = (text or "").strip()
    if not text:
        return None
    for fmt in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))
    raise PromotionInvalid(f"{what}的格式应为 2026-12-08 10:00")


def zhe_to_percent_off(text: str) -> int:
    """'8' (八折) -> 20, '8.5' -> 15, '0' (免费) -> 100: what a percentage coupon takes off."""
    try:
        zhe = float(text.strip().rstrip("折"))
    except ValueError:
        raise CouponInvalid("折扣请填 0 到 9.9 之间的数字，例如 8 表示八折") from None
    tenths = round(zhe * 10)
    if not 0 <= tenths < 100 or abs(zhe * 10 - tenths) > 1e-6:
        raise CouponInvalid("折扣请填 0 到 9.9 之间的数字，例如 8 表示八折")
    return 100 - tenths


def _count(text: str | None, what: str, default: int | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit():
        raise CouponInvalid(f"{what}须为整数")
    return int(text)


def _yuan(text: str | None, what: str) -> int:
    try:
        return parse_yuan(text) if (text or "").strip() else 0
    except InvalidAmount as error:
        raise CouponInvalid(f"{what}：{error}") from None


def coupon_draft(
    fields: Mapping[str, str], product_ids: tuple[int, ...], timezone: str
) -> tuple[CouponDraft, int]:
    """The coupon the fields describe and how many codes to make.

    Fields: kind (amount | percent), amount (yuan) or zhe (折), code, name, min_spend
    (yuan), starts_at, ends_at (local), total_limit, per_reader_limit, count.
    """
    try:
        kind = CouponKind(fields.get("kind", "amount"))
    except ValueError:
        raise CouponInvalid("请选择立减或折扣") from None
    amount = kind is CouponKind.AMOUNT
    draft = CouponDraft(
        kind=kind,
        amount_off_fen=_yuan(fields.get("amount"), "立减金额") if amount else None,
        percent_off=None if amount else zhe_to_percent_off(fields.get("zhe", "")),
        code=fields.get("code", "").strip(),
        name=fields.get("name", ""),
        min_spend_fen=_yuan(fields.get("min_spend"), "最低消费"),
        product_ids=product_ids,
        starts_at=local_time(fields.get("starts_at"), timezone, "开始时间"),
        ends_at=local_time(fields.get("ends_at"), timezone, "结束时间"),
        total_limit=_count(fields.get("total_limit"), "总数量", None),
        per_reader_limit=_count(fields.get("per_reader_limit"), "每人限用", 1),
    )
    return draft, _count(fields.get("count"), "生成数量", 1)


def offer_fields(fields: Mapping[str, str], timezone: str) -> tuple[int, datetime, datetime]:
    """An offer's price (yuan) and its start and end (local; the start defaults to now)."""
    try:
        price_fen = parse_yuan(fields.get("price", ""))
    except InvalidAmount as error:
        raise PromotionInvalid(f"优惠价：{error}") from None
    starts_at = local_time(fields.get("starts_at"), timezone, "开始时间") or utcnow()
    ends_at = local_time(fields.get("ends_at"), timezone, "结束时间")
    if ends_at is None:
        raise PromotionInvalid("请填写结束时间")
    return price_fen, starts_at, ends_at
