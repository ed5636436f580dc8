"""What callers' words mean at a node (`ivr.hearing`), on the free dial's own phrases: keys said as
words, phrases in every language however the recogniser wrote them, commands, and the unclear
cases that must be asked again rather than guessed."""

from __future__ import annotations

import pytest
from support import WEEKDAY_MORNING

from ivr.engine import Call, Engine, Listen, Speak
from ivr.hearing import Hearing, normalise
from ivr.menu import Menu


@pytest.fixture(scope="module")
def hearing(menu: Menu) -> Hearing:
    return Hearing(menu)


def test_words_are_folded_as_the_recogniser_may_write_them() -> None:
    assert normalise("ＬＯＳＴ　Ｃａｒｄ！") == "lost card"          # full-width letters and space
    assert normalise("２番") == normalise("2番")                         # full-width digits
    assert normalise("オペレーター") == normalise("おぺれーたー")       # katakana as hiragana
    assert normalise("Perdí, ¿mi tarjeta?") == "perdi mi tarjeta"       # accents and punctuation
    assert normalise("ｵﾍﾟﾚｰﾀｰ") == normalise("オペレーター")           # half-width katakana


@pytest.mark.parametrize(("lang", "heard", "key"), [
    ("en", "two", "2"), ("en", "Press two, please", "2"), ("en", "number 2", "2"), ("en", "nine", "9"),
    ("ja", "に", "2"), ("ja", "2番", "2"), ("ja", "２番をお願いします", "2"), ("ja", "二号", "2"), ("ja", "ごばん", "5"),
    ("zh", "二", "2"), ("zh", "按五", "5"), ("zh", "星号", "*"),
    ("ko", "이번", "2"), ("ko", "오번이요", "5"), ("ko", "이요", "2"), ("ko", "두 번째요", "2"), ("ko", "세번째", "3"),
    ("ja", "2番を押して", "2"), ("ja", "にをおします", "2"), ("zh", "第三个", "3"),
    ("es", "dos", "2"), ("es", "la opción cinco", "5"),
    ("pt", "dois", "2"), ("pt", "número cinco", "5"),
])
def test_a_key_said_as_a_word_is_that_key(hearing: Hearing, lang: str, heard: str, key: str) -> None:
    assert hearing.understand("main", lang, heard) == key


@pytest.mark.parametrize(("lang", "heard"), [
    ("en", "I lost my card"), ("en", "my card was STOLEN"), ("ja", "カードをなくしてしまいました"), ("ja", "落としました"),
    ("ja", "ふんしつ"), ("ja", "紛失"), ("zh", "我的卡丢了"), ("zh", "卡被盗了"), ("ko", "카드를 잃어버렸어요"), ("ko", "분실"),
    ("es", "perdí mi tarjeta"), ("es", "PERDI MI TARJETA"), ("es", "me la robaron"),
    ("pt", "perdi meu cartão"), ("pt", "foi roubado"), ("pt", "perdi meu cartao"),
])
def test_a_lost_or_stolen_card_is_option_2_in_every_language(hearing: Hearing, lang: str, heard: str) -> None:
    assert hearing.understand("main", lang, heard) == "2"


def test_a_phrase_inside_a_longer_one_of_another_choice_gives_way(hearing: Hearing) -> None:
    """"card" alone is no phrase of option 1, but "notification card" is: "my notification card" is 1,
    "I lost my card" is 2; two choices' phrases together are asked again."""
    assert hearing.understand("main", "en", "my notification card") == "1"
    assert hearing.understand("main", "en", "I lost my card") == "2"
    assert hearing.understand("main", "en", "certificate or mynaportal") is None
    assert hearing.understand("main", "ja", "証明書とマイナポータル") is None


@pytest.mark.parametrize(("lang", "heard"), [
    ("en", "I lost my notification card"), ("en", "I lost my card so I need to renew"),
    ("ja", "通知カードをなくしました"), ("ja", "カードを紛失して電子証明書を止めたい"), ("zh", "通知卡丢了"),
    ("ko", "통지 카드를 잃어버렸어요"), ("es", "perdí la tarjeta de notificación"), ("pt", "perdi o cartão de notificação"),
    ("en", "someone stole my card"), ("pt", "alguém roubou meu cartão"), ("es", "se me perdió la tarjeta"),
])
def test_the_lost_card_wins_over_any_other_choice_said_with_it(hearing: Hearing, lang: str, heard: str) -> None:
    """The main menu's priority: a lost card is never asked again because another choice's word
    (a certificate, a notification card) or a command's ("someone") came with it."""
    assert hearing.understand("main", lang, heard) == "2"
    assert hearing.understand("after_hours", lang, heard) == "2"  # the same words after hours


def test_a_yes_or_no_said_first_answers_the_question_whatever_follows(menu: Menu) -> None:
    engine = Engine(menu)
    for lang, heard, expected in (("en", "no, someone applied for me", "no"), ("en", "yes, I applied for one again", "yes"),
                                  ("pt", "sim, pedi de novo", "yes"), ("es", "sí, la pedí otra vez", "yes"),
                                  ("ja", "はい、もう一度申請しました", "yes"), ("ko", "없네요", "no")):
        call = Call("q_card", lang, engine.revision)
        assert engine.step(call, Speak(heard), WEEKDAY_MORNING).meant == expected, heard
    call = Call("q_card", "ja", engine.revision)  # つないで holds ない, but nothing starts with an answer
    assert engine.step(call, Speak("オペレーターにつないで"), WEEKDAY_MORNING).node == "operator"


def test_a_short_korean_word_is_heard_only_where_a_word_starts(hearing: Hearing) -> None:
    assert hearing.understand("busy", "ko", "네") == "1"
    assert hearing.understand("busy", "ko", "아니요 괜찮네요") == "2"  # 네 inside 괜찮네요 is no yes


def test_a_key_name_holding_a_filler_is_still_that_key(hearing: Hearing) -> None:
    for heard in ("按星号键", "按星号", "我要按星号键"):
        assert hearing.understand("main", "zh", heard) == "*", heard
    assert hearing.understand("main", "zh", "请按井号") == "#"
    assert hearing.understand("main", "en", "oh") is None  # "oh" is no zero: a sigh would reach the operator


def test_keys_said_in_any_language_choose_at_the_language_choice(hearing: Hearing) -> None:
    for heard, key in (("two", "2"), ("dos", "2"), ("cinco", "5"), ("スパニッシュ", "5"), ("ポルチュギーズ", "6")):
        assert hearing.understand("language", "ja", heard) == key, heard


def test_latin_words_are_found_beside_chinese_and_korean_without_spaces(hearing: Hearing) -> None:
    assert hearing.understand("main", "zh", "我想问mynapoint") == "5"
    assert hearing.understand("main", "zh", "mynaportal的问题") == "4"
    assert hearing.understand("main", "en", "mynapointless") is None  # but never inside a Latin word


def test_the_longer_phrase_wins_however_it_is_spaced(hearing: Hearing) -> None:
    """Korean spacing varies: 마이넘버 제도 (3) holds 제도 (3) and the free dial's 마이나 포인트 (5) is
    one phrase with or without its space; a phrase inside a longer one gives way even when the
    two are spaced differently."""
    assert hearing.understand("main", "ko", "마이나포인트") == "5"
    assert hearing.understand("main", "ko", "마이나 포인트요") == "5"
    book = hearing.book("main", "ko")
    pattern = next(p for phrase, p, _ in book.phrases if phrase == "포인트")
    assert any(phrase == "마이나 포인트" for phrase, _, _ in book.phrases)
    assert pattern.search("마이나포인트")  # the containment test compares without spaces, as matching does


def test_commands_work_where_their_keys_do_and_choices_win_over_them(hearing: Hearing) -> None:
    assert hearing.understand("main", "en", "can I talk to an operator") == "operator"
    assert hearing.understand("main", "ja", "最初のメニューに戻ってください") == "main_menu"
    assert hearing.understand("main", "zh", "再说一遍") == "repeat"
    # At the language node the main-menu and operator keys are off, so are their words.
    assert hearing.understand("language", "ja", "オペレーター") is None
    # "again" is the repeat command, but "try again" is the busy menu's choice 1.
    assert hearing.understand("busy", "en", "try again") == "1"
    assert hearing.understand("busy", "en", "again") == "repeat"
    # At the Mynapoint menu, "talk to staff" is its own desk (2), not the general operator.
    assert hearing.understand("mynapoint", "en", "I want to talk to staff") == "2"


def test_the_language_is_chosen_by_its_name_in_any_language(hearing: Hearing) -> None:
    for heard, key in (("English", "2"), ("英語で", "2"), ("イングリッシュ", "2"), ("中文", "3"), ("韓国語", "4"),
                       ("한국어", "4"), ("español por favor", "5"), ("português", "6"), ("にほんご", "1")):
        assert hearing.understand("language", "ja", heard) == key, heard


@pytest.mark.parametrize("heard", ["", "   ", "hmm", "えーと", "the weather is nice"])
def test_words_that_fit_nothing_are_unclear(hearing: Hearing, heard: str) -> None:
    assert hearing.understand("main", "en", heard) is None


def test_hints_are_the_nodes_phrases_and_commands_in_the_callers_language(hearing: Hearing) -> None:
    hints = hearing.hints("main", "es")
    assert {"perdí", "robada", "mynapoint", "operador", "repetir"} <= set(hints)
    assert "lost" not in hints and len(hints) <= 500 and all("," not in h for h in hints)
    question = hearing.hints("q_card", "ko")
    assert {"네", "아니요", "상담원"} <= set(question)


def test_the_engine_asks_again_when_recognition_is_unsure(menu: Menu) -> None:
    engine = Engine(menu)
    call, _ = engine.start(WEEKDAY_MORNING, lang="en")
    unsure = engine.step(call, Speak("I lost my card", confidence=0.1), WEEKDAY_MORNING)
    assert unsure.node == "main" and unsure.meant == "unclear" and call.retries == 1
    assert unsure.say[0].text == "Sorry, please say it again or press a key."
    sure = engine.step(call, Speak("I lost my card", confidence=0.82), WEEKDAY_MORNING)
    assert sure.node == "lost_desk" and sure.meant == "key"


def test_an_unclear_phrase_counts_as_a_retry_and_ends_safely_like_silence(menu: Menu) -> None:
    engine = Engine(menu)
    call, _ = engine.start(WEEKDAY_MORNING, lang="en")
    steps = [engine.step(call, Speak("hmm"), WEEKDAY_MORNING) for _ in range(3)]
    assert [s.meant for s in steps] == ["unclear", "unclear", "give_up"]
    assert steps[-1].node == "operator"  # the default way out: staff, as after silence


def test_every_menu_listens_with_its_phrases_as_hints(menu: Menu) -> None:
    engine = Engine(menu)
    call, _ = engine.start(WEEKDAY_MORNING, lang="pt")
    step = engine.step(call, Speak("Mynapoint"), WEEKDAY_MORNING)
    assert isinstance(step.action, Listen) and step.node == "mynapoint"
    assert "golpe" in step.action.hints and step.say[-1].prompt == "press_or_say"
