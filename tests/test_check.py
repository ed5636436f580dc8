"""`ivr check` plays every path: the real menu passes, broken small menus are caught, times add up."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import MENU_PATH

from bench.synthetic import synthetic_menu
from ivr.check import (
    UNCLEAR,
    Report,
    State,
    _Explorer,
    _Graph,
    _longest,
    check,
    format_report,
    moments,
    report_json,
    speech_seconds,
)
from ivr.cli import cli
from ivr.engine import Call, DialOutcome, End, Engine, Input, Listen, Press, Silence, Speak, Transfer
from ivr.loader import check_text, load_menu
from ivr.menu import KEYS, Menu, QuestionNode

TINY = """\
menu: {name: Tiny, version: "1", start: main, main_menu: main, operator: desk, default_language: en}
languages:
  en: {name: English, say_language: en-US, voice: Polly.Joanna, speech: en-US, yes: ["yes"], no: ["no"]}
hours:
  office: {timezone: Asia/Tokyo, weekdays: "09:00-17:00"}
prompts:
  invalid_key: {en: Sorry.}
  no_input: {en: Sorry.}
  not_understood: {en: Sorry.}
  restart: {en: Again.}
eligibility:
  total: {en: "You get {points} yen."}
  none: {en: Nothing for you.}
  bring: {en: Bring your card.}
  rules:
    - id: card
      when: {has_card: true}
      points: 5000
      opens: 2022-01-01
      closes: 2023-02-28
      say: {en: "Card points until {closes}."}
nodes:
  main:
    type: menu
    say:
      en: Press 1 for staff, 2 to leave, 3 for points.
    choices:
      "1": desk
      "2": bye
      "3": q_card
  q_card:
    type: question
    answer: has_card
    say: {en: "Do you have a card? Say yes or no."}
    "yes": result
    "no": result
  result:
    type: eligibility
    next: bye
  desk:
    type: transfer
    to: "+81120950178"
    hours: office
    closed: bye
    unanswered: bye
  bye:
    type: hangup
    say: {en: Goodbye.}
"""


def tiny(text: str = TINY) -> Menu:
    """A menu from text, even one lint rejects: check must stand on its own."""
    menu, _ = check_text(text, "tiny.yaml")
    assert menu is not None
    return menu


def problems(report: Report) -> list[str]:
    return [str(p) for p in report.problems]


@pytest.fixture(scope="module")
def free_dial() -> Report:
    return check(load_menu(MENU_PATH))


def test_the_free_dial_passes(free_dial: Report) -> None:
    assert problems(free_dial) == []
    assert set(free_dial.languages) == {"ja", "en", "zh", "ko", "es", "pt"}
    for entry in free_dial.languages.values():
        assert entry.states > 100
        assert entry.worst is not None and entry.silent is not None
        assert entry.worst.seconds >= entry.silent.seconds > 60  # the fraud warning alone is long


def test_the_free_dial_moments_cover_hours_and_rules(free_dial: Report) -> None:
    labels = {m.label: m.same_as for m in free_dial.moments}
    assert labels["holiday 19:00"] == "weekday 21:00"  # a holiday evening is closed like a weekday night
    assert labels["Saturday 15:00"] == "weekday 10:00"
    assert "after every rule 2023-03-01" in labels
    assert labels["hotline year-end holidays 2026-12-29"] == "weekday 21:00"  # closed, as at night
    assert "announcement busy_until_july_8 2022-06-30" in labels
    explored = [m for m in free_dial.moments if m.same_as is None]
    assert len(explored) == 5


def test_the_worst_case_replays_as_a_sim_script(free_dial: Report) -> None:
    walk = free_dial.languages["en"].worst
    assert walk is not None and walk.end.startswith(("hang-up", "answered"))
    result = CliRunner().invoke(cli, ["sim", "--menu", str(MENU_PATH), "--json", "--script", walk.script,
                                      "--at", walk.moment.at.isoformat()])
    events = [json.loads(line) for line in result.output.splitlines()]
    assert result.exit_code == 0
    assert events[-1]["type"] in ("hangup", "transfer") and events[-1]["node"] == walk.end.split()[-1]


def test_a_silent_loop_is_a_trap() -> None:
    looping = TINY.replace("      en: Press 1 for staff, 2 to leave, 3 for points.\n",
                           "      en: Press 1 for staff, 2 to leave, 3 for points.\n    on_give_up: main\n")
    assert check_text(looping, "tiny.yaml")[1] == []  # lint sees a way out (key 1 or 2)
    found = problems(check(tiny(looping)))
    assert len(found) == 1
    assert "a silent caller is never let go: main -> main -> main -> main repeats forever" in found[0]
    assert found[0].startswith("tiny.yaml:23: error: ")


# The main menu gives up to the desk, and an unanswered desk goes back to the main menu.
GIVE_UP_LOOP = TINY.replace(
    '    to: "+81120950178"\n    hours: office\n    closed: bye\n    unanswered: bye',
    '    to: "+81120950178"\n    hours: office\n    closed: bye\n    unanswered: main').replace(
    "      en: Press 1 for staff, 2 to leave, 3 for points.\n",
    "      en: Press 1 for staff, 2 to leave, 3 for points.\n    on_give_up: desk\n")


def test_a_give_up_back_to_an_unanswered_transfer_is_a_trap() -> None:
    found = problems(check(tiny(GIVE_UP_LOOP)))
    assert any("main -> main -> main -> desk -> main repeats forever (wait wait wait busy" in p for p in found)


def test_a_placeholder_left_in_an_eligibility_text_is_reported() -> None:
    text = TINY.replace("Card points until {closes}.", "Card points until {deadline}.")
    found = problems(check(tiny(text)))
    assert len(found) == 1
    assert "says '{deadline}' aloud in en" in found[0]
    assert found[0].startswith("tiny.yaml:21: error: ")  # the rule's en text
    assert "--at 2022-01-01T10:00+09:00 --script '3 1'" in found[0]  # only said while the rule is open


def test_a_stray_brace_is_reported_by_lint_and_by_check() -> None:
    text = TINY.replace("Card points until {closes}.", "Card points until {closes date}.")
    assert any("has a brace that is neither" in str(p) for p in check_text(text, "tiny.yaml")[1])
    assert any("'{closes date}'" in p for p in problems(check(tiny(text))))


def test_an_engine_failure_is_reported() -> None:
    text = TINY.replace("  en: {name: English,", "  ja: {name: 日本語, say_language: ja-JP, voice: Polly.Mizuki, "
                        "speech: ja-JP, yes: [はい], no: [いいえ]}\n  en: {name: English,")
    text = text.replace("    type: hangup\n    say: {en: Goodbye.}",  # no node has Japanese text
                        "    type: hangup\n    say: {en: Goodbye.}\n  start:\n    type: language\n"
                        "    say: {en: For English press 1., ja: 日本語は2。}\n"
                        '    choices: {"1": en, "2": ja}\n    default: en\n    next: main')
    text = text.replace("start: main,", "start: start,")
    found = problems(check(tiny(text)))
    assert any("key 2 at node start (en) makes the engine fail: KeyError: 'ja'" in p for p in found)


def test_a_node_no_caller_reaches_is_reported() -> None:
    text = TINY.replace('weekdays: "09:00-17:00"', 'weekdays: "closed"')
    found = problems(check(tiny(text)))
    assert found == [("tiny.yaml:40: error: node desk is never reached by any caller, in any language, "
                      "at any checked time (a transfer counts when it rings)")]


def test_a_dead_end_is_reported() -> None:
    text = TINY.replace('"1": desk\n      "2": bye\n      "3": q_card', '"1": main').replace(
        "default_language: en}", "default_language: en}\nkeys: {operator: null, main_menu: null}").replace(
        "      en: Press 1 for staff, 2 to leave, 3 for points.\n",
        "      en: Press 1.\n    on_give_up: main\n")
    found = problems(check(tiny(text)))
    assert any("node main (en, after 0 failed tries) is a dead end" in p for p in found)
    assert not any("never let go" in p for p in found)  # said once, as the dead end


def test_speech_time_by_script() -> None:
    assert speech_seconds("a" * 15) == pytest.approx(1.0)
    assert speech_seconds("あ漢" * 7) == pytest.approx(2.0)
    assert speech_seconds("가" * 8) == pytest.approx(1.0)


def test_worst_case_grows_with_a_longer_message() -> None:
    base = check(tiny()).languages["en"]
    intro = "Welcome to the tiny line. " * 10
    text = TINY.replace("start: main,", "start: intro,").replace(
        "nodes:\n", f"nodes:\n  intro:\n    type: message\n    say: {{en: {intro.strip()}}}\n    next: main\n")
    longer = check(tiny(text)).languages["en"]
    assert base.worst and base.silent and longer.worst and longer.silent
    assert 0 < base.silent.seconds <= base.worst.seconds
    assert longer.worst.seconds == pytest.approx(base.worst.seconds + speech_seconds(intro.strip()))
    assert longer.silent.seconds == pytest.approx(base.silent.seconds + speech_seconds(intro.strip()))


def slowest_call(engine: Engine, at: dt.datetime) -> float:
    """By brute force through the engine: the longest call at `at` that never comes back to a place
    (node, language, retries), fed every input `ivr check` feeds and timed as its docstring says
    (speech at the per-script rates, a silence the node's timeout, an unanswered transfer its
    ring timeout, keys and speech nothing)."""

    def inputs(call: Call, action: Listen | Transfer) -> list[tuple[Input, float]]:
        if isinstance(action, Transfer):
            return [(DialOutcome(answered=True), 0.0), (DialOutcome(answered=False), float(action.ring_timeout))]
        lang = engine.menu.languages[call.lang]
        question = isinstance(engine.menu.nodes[call.node], QuestionNode)
        spoken = [Speak(text) for text in ((lang.yes[0], lang.no[0], UNCLEAR) if question else (UNCLEAR,))]
        return [(Press(k), 0.0) for k in KEYS] + [(Silence(), float(action.timeout))] + [(s, 0.0) for s in spoken]

    def slowest(call: Call, action: Listen | Transfer, seen: frozenset[tuple[str, str, int]]) -> float:
        best = float("-inf")
        ways: dict[tuple[str, float], tuple[Call, object]] = {}  # calls alike, timed alike: tried once
        for event, cost in inputs(call, action):
            after = dataclasses.replace(call, answers=dict(call.answers))
            step = engine.step(after, event, at)
            seconds = cost + sum(speech_seconds(u.spoken) for u in step.say)
            if isinstance(step.action, End):
                best = max(best, seconds)
            elif (after.node, after.lang, after.retries) not in seen:
                ways.setdefault((repr(after), seconds), (after, step.action))  # e.g. every wrong key
        for (_, seconds), (after, then) in ways.items():
            assert isinstance(then, (Listen, Transfer))
            best = max(best, seconds + slowest(after, then, seen | {(after.node, after.lang, after.retries)}))
        return best

    call, step = engine.start(at)
    assert isinstance(step.action, (Listen, Transfer))
    start = sum(speech_seconds(u.spoken) for u in step.say)
    return start + slowest(call, step.action, frozenset({(call.node, call.lang, call.retries)}))


@pytest.mark.parametrize("text", [TINY, GIVE_UP_LOOP], ids=["tiny", "give-up loop"])
def test_the_worst_case_is_the_longest_call_that_never_comes_back(text: str) -> None:
    """The memoised search agrees with trying, through the engine, every call that never
    returns to a place, at every moment check explores."""
    menu = tiny(text)
    worst = check(menu).languages["en"].worst
    explored = [m for m in moments(menu) if m.same_as is None]
    assert worst is not None and len(explored) > 1
    assert worst.seconds == pytest.approx(max(slowest_call(Engine(menu), m.at) for m in explored))


def test_cli(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(TINY, encoding="utf-8")
    bad.write_text(TINY.replace('weekdays: "09:00-17:00"', 'weekdays: "closed"'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--menu", str(good)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(f"{good}: OK")
    assert "  worst case " in result.output and "  silent caller " in result.output
    result = CliRunner().invoke(cli, ["--menu", str(bad), "check", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["languages"]["en"]["worst"]["seconds"] > 0
    assert len(data["problems"]) == 1 and "node desk is never reached" in data["problems"][0]
    unusable = tmp_path / "unusable.yaml"
    unusable.write_text(TINY.replace("Card points until {closes}.", "Card points until {deadline}."), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check"], env={"IVR_MENU": str(unusable)})
    assert result.exit_code == 1 and result.output.startswith("Error: the menu cannot be used:")


def test_report_text_names_every_language(free_dial: Report) -> None:
    lines = format_report(free_dial).splitlines()
    assert lines[-1] == f"{MENU_PATH}: OK"
    assert list(free_dial.languages) == ["ja", "en", "zh", "ko", "es", "pt"]
    for code, entry in free_dial.languages.items():
        at = lines.index(f"{code}: {entry.states} states")
        assert entry.worst is not None and entry.silent is not None
        assert lines[at + 1].startswith("  worst case ") and lines[at + 1].endswith(f": {entry.worst.script}")
        assert lines[at + 2].startswith("  silent caller ") and lines[at + 2].endswith(f": {entry.silent.script}")


# -- the worst case, against the search `ivr check` made before it took loops apart -----------
def reference_longest(graph: _Graph) -> dict[str, tuple[float, tuple[str, ...], str]]:
    """The exponential search check used until issue 16, kept as it was (recursive, memoised on
    the state and every place entered), to show the polynomial one gives the same answer."""
    memo: dict[tuple[State, frozenset[tuple[str, str]]], dict[str, tuple[float, tuple[str, ...], str]]] = {}

    def best(state: State, entered: frozenset[tuple[str, str]]) -> dict[str, tuple[float, tuple[str, ...], str]]:
        key = (state, entered)
        if key in memo:
            return memo[key]
        out: dict[str, tuple[float, tuple[str, ...], str]] = {}
        for edge in graph.edges.get(state, ()):
            target = edge.target
            if target is None:
                found = {state.lang: (0.0, (), edge.end)}
            elif target == state:
                continue
            elif target.node == state.node and target.lang == state.lang and target.retries > state.retries:
                found = best(target, entered)
            elif (target.node, target.lang) in entered:
                continue
            else:
                found = best(target, entered | {(target.node, target.lang)})
            for lang, (seconds, tokens, end) in found.items():
                total = edge.seconds + seconds
                if lang not in out or total > out[lang][0]:
                    out[lang] = (total, (edge.token, *tokens), end)
        memo[key] = out
        return out

    assert graph.start is not None
    found = best(graph.start, frozenset({(graph.start.node, graph.start.lang)}))
    return {lang: (graph.start_seconds + s, tokens, end) for lang, (s, tokens, end) in found.items()}


def graphs(menu: Menu) -> list[_Graph]:
    explorer = _Explorer(Engine(menu))
    return [explorer.explore(m) for m in moments(menu) if m.same_as is None]


@pytest.mark.parametrize("menu", [
    pytest.param(lambda: load_menu(MENU_PATH), id="free dial"),
    pytest.param(lambda: tiny(), id="tiny"),
    pytest.param(lambda: tiny(GIVE_UP_LOOP), id="give-up loop"),
    *(pytest.param(lambda n=n: synthetic_menu(n), id=f"ring of {n}") for n in (2, 3, 5, 8)),
    *(pytest.param(lambda n=n: synthetic_menu(n, loops=False), id=f"line of {n}") for n in (3, 6, 10)),
])
def test_the_worst_case_is_what_the_exhaustive_search_finds(menu: Callable[[], Menu]) -> None:
    """Same seconds, same path, same end, per language, at every moment explored."""
    for graph in graphs(menu()):
        found, exact = _longest(graph)
        assert exact
        assert found == reference_longest(graph)
        assert found  # every menu here lets a caller go


def test_a_loop_too_rich_to_search_gets_a_real_path_said_to_be_at_least() -> None:
    """A 40-node ring is past the exact search's bound: the worst case is then a greedy walk,
    marked "at least", and still a call the engine plays to the end it names."""
    menu = synthetic_menu(40)
    (graph,) = graphs(menu)
    found, exact = _longest(graph)
    assert not exact
    seconds, tokens, end = found["en"]
    assert seconds > 40 * 10  # it walks the ring: each node's prompt, silences and retries
    engine, at = Engine(menu), graph.moment.at
    call, step = engine.start(at)
    played = [step]
    for token in (t for t in tokens if t):
        event: Input = (Silence() if token == "wait" else DialOutcome(False) if token == "busy"
                        else Speak(token[4:]) if token.startswith("say:") else Press(token))
        played.append(engine.step(call, event, at))
    assert isinstance(played[-1].action, End) and end == f"hang-up at {played[-1].node}"
    report = check(menu)
    walk = report.languages["en"].worst
    assert walk is not None and not walk.exact
    assert "  worst case     at least " in format_report(report)
    assert report_json(report)["languages"]["en"]["worst"]["exact"] is False  # type: ignore[index]


# -- the lost card first ----------------------------------------------------------------------------
def test_the_lost_card_figure_is_within_15_seconds_in_every_language(free_dial: Report) -> None:
    for code, entry in free_dial.languages.items():
        walk = entry.urgent
        assert walk is not None and walk.end == "24/7 transfer", code
        assert 5 < walk.seconds <= 15, (code, walk.seconds)
        assert walk.script == f"{'123456'[['ja', 'en', 'zh', 'ko', 'es', 'pt'].index(code)]} 2"  # the language, then 2
    text = format_report(free_dial)
    assert text.count("  lost card  ") == 6 and "(from the first word; limit 15 s)" in text
    figures = report_json(free_dial)["languages"]
    assert all(figures[code]["lost_card"]["seconds"] <= 15 for code in figures)  # type: ignore[index]


def test_a_key_counts_from_the_end_of_the_sentence_that_names_it() -> None:
    from ivr.check import barge_seconds
    from ivr.engine import Utterance

    say = (Utterance("a", "Welcome to the line. For a lost card, press 2. For others, press 3.", "en", "x"),
           Utterance("b", "Call 0 1 2 0, 9 5 or 24 hours.", "en", "y"))
    first, second = "Welcome to the line.", " For a lost card, press 2."
    assert barge_seconds(say, "2") == pytest.approx(speech_seconds(first) + speech_seconds(second))
    everything = sum(speech_seconds(u.spoken) for u in say)
    assert barge_seconds(say, "9") == pytest.approx(everything)  # 9 only inside a phone number read digit by digit
    assert barge_seconds(say, "4") == pytest.approx(everything)  # "24" is not the key 4


def test_a_slow_way_to_the_24_7_line_is_a_problem() -> None:
    text = TINY.replace("  office: {timezone: Asia/Tokyo, weekdays: \"09:00-17:00\"}",
                        "  office: {timezone: Asia/Tokyo, weekdays: \"09:00-17:00\"}\n  always: {always_open: true}").replace(
        "      \"1\": desk\n      \"2\": bye\n      \"3\": q_card", "      \"1\": desk\n      \"2\": bye\n      \"3\": q_card\n      \"4\": lost").replace(
        "  bye:\n", "  lost:\n    type: transfer\n    to: \"+81120950178\"\n    hours: always\n    unanswered: bye\n  bye:\n")
    quick = check(tiny(text))
    assert quick.languages["en"].urgent is not None and quick.languages["en"].urgent.script == "4"
    assert not [p for p in problems(quick) if "24/7" in p]
    slow = text.replace("Press 1 for staff, 2 to leave, 3 for points.",
                        "Welcome to our service. " * 12 + "Press 1 for staff, 2 to leave, 3 for points, 4 for a lost card.")
    found = [p for p in problems(check(tiny(slow))) if "24/7" in p]
    assert len(found) == 1 and "a caller in en needs" in found[0] and "(limit 15 s)" in found[0]
    assert "try: ivr sim --menu tiny.yaml" in found[0] and "--script 4" in found[0]


def test_every_phrase_is_said_at_its_node_and_one_that_does_another_keys_work_is_reported() -> None:
    """"two" is choice 1's phrase, but the language names key 2 "two": lint sees no shared phrase,
    the engine hears key 2. Check says every phrase and finds it, with a call that shows it."""
    spoken = TINY.replace('''      "3": q_card
''', '''      "3": q_card
    phrases:
      "1": {en: [staff, two]}
      "2": {en: [leave]}
      "3": {en: [points]}
''').replace('speech: en-US, yes:', 'speech: en-US, key_names: {"2": [two]}, yes:')
    report = check(tiny(spoken))
    found = [p for p in problems(report) if "saying" in p]
    line = spoken[:spoken.index('"1": {en: [staff, two]}')].count("\n") + 1
    assert len(found) == 1 and found[0].startswith(f"tiny.yaml:{line}: error: saying 'two' at node main (en) does "
                                                   "not do what key 1 does: it leads to bye")
    assert "try: ivr sim --menu tiny.yaml" in found[0] and "say:two" in found[0]
    assert report.languages["en"].spoken >= 4  # staff, two, leave, points (and the key names)
    clean = check(tiny(spoken.replace("[staff, two]", "[staff]")))
    assert not [p for p in problems(clean) if "saying" in p]


@pytest.mark.parametrize("menu", [tiny(), tiny(GIVE_UP_LOOP), synthetic_menu(10)], ids=["tiny", "give-up loop", "ring"])
def test_steps_recalled_instead_of_played_are_the_steps_the_engine_plays(menu: Menu) -> None:
    """The explorer plays an input once where nothing that differs can change it (another moment
    with the same hours and rules, other answers, a later retry for a choice); an explorer that
    recalls nothing, a fresh one at each moment, plays every input and must build the same graphs."""
    from ivr.check import _Explorer

    explored = [m for m in moments(menu) if m.same_as is None]
    shared = _Explorer(Engine(menu))
    recalled = [shared.explore(m) for m in explored]
    played = []
    for moment in explored:
        naive = _Explorer(Engine(menu))
        naive._recall = lambda *args: None  # type: ignore[method-assign]
        played.append(naive.explore(moment))
    for again, fresh in zip(recalled, played, strict=True):
        assert again.edges == fresh.edges and again.steps == fresh.steps == fresh.played
    assert sum(g.played for g in recalled) < sum(g.played for g in played)


def test_the_free_dial_is_explored_alike_with_and_without_recall_at_its_busiest_moment(menu: Menu) -> None:
    """The points check on 1 July 2022: answers carried through the menu, every desk open."""
    from ivr.check import _Explorer

    at = [m for m in moments(menu) if m.same_as is None and m.at.date() == dt.date(2022, 6, 30)]
    assert at
    naive = _Explorer(Engine(menu))
    naive._recall = lambda *args: None  # type: ignore[method-assign]
    fresh, recalled = naive.explore(at[0]), _Explorer(Engine(menu)).explore(at[0])
    assert recalled.edges == fresh.edges and recalled.played * 5 < fresh.played


def test_a_copied_call_is_the_same_call_with_answers_of_its_own() -> None:
    import dataclasses

    call = Call("q_card", "en", "1", retries=2, answers={"has_card": True}, ended=False, line="city.yaml")
    copy = call.copy()
    assert copy == call and dataclasses.asdict(copy) == dataclasses.asdict(call)
    copy.answers["has_card"] = False
    assert call.answers == {"has_card": True}
