import pytest

from app.money import (
    InvalidAmount,
    format_fen,
    parse_yuan,
    yuan_for_input,
    yuan_for_sheet,
    yuan_with_sign,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("9.9", 990),
        ("9.90", 990),
        ("199", 19900),
        ("0.01", 1),
        ("¥19.9", 1990),
        (" 0 ", 0),
        ("９．９", 990),
        ("￥5", 500),
        (".5", 50),
    ],
)
def test_parse_yuan_gives_integer_fen(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["", "abc", "-1", "0.001", "1e3x", "1e3", "1_000", "NaN", "Infinity", "1" * 20, "-"]
)
def test_parse_yuan_rejects_what_is_not_a_price(text):
    with pytest.raises(InvalidAmount):
        parse_yuan(text)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (990, "¥9.90"),
        (19900, "¥199"),
        (1, "¥0.01"),
        (0, "¥0"),
        (1234567, "¥12,345.67"),
        (-990, "-¥9.90"),
    ],
)
def test_format_fen(fen, text):
    assert format_fen(fen) == text


@pytest.mark.parametrize(
    ("fen", "text"), [(990, "9.90"), (500, "5"), (1, "0.01"), (123456, "1234.56")]
)
def test_yuan_for_input_reads_back(fen, text):
    assert yuan_for_input(fen) == text
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (1, "0.01"), (500, "5.00"), (1990, "19.90"), (-250, "-2.50")]
)
def test_yuan_for_sheet_always_has_two_decimals(fen, text):
    assert yuan_for_sheet(fen) == text


def test_an_amount_for_wechats_templates_has_a_sign_and_two_decimals_and_no_separators():
    assert [yuan_with_sign(fen) for fen in (1990, 500, 123456, 1)] == [
        "¥19.90",
        "¥5.00",
        "¥1234.56",
        "¥0.01",
    ]
