"""A huge text is refused by its length before anything normalises it (NFKC can multiply a
text's size: one character "﷽" becomes 18)."""

import unicodedata

import pytest

from app import money
from app.catalog import editing
from app.catalog.editing import Rejected
from app.money import InvalidAmount
from app.payments import tips
from app.payments.tips import TipRefused

HUGE = "﷽" * 1_000_000


@pytest.fixture
def no_normalising(monkeypatch):
    def refuse(form, text):
        raise AssertionError(f"normalised {len(text)} characters")

    for module in (editing, money, tips):
        monkeypatch.setattr(module, "unicodedata", _Without(refuse))


class _Without:
    """unicodedata, with normalize replaced."""

    def __init__(self, normalize):
        self.normalize = normalize

    def __getattr__(self, name):
        return getattr(unicodedata, name)


@pytest.mark.usefixtures("no_normalising")
def test_huge_texts_are_refused_unnormalised():
    with pytest.raises(TipRefused) as refused:
        tips.clean_message(HUGE)
    assert refused.value.code == "message_too_long"
    with pytest.raises(TipRefused):
        tips.clean_name(HUGE)
    with pytest.raises(InvalidAmount):
        money.parse_yuan(HUGE)
    with pytest.raises(Rejected):
        editing.normalise_slug(HUGE)


def test_what_people_type_is_still_cleaned():
    assert tips.clean_message("  谢谢\u202e   作者  ") == "谢谢 作者"
    assert money.parse_yuan(" ¥９．９ ") == 990
    assert editing.normalise_slug(" Ｗｒｉｔｉｎｇ-101 ") == "writing-101"
