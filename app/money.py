"""Integer fen helpers. Money is an int of fen everywhere; only these functions see yuan."""

import re
import unicodedata
from decimal import Decimal

MAX_FEN = 10**10  # ¥100,000,000: beyond anything a shop sells, small enough for any column
# The most a reader may choose to pay (随心付) in one order: a slip of the finger (an extra
# 0 or two) is caught, and it stays within what WeChat Pay takes from a wallet in one go.
MAX_CHOSEN_FEN = 5_000_00


class InvalidAmount(ValueError):
    """A yuan amount a person typed that is not a valid price."""


# Plain decimal notation only: no exponents ("1e3"), digit separators, NaN or Infinity.
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_TYPED = 50  # characters: an amount with a currency sign and spaces around it


def parse_yuan(text: str) -> int:
    """'9.9' -> 990. Rejects negatives, more than two decimals and anything not a number.

    Full-width digits and point ("９．９", as Chinese keyboards may type them) count too.
    """
    text = str(text)
    if len(text) > _MAX_TYPED:  # refused before normalising: NFKC can make text longer
        raise InvalidAmount("请输入数字金额")
    cleaned = unicodedata.normalize("NFKC", text).strip().lstrip("¥").strip()
    if len(cleaned) > 20 or not _DECIMAL.fullmatch(cleaned):
        raise InvalidAmount("请输入数字金额")
    yuan = Decimal(cleaned)
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


def yuan_for_input(fen: int) -> str:
    """990 -> '9.90', 500 -> '5': a form field's value, which parse_yuan reads back."""
    yuan, cents = divmod(int(fen), 100)
    return str(yuan) if cents == 0 else f"{yuan}.{cents:02d}"


def yuan_for_sheet(fen: int) -> str:
    """1990 -> '19.90', 500 -> '5.00': always two decimals, so a spreadsheet sums the column
    as numbers (format_fen's '¥1,990' is for people, yuan_for_input's '5' for forms)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{yuan}.{cents:02d}"


def yuan_with_sign(fen: int) -> str:
    """1990 -> '¥19.90', 500 -> '¥5.00': a currency sign and plain digits with two decimals,
    no separators, as WeChat's template messages take an amount."""
    return f"¥{yuan_for_sheet(fen)}"
