"""The free-dial menu as callers meet it: every option in every language, hours, fraud warning."""

from __future__ import annotations

import pytest
from support import LANG_KEYS, MENU_PATH, Caller, after_last_input, heard, jst, last

from ivr.loader import check_file
from ivr.menu import Menu

OPTIONS = {"1": ("card_info", "card_desk"), "2": ("lost_card", "lost_desk"), "3": ("system_info", "system_desk"),
           "4": ("portal_info", "portal_desk")}


def test_menu_file_is_lint_clean(menu: Menu) -> None:
    _, problems = check_file(MENU_PATH)
    assert problems == []
    assert set(menu.languages) == set(LANG_KEYS)


@pytest.mark.parametrize("lang", LANG_KEYS)
@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_in_each_language_transfers_during_hours(call: Caller, menu: Menu, lang: str,
                                                             option: str) -> None:
    info, desk = OPTIONS[option]
    events = call(f"{LANG_KEYS[lang]} {option}")
    said = [e for e in after_last_input(events) if e["type"] == "say"]
    assert [e["prompt"] for e in said] == [info] + ([desk] if menu.nodes[desk].say else [])
    assert all(e["lang"] == lang for e in said)
    assert said[0]["text"] == menu.nodes[info].say[lang]
    assert last(events) == {"type": "transfer", "node": desk, "to": "+81120950178"}


@pytest.mark.parametrize("lang", LANG_KEYS)
def test_option_5_opens_the_mynapoint_menu_in_each_language(call: Caller, menu: Menu, lang: str) -> None:
    events = call(f"{LANG_KEYS[lang]} 5")
    assert heard(after_last_input(events)).startswith(menu.nodes["mynapoint"].say[lang].split("\n")[0][:10])
    listen = [e for e in events if e["type"] == "listen"][-1]
    assert listen["node"] == "mynapoint" and listen["lang"] == lang


@pytest.mark.parametrize("lang", LANG_KEYS)
def test_language_choice_then_fraud_warning_then_main_menu(call: Caller, lang: str) -> None:
    events = call(LANG_KEYS[lang])
    prompts = [e["prompt"] for e in after_last_input(events) if e["type"] == "say"]
    assert prompts == ["lost_card_first", "fraud_warning", "main", "press_or_say"]  # the lost card comes first


def test_language_prompt_speaks_each_language_in_its_own_voice(call: Caller) -> None:
    first = [e for e in call("") if e["type"] == "say"]
    assert [e["lang"] for e in first] == ["ja", "en", "zh", "ko", "es", "pt"]
    assert "press 2" in first[1]["text"] and "5" in first[4]["text"]


@pytest.mark.parametrize("lang", LANG_KEYS)
def test_fraud_warning_names_the_numbers_to_call(call: Caller, lang: str) -> None:
    warning = [e for e in call(LANG_KEYS[lang]) if e.get("prompt") == "fraud_warning"][0]
    for number in ("9110", "188", "0120-95-0178"):
        assert number in warning["text"]
    assert "9 1 1 0" in warning["spoken"] and "0 1 2 0, 9 5, 0 1 7 8" in warning["spoken"]


def test_fraud_warning_says_what_officials_never_do(call: Caller) -> None:
    text = heard(call("2"))
    for phrase in ("My Number", "bank account number or PIN", "assets", "family details",
                   "bankbook or cash card", "money or a fee", "police", "consumer hotline", "option 5"):
        assert phrase in text
    warning = next(e["text"] for e in call("2") if e.get("prompt") == "fraud_warning")
    assert warning.count("never") == 3
    assert max(len(sentence.split()) for sentence in warning.split(". ")) < 40  # no 45-word sentence


def test_japanese_warning_follows_the_seed_page(call: Caller) -> None:
    text = heard(call("1"))
    for phrase in ("詐欺にご注意ください", "暗証番号", "通帳やキャッシュカード", "手数料", "警察相談専用電話",
                   "消費者ホットライン", "5番"):
        assert phrase in text


# -- hours ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("at", "open_"), [
    (jst(2026, 12, 7, 9, 29), False),    # Monday before opening
    (jst(2026, 12, 7, 9, 30), True),
    (jst(2026, 12, 7, 19, 59), True),
    (jst(2026, 12, 7, 20, 0), False),    # weekday evening
    (jst(2026, 12, 5, 17, 29), True),    # Saturday afternoon
    (jst(2026, 12, 5, 17, 30), False),
    (jst(2026, 12, 6, 23, 0), False),    # Sunday night
    (jst(2026, 11, 23, 10, 0), True),    # Labour Thanksgiving Day (a Monday holiday) morning
    (jst(2026, 11, 23, 18, 0), False),   # ... closed at 18:00 though a weekday would be open
])
def test_staffed_options_follow_the_hotline_hours(call: Caller, at: object, open_: bool) -> None:
    events = call("2 1", at=at)
    if open_:
        assert last(events)["type"] == "transfer"
    else:
        assert [e for e in events if e["type"] == "listen"][-1]["node"] == "after_hours"
        text = heard(after_last_input(events))
        assert "9:30 a.m. to 8 p.m." in text and "9:30 a.m. to 5:30 p.m." in text
        assert "050-3627-0952" in text and "0570-010076" in text


@pytest.mark.parametrize("at", [jst(2026, 12, 6, 3, 0), jst(2027, 1, 1, 23, 59), jst(2026, 11, 23, 21, 0)])
def test_lost_card_transfers_at_any_hour(call: Caller, at: object) -> None:
    events = call("2 2", at=at)
    assert last(events) == {"type": "transfer", "node": "lost_desk", "to": "+81120950178"}
    assert "24 hours a day, 365 days a year" in heard(events)


def test_after_hours_offers_the_lost_card_line(call: Caller) -> None:
    events = call("2 1 2", at=jst(2026, 12, 6, 23, 0))
    assert last(events)["node"] == "lost_desk"


def test_after_hours_silence_ends_politely(call: Caller) -> None:
    events = call("2 1 wait wait", at=jst(2026, 12, 6, 23, 0))
    assert last(events) == {"type": "hangup", "node": "goodbye"}
    assert "Thank you for calling" in heard(after_last_input(events))


def test_japanese_after_hours_states_the_hours(call: Caller) -> None:
    text = heard(call("1 3", at=jst(2026, 12, 7, 21, 0)))
    assert "平日は午前9時30分から午後8時まで" in text and "祝日は午前9時30分から午後5時30分まで" in text
