"""What a set of test calls never exercised: nodes, keys of each menu, and prompts per language.

`ivr test --coverage` feeds a `Coverage` from the engine path only (TwiML does not name
nodes). Nodes are the ones each step entered (`Step.entered`), so a node the call passes
silently (a transfer outside its hours) still counts. Keys are the ones a node
itself offers; the global keys are listed apart. Prompts are every text of the menu, one per
language: node prompts, the engine's own prompts and the eligibility sentences.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

from .catalogue import catalogue, said_as_written
from .edges import offered_keys
from .engine import Press, Step
from .menu import EligibilityNode, Menu
from .speech import PLACEHOLDER, display

NOT_PLAYABLE = {"prompts.restart": "said only when the TwiML service has lost a call's state"}
"""Prompts no test call can reach; listed apart rather than counted as never heard."""
Target = tuple[str, str]  # (what, language): e.g. ("main", "en"), ("prompts.no_input", "ja")


@dataclass
class _Sentence:
    """An eligibility text as a pattern: its placeholders match whatever was filled in."""

    target: Target
    pattern: re.Pattern[str]


def _sentences(menu: Menu) -> list[_Sentence]:
    out = []
    for entry in catalogue(menu):
        if entry.said_as is not None:  # said as written, not composed
            continue
        for code, text in entry.texts.items():
            parts = PLACEHOLDER.split(display(text))  # literal, name, literal, name, ...
            regex = "".join(re.escape(p) if i % 2 == 0 else ".+?" for i, p in enumerate(parts))
            out.append(_Sentence((entry.id, code), re.compile(regex)))
    return out


@dataclass
class Coverage:
    """Collects what the calls did; `report()` says what they never did."""

    menu: Menu
    nodes: set[str] = field(default_factory=set)
    keys: set[tuple[str, str]] = field(default_factory=set)
    global_keys: set[str] = field(default_factory=set)
    prompts: set[Target] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._sentences = _sentences(self.menu)
        self._written = said_as_written(self.menu)
        self._eligibility_nodes = {n for n, spec in self.menu.nodes.items() if isinstance(spec, EligibilityNode)}

    def step(self, step: Step) -> None:
        """What the engine answered: where the call is, and what it said."""
        self.nodes.add(step.node)
        self.nodes.update(step.entered)
        for said in step.say:
            if said.prompt in self._eligibility_nodes:
                self.prompts.update(s.target for s in self._sentences if s.pattern.fullmatch(said.text))
            written = self._written.get(said.prompt)
            if written is not None and written.texts:
                self.prompts.add((written.id, said.lang))

    def press(self, node: str, key: Press) -> None:
        """A key pressed while the call waited at `node`."""
        if key.key in (offered_keys(self.menu, node) or []):
            self.keys.add((node, key.key))
        elif key.key in self.menu.keys.model_dump().values():
            self.global_keys.add(key.key)

    # -- the report ----------------------------------------------------------------------
    def all_keys(self) -> list[tuple[str, str]]:
        return [(n, k) for n in self.menu.nodes for k in offered_keys(self.menu, n) or []]

    def all_prompts(self) -> list[Target]:
        fixed = [(e.id, code) for e in catalogue(self.menu) if e.said_as is not None and e.id not in NOT_PLAYABLE
                 for code in e.texts]
        return fixed + [s.target for s in self._sentences]

    def totals(self) -> dict[str, tuple[int, int]]:
        """(exercised, total) for nodes, keys and prompts."""
        return {
            "nodes": (len(self.nodes & set(self.menu.nodes)), len(self.menu.nodes)),
            "keys": (len(self.keys), len(self.all_keys())),
            "prompts": (len(self.prompts & set(self.all_prompts())), len(self.all_prompts())),
        }

    def report(self) -> str:
        totals = self.totals()
        lines = ["Coverage (engine path)"]
        missing_nodes = [n for n in self.menu.nodes if n not in self.nodes]
        lines.append(f"  nodes    {_ratio(*totals['nodes'])}" + _never(missing_nodes))
        by_node: dict[str, list[str]] = {}
        for node, key in self.all_keys():
            if (node, key) not in self.keys:
                by_node.setdefault(node, []).append(key)
        lines.append(f"  keys     {_ratio(*totals['keys'])}"
                     + _never([f"{node} ({', '.join(keys)})" for node, keys in by_node.items()]))
        roles = {k: role.replace("_", " ") for role, k in self.menu.keys.model_dump().items() if k}
        lines.append("           global keys: " + ", ".join(
            f"{k} ({role}) {'pressed' if k in self.global_keys else 'NEVER pressed'}" for k, role in roles.items()))
        lines.append(f"  prompts  {_ratio(*totals['prompts'])}")
        every = self.all_prompts()
        for code in self.menu.languages:
            mine = [what for what, lang in every if lang == code]
            never = [what for what in mine if (what, code) not in self.prompts]
            lines.append(f"    {code:<6} {_ratio(len(mine) - len(never), len(mine))}" + _never(never, 8))
        lines += [f"  not counted: {what} ({why})" for what, why in NOT_PLAYABLE.items()
                  if what.removeprefix("prompts.") in self.menu.prompts]
        return "\n".join(lines)


def _ratio(done: int, total: int) -> str:
    percent = 100.0 * done / total if total else 100.0
    return f"{done:>3}/{total:<3} {percent:5.1f}%"


def _never(items: list[str], indent: int = 6) -> str:
    """The items never exercised, wrapped under their line (nothing when there are none)."""
    if not items:
        return ""
    pad = " " * indent
    return "\n" + textwrap.fill(", ".join(items), width=100, initial_indent=pad + "never: ",
                                subsequent_indent=pad + "       ", break_on_hyphens=False)
