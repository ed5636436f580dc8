"""Generated menus of any size, for benchmarks: a ring of menus, each with five choices, or
(`loops=False`) a line of them, where no key leads back but the main-menu key."""

from __future__ import annotations

from typing import Any

from ivr.menu import Menu

EN = {"name": "English", "say_language": "en-US", "voice": "Polly.Joanna", "speech": "en-US",
      "yes": ["yes"], "no": ["no"]}


def synthetic_menu_data(nodes: int, loops: bool = True) -> dict[str, Any]:
    """A valid menu with `nodes` menu nodes (plus a transfer and a hang-up)."""
    say = {"en": "Press 1 to go on, 2 to go back, 3 for a question, 4 for staff, 5 to leave."}
    body: dict[str, Any] = {}

    def ahead(i: int) -> str:
        return f"n{i % nodes}" if loops or i < nodes else "bye"

    for i in range(nodes):
        body[f"n{i}"] = {"type": "menu", "say": say, "choices": {
            "1": ahead(i + 1), "2": f"n{(i - 1) % nodes}" if loops else ahead(i + 2), "3": f"q{i}", "4": "desk",
            "5": "bye"}}
        body[f"q{i}"] = {"type": "question", "answer": "ok", "say": {"en": "Is that right?"},
                         "yes": ahead(i + 7), "no": f"n{i}" if loops else ahead(i + 1)}
    body["desk"] = {"type": "transfer", "to": "+81120950178", "hours": "always", "unanswered": "bye"}
    body["bye"] = {"type": "hangup", "say": {"en": "Goodbye."}}
    sorry = {"en": "Sorry."}
    return {
        "menu": {"name": f"synthetic-{nodes}", "version": "1", "start": "n0", "main_menu": "n0",
                 "operator": "desk", "default_language": "en"},
        "languages": {"en": EN},
        "hours": {"always": {"always_open": True}},
        "prompts": {k: sorry for k in ("invalid_key", "no_input", "not_understood", "restart")},
        "nodes": body,
    }


def synthetic_menu(nodes: int, loops: bool = True) -> Menu:
    return Menu.model_validate(synthetic_menu_data(nodes, loops))
