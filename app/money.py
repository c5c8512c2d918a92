"""Integer fen helpers. Money is an int of fen everywhere; only these functions see yuan."""

from decimal import Decimal, InvalidOperation

MAX_FEN = 10**10  # ¥100,000,000: beyond anything a shop sells, small enough for any column


class InvalidAmount(ValueError):
    """A yuan amount a person typed that is not a valid price."""


def parse_yuan(text: str) -> int:
    """'9.9' -> 990. Rejects negatives, more than two decimals and anything not a number."""
    cleaned = str(text).strip().lstrip("¥￥").strip()
    try:
        yuan = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidAmount("请输入数字金额") from None
    if not yuan.is_finite():
        raise InvalidAmount("请输入数字金额")
    if yuan < 0:
        raise InvalidAmount("金额不能为负数")
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise InvalidAmount("金额最多两位小数")
    if fen > MAX_FEN:
        raise InvalidAmount("金额过大")
    return int(fen)


def format_fen(fen: int) -> str:
    """990 -> '¥9.90', 19900 -> '¥199'. Whole yuan drop the decimals, as price tags do."""
    yuan, cents = divmod(int(fen), 100)
    sign = "-" if fen < 0 else ""
    if fen < 0:
        yuan, cents = divmod(-int(fen), 100)
    if cents == 0:
        return f"{sign}¥{yuan:,}"
    return f"{sign}¥{yuan:,}.{cents:02d}"
