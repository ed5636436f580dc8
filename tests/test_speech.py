"""Spoken answers: which words are a yes, a no, or neither, in each language (`ivr.speech.yes_or_no`).
Whole calls answered by voice are in test_eligibility.py."""

from __future__ import annotations

import pytest

from ivr.menu import Menu
from ivr.speech import yes_or_no


@pytest.mark.parametrize(("lang", "heard_text", "expected"), [
    ("zh", "没有", False), ("zh", "有", True), ("zh", "不是", False),
    ("ko", "안 했어요", False), ("ko", "했어요", True),
    ("en", "I know, yes", True), ("en", "nope", False), ("en", "yes and no", None),
    ("ja", "はい、持っています", True), ("ja", "いいえ、まだです", False),
])
def test_yes_or_no_matching(menu: Menu, lang: str, heard_text: str, expected: bool | None) -> None:
    assert yes_or_no(heard_text, menu.languages[lang]) is expected


@pytest.mark.parametrize(("lang", "heard_text", "expected"), [
    ("ja", "ううん", False), ("ja", "持ってません", False),
    ("ko", "못 받았어요", False), ("ko", "아니예요", False), ("ko", "있습니다", True),
    ("zh", "没领过", False), ("zh", "领取了", True),
    ("es", "no la tengo", False),
    ("pt", "não tenho", False), ("pt", "sim, tenho", True),
])
def test_yes_or_no_on_tricky_answers(menu: Menu, lang: str, heard_text: str, expected: bool) -> None:
    """Answers whose no-form holds a yes-word (ううん/うん, 못 받았어요/받았어요, 没领过/领过, no la tengo/la tengo)."""
    assert yes_or_no(heard_text, menu.languages[lang]) is expected


@pytest.mark.parametrize(("lang", "heard_text"), [
    ("en", "I'm not sure"), ("en", "I don't know"), ("ja", "わからないです"), ("zh", "不知道"),
    ("ko", "잘 모르겠어요"), ("es", "no sé"), ("pt", "não sei"),
])
def test_unsure_answers_are_asked_again(menu: Menu, lang: str, heard_text: str) -> None:
    assert yes_or_no(heard_text, menu.languages[lang]) is None


def test_not_having_applied_is_a_no(menu: Menu) -> None:
    assert yes_or_no("I haven't applied", menu.languages["en"]) is False
    assert yes_or_no("I've applied for one", menu.languages["en"]) is True
