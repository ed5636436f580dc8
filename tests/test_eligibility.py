"""The Mynapoint Q&A: amounts from the YAML rules, by keys and by voice, before and after deadlines."""

from __future__ import annotations

import pytest
from support import LANG_KEYS, Caller, after_last_input, heard, jst

ROUND2 = jst(2022, 7, 1, 10, 0)      # both second-round windows open
EARLY_2022 = jst(2022, 3, 1, 10, 0)  # second round open for the card only
TODAY = jst(2026, 12, 7, 10, 0)      # long after every deadline
QA = "2 5 1"                         # English, Mynapoint, eligibility check


def result(call: Caller, answers: str, at: object = ROUND2, prefix: str = QA) -> str:
    return heard(after_last_input(call(f"{prefix} {answers}", at=at)))


@pytest.mark.parametrize(("answers", "points", "registrations"), [
    ("1 2 1 1", "20,000", 2),   # card, round 1 not complete, health insurance, account
    ("1 1 1 1", "15,000", 2),   # round 1 already complete: 7,500 + 7,500
    ("1 2 2 1", "12,500", 1),   # the account only
    ("1 2 2 2", "5,000", 0),    # the second round's card points only
])
def test_points_add_up_from_the_rules(call: Caller, answers: str, points: str, registrations: int) -> None:
    text = result(call, answers)
    assert f"you can receive up to {points} yen" in text
    # each registration the caller has made is a rule of its own, with its own deadline
    assert text.count("for registering") == registrations
    # every amount comes with its deadline
    amounts = [line for line in text.splitlines()[1:] if " yen" in line]
    assert amounts and all("Apply by February 28, 2023." in line for line in amounts)
    assert "4-digit PIN" in text and "this call will never ask for it" in text


def test_each_point_source_is_explained(call: Caller) -> None:
    text = result(call, "1 2 1 1")
    assert "up to 5,000 yen for charges or purchases" in text
    assert "7,500 yen for registering your card as a health insurance card. Apply by February 28, 2023." in text
    assert "7,500 yen for registering a bank account for public funds" in text


def test_hints_name_what_is_missing(call: Caller) -> None:
    text = result(call, "1 1 2 2")
    assert "you cannot receive Mynapoint points at this time" in text
    assert "If you register your card as a health insurance card, you can receive 7,500 yen" in text
    assert "If you register a bank account for public funds, you can receive 7,500 yen" in text


def test_no_card_before_the_card_deadline(call: Caller) -> None:
    text = result(call, "2")
    assert "you cannot receive Mynapoint points at this time" in text
    assert "apply for a My Number Card by September 30, 2022" in text


def test_no_card_after_the_card_deadline(call: Caller) -> None:
    text = result(call, "2", at=jst(2022, 10, 1, 10, 0))
    assert "The deadline to apply for a My Number Card for Mynapoint, September 30, 2022, has passed." in text


def test_before_the_second_windows_open(call: Caller) -> None:
    text = result(call, "1 2 1 1", at=EARLY_2022)
    assert "you can receive up to 5,000 yen" in text
    assert "Applications for the 7,500 yen for registering your card as a health insurance card are planned to open on June 30, 2022." in text
    assert "From June 30" not in text  # the Oshu page says planned (予定): not said as a fact before the day


def test_once_june_30_has_passed_the_hints_give_the_deadline(call: Caller) -> None:
    text = result(call, "1 2 2 2", at=jst(2022, 6, 30, 10, 0))
    assert "If you register your card as a health insurance card, you can receive 7,500 yen of points. Apply by February 28, 2023." in text
    assert "planned" not in text


def test_before_march_28_2022_the_account_hint_says_when_registration_opens(call: Caller) -> None:
    text = result(call, "1 2 2 2", at=EARLY_2022)
    assert "Bank accounts for public funds can be registered from March 28, 2022" in text
    assert "registered from March 28" not in result(call, "1 2 2 2", at=ROUND2)


def test_from_october_2022_a_card_holder_hears_the_card_deadline(call: Caller) -> None:
    condition = "This counts only if you applied for your My Number Card by September 30, 2022"
    later = result(call, "1 2 1 1", at=jst(2022, 10, 1, 10, 0)).splitlines()
    assert "up to 20,000 yen" in later[0] and condition in later[1]  # right after the amount it qualifies
    assert condition not in result(call, "1 2 1 1", at=jst(2022, 9, 30, 10, 0))


def test_first_round(call: Caller) -> None:
    text = result(call, "1 2 2 2", at=jst(2021, 6, 1, 10, 0))
    assert "25 percent" in text and "up to 5,000 yen" in text and "if you applied for your card by April 30, 2021" in text
    assert "Charges and purchases count from September 1, 2020, never before your own application; apply by December 31, 2021." in text
    assert "From January 1, 2022, people who did not apply in the first round can receive up to 5,000 yen in the second round" in text


def test_after_the_programme_ended_it_says_so(call: Caller) -> None:
    text = result(call, "1 2 1 1", at=TODAY)
    assert text.count("The Mynapoint programme has ended. Applications for points closed on February 28, 2023") == 1
    assert "at this time" not in text and "up to" not in text and "To apply" not in text


@pytest.mark.parametrize("code", ["ja", "en", "zh", "ko", "es", "pt"])
def test_after_the_end_every_answer_path_says_the_programme_has_ended(engine, code: str) -> None:  # type: ignore[no-untyped-def]
    from itertools import product

    from ivr.eligibility import explain
    from ivr.speech import fill, format_date

    menu = engine.menu
    elig, lang = menu.eligibility, menu.languages[code]
    expected = fill(elig.ended[code], {"ends": format_date(elig.ends, lang)})
    for values in product([True, False, None], repeat=4):  # None: a question the caller never reached
        answers = {k: v for k, v in zip(("has_card", "round1_full", "health_insurance", "public_account"), values)
                   if v is not None}
        assert explain(elig, answers, jst(2023, 3, 1, 10, 0).date(), code, lang) == [expected], answers


def test_eligibility_readings_fill_dates_as_the_synthesiser_reads_them(engine) -> None:  # type: ignore[no-untyped-def]
    from ivr.eligibility import explain

    menu = engine.menu
    answers = {"has_card": True, "round1_full": False, "health_insurance": True, "public_account": True}
    ja = explain(menu.eligibility, answers, ROUND2.date(), "ja", menu.languages["ja"])
    deadline = next(s for s in ja if "健康保険証" in s)
    assert "2023年2月28日" in deadline and deadline.reading is not None
    assert "2023ねん2がつ28にち" in deadline.reading and "年" not in deadline.reading
    zh = explain(menu.eligibility, answers, ROUND2.date(), "zh", menu.languages["zh"])
    assert all(s.reading and "{" not in s.reading for s in zh[:-1])
    assert "2023 nian2 2 yue4 28 ri4" in next(s.reading for s in zh if "健康保险证" in s)


def test_the_day_of_the_deadline_still_counts(call: Caller) -> None:
    assert "up to 20,000 yen" in result(call, "1 2 1 1", at=jst(2023, 2, 28, 23, 0))
    assert "up to 20,000 yen" not in result(call, "1 2 1 1", at=jst(2023, 3, 1, 0, 30))


def test_speech_answers_equal_key_answers(call: Caller) -> None:
    by_voice = result(call, "say:yes 'say:no I have not' 'say:yes I did' say:yeah")
    assert by_voice == result(call, "1 2 1 1")


@pytest.mark.parametrize(("lang", "yes", "no", "expected"), [
    ("ja", "はい", "いいえ", "最大20,000円分"),
    ("zh", "是的", "没有", "最多可以获得20,000日元"),
    ("ko", "네", "아니요", "최대 20,000엔"),
    ("es", "sí", "no", "hasta 20,000 yenes"),
    ("pt", "sim", "não", "até 20.000 ienes"),
])
def test_speech_in_each_language(call: Caller, lang: str, yes: str, no: str, expected: str) -> None:
    text = result(call, f"say:{yes} say:{no} say:{yes} say:{yes}", prefix=f"{LANG_KEYS[lang]} 5 1")
    assert expected in text


def test_unclear_speech_is_asked_again(call: Caller) -> None:
    events = call(f"{QA} 'say:maybe tomorrow'", at=ROUND2)
    said = [e["prompt"] for e in after_last_input(events) if e["type"] == "say"]
    assert said == ["not_understood", "q_card"]


def test_rules_come_from_the_yaml(engine) -> None:  # type: ignore[no-untyped-def]
    """Changing a rule's points in the data changes the answer: nothing is hard-coded."""
    from ivr.eligibility import points

    elig = engine.menu.eligibility
    answers = {"has_card": True, "round1_full": False, "health_insurance": True, "public_account": True}
    assert points(elig, answers, ROUND2.date()) == 20000
    richer = elig.model_copy(update={"rules": [r.model_copy(update={"points": r.points * 2}) for r in elig.rules]})
    assert points(richer, answers, ROUND2.date()) == 40000


def test_phone_numbers_and_braces_in_rule_texts(engine) -> None:  # type: ignore[no-untyped-def]
    """Rule texts may carry {tel:...} markup beside their {placeholders}."""
    from ivr.eligibility import explain

    elig = engine.menu.eligibility
    rule = elig.rules[-1]
    texted = rule.model_copy(update={"say": {**rule.say, "en": "Call {tel:0120-95-0178} by {closes}."}})
    elig = elig.model_copy(update={"rules": [*elig.rules[:-1], texted]})
    sentences = explain(elig, {"has_card": False}, ROUND2.date(), "en", engine.menu.languages["en"])
    assert any(s.startswith("Call {tel:0120-95-0178} by ") for s in sentences)
