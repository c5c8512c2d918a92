"""The tip rules that need no request: amounts, messages, names and the creator's settings."""

import pytest

from app.payments import tips
from app.payments.tips import TipRefused, TipSettings

LIMITS = TipSettings(presets_fen=(200, 500), max_fen=50000, thanks_note="", show_amounts=True)


@pytest.mark.parametrize(("value", "fen"), [(1, 1), (500, 500), (50000, 50000)])
def test_amounts_in_fen_from_one_fen_to_the_maximum(value, fen):
    assert tips.check_amount_fen(value, LIMITS) == fen


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, "amount_too_small"),
        (-1, "amount_too_small"),
        (50001, "amount_too_large"),
        (1.0, "bad_amount"),
        ("100", "bad_amount"),
        (True, "bad_amount"),
        (None, "bad_amount"),
    ],
)
def test_amounts_in_fen_refused(value, code):
    with pytest.raises(TipRefused) as refused:
        tips.check_amount_fen(value, LIMITS)
    assert refused.value.code == code


@pytest.mark.parametrize(("text", "fen"), [("0.01", 1), ("6.66", 666), ("500", 50000)])
def test_typed_yuan(text, fen):
    assert tips.parse_amount_yuan(text, LIMITS) == fen


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "赞赏金额至少 ¥0.01"),
        ("0.00", "赞赏金额至少 ¥0.01"),
        ("-1", "金额不能为负数"),
        ("abc", "请输入数字金额"),
        ("1e2", "请输入数字金额"),
        ("1.001", "金额最多两位小数"),
        ("500.01", "单次赞赏最多 ¥500"),
        ("  ", "请选择或输入赞赏金额"),
    ],
)
def test_typed_yuan_refused_with_a_clear_message(text, message):
    with pytest.raises(TipRefused) as refused:
        tips.parse_amount_yuan(text, LIMITS)
    assert refused.value.message == message


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, ""),
        ("  写得好  ", "写得好"),
        ("第一行\n\n第二行\t!", "第一行 第二行 !"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # text, escaped on output
        ("a\u202eevil\u202c", "aevil"),  # bidi override: could disguise the message
        ("zero\u200bwidth\x00\x07", "zerowidth"),
        ("家庭👨\u200d👩\u200d👧", "家庭👨\u200d👩\u200d👧"),  # emoji joins survive
        ("字" * 100, "字" * 100),
    ],
)
def test_messages_become_plain_single_line_text(raw, clean):
    assert tips.clean_message(raw) == clean


def test_long_messages_and_names_are_refused_not_cut():
    with pytest.raises(TipRefused) as refused:
        tips.clean_message("字" * 101)
    assert refused.value.message == "留言最多 100 个字"
    with pytest.raises(TipRefused) as refused:
        tips.clean_name("名" * 21)
    assert refused.value.code == "name_too_long"


@pytest.mark.parametrize(
    ("presets", "max_fen", "code"),
    [
        ([], 50000, "bad_presets"),
        ([100] * 9, 50000, "bad_presets"),
        ([0, 100], 50000, "bad_presets"),
        ([100, 60000], 50000, "bad_presets"),
        ([100], 0, "bad_max"),
    ],
)
def test_settings_are_checked(app_ctx, presets, max_fen, code):
    with pytest.raises(TipRefused) as refused:
        tips.save_settings(presets, max_fen, "谢谢", show_amounts=True)
    assert refused.value.code == code


def test_settings_are_saved_sorted_and_distinct(app_ctx):
    saved = tips.save_settings([500, 100, 500], 1000, "  多谢  支持 ", show_amounts=False)
    assert saved == TipSettings((100, 500), 1000, "多谢 支持", False)
    assert tips.settings() == saved
