"""Spoken answers: which words are a yes, a no, or neither, in each language (`ivr.hearing.yes_or_no`).
Whole calls answered by voice are in test_eligibility.py."""

from __future__ import annotations

import pytest

from ivr.hearing import yes_or_no
from ivr.menu import Menu


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


def test_a_space_in_a_phone_number_groups_the_reading_without_being_shown() -> None:
    from ivr.speech import display, spoken

    text = "The line is {tel:0570-010 076}."
    assert display(text) == "The line is 0570-010076."
    assert spoken(text) == "The line is 0 5 7 0, 0 1 0, 0 7 6."


def test_the_foreign_language_line_is_read_in_groups_a_caller_can_write_down(menu: Menu) -> None:
    from ivr.speech import display, spoken

    for code, text in menu.nodes["after_hours"].say.items():
        assert "0570-010076" in display(text) and "0 5 7 0, 0 1 0, 0 7 6" in spoken(text), code


def test_portuguese_says_the_first_of_a_month_as_an_ordinal(menu: Menu) -> None:
    import datetime as dt

    from ivr.speech import format_date

    assert format_date(dt.date(2022, 1, 1), menu.languages["pt"]) == "1º de janeiro de 2022"
    assert format_date(dt.date(2022, 1, 2), menu.languages["pt"]) == "2 de janeiro de 2022"
    assert format_date(dt.date(2022, 1, 1), menu.languages["es"]) == "1 de enero de 2022"
    assert format_date(dt.date(2023, 2, 28), menu.languages["ja"], reading=True) == "2023ねん2がつ28にち"
