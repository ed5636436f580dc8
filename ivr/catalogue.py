"""Every text a menu can say, listed once: where it is written, under what name it is said,
and which placeholders it may fill in.

Lint checks each entry (a text per language, placeholders, readings for the synthesiser),
`ivr check` finds the line an utterance came from, coverage counts the ones heard,
`ivr prompts render` makes audio of the fixed ones, and `ivr graph` shows a node's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .menu import EligibilityNode, Menu, Text, TransferNode
from .source import Path as SrcPath

RULE_FIELDS = frozenset({"points", "opens", "closes"})
RULE_TEXTS = ("say", "upcoming", "closed")
SUMS = ("total", "none", "bring")


@dataclass(frozen=True)
class Entry:
    id: str
    """The name reports use: a node's name, `prompts.<name>`, `eligibility.total`, `eligibility.<rule>.say`."""
    path: SrcPath
    """Where the menu file has it: `nodes.<name>.say`, `prompts.<name>`, `eligibility...`."""
    texts: Mapping[str, Text]
    """One text per language code."""
    said_as: str | None
    """`Utterance.prompt` when the engine says it as written (a node's name, an engine prompt's
    name, an announcement's id); None for the eligibility sentences, composed per call with their placeholders filled."""
    fields: frozenset[str] = frozenset()
    """The {placeholders} it may use."""
    optional: bool = False
    """May be left out: a transfer or an eligibility node need no words of their own."""


def catalogue(menu: Menu) -> list[Entry]:
    """Node prompts in file order, then the engine's own prompts, the announcements, then the
    eligibility sentences."""
    out = [Entry(name, ("nodes", name, "say"), node.say, name, optional=isinstance(node, (EligibilityNode, TransferNode)))
           for name, node in menu.nodes.items()]
    out += [Entry(f"prompts.{name}", ("prompts", name), texts, name) for name, texts in menu.prompts.items()]
    out += [Entry(f"announcements.{a.id}", ("announcements", i, "say"), a.say, a.id)
            for i, a in enumerate(menu.announcements)]
    elig = menu.eligibility
    if elig is not None:
        out += [Entry(f"eligibility.{name}", ("eligibility", name), getattr(elig, name), None,
                      frozenset({"points"}) if name == "total" else frozenset()) for name in SUMS]
        if elig.ended is not None:
            out.append(Entry("eligibility.ended", ("eligibility", "ended"), elig.ended, None, frozenset({"ends"})))
        for i, rule in enumerate(elig.rules):
            for name in RULE_TEXTS:
                texts = getattr(rule, name)
                if texts is not None:
                    out.append(Entry(f"eligibility.{rule.id}.{name}", ("eligibility", "rules", i, name), texts, None,
                                     RULE_FIELDS | set(rule.dates)))
    return out


def said_as_written(menu: Menu) -> dict[str, Entry]:
    """The fixed entries by the name the engine says them under (`Utterance.prompt`); an
    engine prompt wins over a node of the same name, as the engine says the prompt."""
    return {e.said_as: e for e in catalogue(menu) if e.said_as is not None}
