"""The edges of a menu: every way a call can move from one node to another, listed once.

The engine builds its `transitions` machine from `edges(menu)`; lint checks that each edge
leads to a node that exists (reporting the field it is written in, for file:line) and that
every node can be reached and left; `ivr graph` draws them; `ivr check` and coverage follow
them. None of them derives an edge on its own, so they cannot disagree about the menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from .menu import LISTENING, EligibilityNode, LanguageNode, Menu, MenuNode, MessageNode, QuestionNode, TransferNode
from .source import Path as SrcPath

GLOBAL = frozenset({"main_menu", "operator", "give_up"})
"""Triggers that leave (nearly) every waiting node: the global keys, and giving up after the retries."""
_KEY_NAMES = {"*": "star", "#": "hash"}


def trigger_for_key(key: str) -> str:
    """The machine's event for a key: key_1, key_star, key_hash."""
    return "key_" + _KEY_NAMES.get(key, key)


def key_of(trigger: str) -> str | None:
    """The key behind a key trigger, or None for any other trigger."""
    if not trigger.startswith("key_"):
        return None
    name = trigger.removeprefix("key_")
    return next((k for k, n in _KEY_NAMES.items() if n == name), name)


@dataclass(frozen=True)
class Edge:
    source: str
    trigger: str
    """The machine's event: key_1..., yes, no, next, closed, unanswered, give_up, main_menu, operator."""
    dest: str
    field: SrcPath
    """Where the file says so, for file:line (the node itself for the global keys)."""

    @property
    def key(self) -> str | None:
        return key_of(self.trigger)


def edges(menu: Menu) -> list[Edge]:
    """Every edge of `menu`, node by node in file order. Names are taken as written: lint
    reports the ones that lead nowhere before anything builds on them."""
    out: list[Edge] = []
    info, keys = menu.menu, menu.keys
    for name, node in menu.nodes.items():
        def edge(trigger: str, dest: str, *field: str, source: str = name) -> None:
            out.append(Edge(source, trigger, dest, ("nodes", source, *field)))

        if isinstance(node, MenuNode):
            for key, target in node.choices.items():
                edge(trigger_for_key(key), target, "choices", key)
        elif isinstance(node, LanguageNode):
            for key in node.choices:
                edge(trigger_for_key(key), node.next, "next")
        elif isinstance(node, QuestionNode):
            edge("yes", node.yes, "yes")
            edge("no", node.no, "no")
        elif isinstance(node, (MessageNode, EligibilityNode)):
            edge("next", node.next, "next")
        elif isinstance(node, TransferNode):
            if node.closed:
                edge("closed", node.closed, "closed")
            edge("unanswered", node.unanswered, "unanswered")
        if isinstance(node, LISTENING):
            default_end = node.next if isinstance(node, LanguageNode) else info.operator
            edge("give_up", node.on_give_up or default_end, "on_give_up")
            if node.global_keys:
                if keys.main_menu:
                    edge("main_menu", info.main_menu)
                if keys.operator:
                    edge("operator", info.operator)
    return out


def offered_keys(menu: Menu, node: str) -> list[str] | None:
    """The keys node `node` itself answers to (not the global ones), or None if it never listens."""
    spec = menu.nodes[node]
    if isinstance(spec, (MenuNode, LanguageNode)):
        return list(spec.choices)
    if isinstance(spec, QuestionNode):
        return ["1", "2"]
    return None


def passes_to(menu: Menu, name: str) -> str | None:
    """Where node `name` leads without any input from the caller, if anywhere: messages and
    eligibility answers lead on, and so does a transfer outside its hours."""
    node = menu.nodes[name]
    if isinstance(node, (MessageNode, EligibilityNode)):
        return node.next
    if isinstance(node, TransferNode) and node.closed:
        calendar = menu.hours.get(node.hours)
        return node.closed if calendar is not None and not calendar.always_open else None
    return None
