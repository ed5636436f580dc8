"""Retries, safe endings and the global keys: nobody is trapped."""

from __future__ import annotations

from support import Caller, after_last_input, jst, last

NIGHT = jst(2026, 12, 6, 23, 0)


def prompts(events) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["prompt"] for e in events if e["type"] == "say"]


def test_silence_reprompts_then_transfers_during_hours(call: Caller) -> None:
    events = call("2 wait wait wait")
    reprompts = [e for e in events if e.get("prompt") == "no_input"]
    assert len(reprompts) == 2
    assert last(events) == {"type": "transfer", "node": "operator", "to": "+81120950178"}


def test_silence_at_night_ends_with_hours_and_goodbye(call: Caller) -> None:
    events = call("2 wait wait wait wait wait", at=NIGHT)
    assert "Staff are not available at this time" in " ".join(str(e.get("text")) for e in events)
    assert last(events) == {"type": "hangup", "node": "goodbye"}


def test_wrong_keys_reprompt_then_end_safely(call: Caller) -> None:
    events = call("2 7 8 #")
    assert prompts(events).count("invalid_key") == 2
    assert last(events)["node"] == "operator"


def test_a_good_key_after_a_wrong_one_resets_the_count(call: Caller) -> None:
    events = call("2 7 7 5 7 7 1")
    assert [e for e in events if e["type"] == "listen"][-1]["node"] == "q_card"


def test_star_repeats_the_current_prompt(call: Caller) -> None:
    events = call("2 5 *")
    assert prompts(after_last_input(events)) == ["mynapoint", "press_or_say"]


def test_nine_returns_to_the_main_menu_from_anywhere(call: Caller) -> None:
    events = call("2 5 1 1 9")
    assert prompts(after_last_input(events)) == ["main", "press_or_say"]


def test_zero_reaches_a_person_during_hours(call: Caller) -> None:
    events = call("2 5 1 0")
    assert last(events)["node"] == "operator"


def test_zero_at_night_states_the_hours(call: Caller) -> None:
    events = call("2 0", at=NIGHT)
    assert prompts(after_last_input(events)) == ["after_hours", "press_or_say"]


def test_language_silence_continues_in_japanese(call: Caller) -> None:
    events = call("wait wait wait")
    said = [e for e in after_last_input(events) if e["type"] == "say"]
    assert [e["prompt"] for e in said] == ["lost_card_first", "fraud_warning", "main", "press_or_say"] and said[0]["lang"] == "ja"


def test_keys_during_the_fraud_warning_act_on_the_main_menu(call: Caller) -> None:
    """Messages play inside the main menu's listening window: a caller who knows the menu can barge in."""
    events = call("2 2")
    assert last(events)["node"] == "lost_desk"


def test_busy_staff_lead_to_a_choice_not_a_dead_end(call: Caller) -> None:
    events = call("2 1 busy 1 busy 2")
    assert prompts(events).count("busy") == 2
    assert last(events) == {"type": "hangup", "node": "goodbye"}


def test_lost_card_busy_retries_the_lost_card_line(call: Caller) -> None:
    events = call("2 2 busy 1", at=NIGHT)
    assert last(events)["node"] == "lost_desk"


def test_preselected_language_skips_the_choice(call: Caller) -> None:
    events = call("", lang="ko")
    said = [e for e in events if e["type"] == "say"]
    assert said[0]["prompt"] == "lost_card_first" and said[0]["lang"] == "ko"


def test_every_call_ends_in_a_transfer_or_hangup(call: Caller) -> None:
    """The menu ends the call, wherever the caller stops pressing: the simulator hangs up for a
    caller whose script runs out while the menu listens, so each script goes on in silence for
    longer than any node waits (after a transfer, the silence is staff answering)."""
    for script in ("", "1", "2 5 1 1 1 1 1 3", "2 5 1 wait wait wait", "3 0 busy 2", "2 5 1 1"):
        events = call(script + " wait" * 20)
        assert not [e for e in events if e["type"] == "input" and e["kind"] == "hangup"], script
        assert last(events)["type"] in ("transfer", "hangup"), script
