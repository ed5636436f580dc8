"""Every check a menu must pass beyond its schema, reported all at once with file:line.

`ivr.loader` runs them on every menu it loads (for `ivr lint`, the service and every
tool), so the service can never load a menu that lint would reject.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from pathlib import Path
from typing import Mapping

from .audio import MANIFEST, survey
from .catalogue import catalogue
from .edges import edges, passes_to
from .errors import Problem
from .hearing import COMMANDS, normalise
from .menu import (
    ENGINE_PROMPTS,
    EligibilityNode,
    HangupNode,
    LanguageNode,
    Menu,
    MenuNode,
    QuestionNode,
    TransferNode,
)
from .problems import did_you_mean
from .source import Path as SrcPath
from .source import Source
from .speech import PLACEHOLDER, TEL, format_date

MAX_CHOICES = 5
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_PINYIN = re.compile(r"^[A-Za-z0-9üÜ\s.,?!;:'\-{}]*$")
_WORD = re.compile(r"[A-Za-züÜ]+\d?")
_NUMBER = re.compile(r"\d+(?:[.,]\d{3})*")
_SENTENCE = re.compile(r"[。？！?!]|\.(?=\s|$)")


def check(menu: Menu, source: Source) -> list[Problem]:
    """Every problem of a menu that validated, `source` giving each its line."""
    return _Checker(menu, source).run()


def recording_problems(menu: Menu, prompts: Path) -> list[Problem]:
    """Studio recordings made for a text the menu no longer has (callers hear Twilio's voice instead)."""
    source = menu.source
    if source is None or not (prompts / MANIFEST).exists():
        return []
    found = []
    for item in survey(menu, prompts).stale_recordings:
        path = ("nodes", item.prompt, "say", item.lang) if item.prompt in menu.nodes else ("prompts", item.prompt, item.lang)
        found.append(Problem(source.file, source.line(path), f"the recording {item.lang}/{item.prompt}.wav was made "
                             "for an older text of this prompt: record it again (until then callers hear Twilio's "
                             "voice)", "warning"))
    return found


def where(path: SrcPath) -> str:
    """A path in the file in words: node main choices.2, language en yes item 1, prompt no_input ja."""
    sections = {"nodes": "node", "languages": "language", "hours": "calendar", "prompts": "prompt"}
    if len(path) >= 2 and path[0] in sections:
        head, rest = f"{sections[str(path[0])]} {path[1]}", path[2:]
    elif len(path) >= 3 and path[:2] == ("eligibility", "rules") and isinstance(path[2], int):
        head, rest = f"eligibility rule {path[2] + 1}", path[3:]
    else:
        return ".".join(str(p) if isinstance(p, str) else f"item {p + 1}" for p in path) or "the top level"
    words = ".".join(str(p) for p in rest if isinstance(p, str))
    items = [f"item {p + 1}" for p in rest if isinstance(p, int)]
    return " ".join([head] + ([words] if words else []) + items)


class _Checker:
    def __init__(self, menu: Menu, source: Source) -> None:
        self.menu = menu
        self.source = source
        self.problems: list[Problem] = []

    def error(self, path: SrcPath, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.source.file, self.source.line(path), message, severity))

    def run(self) -> list[Problem]:
        self.links()
        if any(p.severity == "error" for p in self.problems):
            return self.problems  # the graph checks need every link to resolve
        self.languages()
        self.prompts()
        self.keys()
        self.speech()
        self.transfers()
        self.calendars()
        self.announcements()
        self.eligibility()
        self.readings()
        self.graph()
        return self.problems

    # -- links -------------------------------------------------------------------------
    def links(self) -> None:
        info = self.menu.menu
        for field in ("start", "main_menu", "operator"):
            if getattr(info, field) not in self.menu.nodes:
                target = getattr(info, field)
                self.error(("menu", field), f"menu.{field} names node {target!r}, which does not exist"
                           + (did_you_mean(target, self.menu.nodes) or "; define it under nodes: or fix the name"))
        reported = set()
        for edge in edges(self.menu):
            node = self.menu.nodes[edge.source]
            implicit = len(edge.field) == 2 or (edge.field[-1] == "on_give_up" and getattr(node, "on_give_up", None) is None)
            if edge.dest in self.menu.nodes or implicit or (edge.field, edge.dest) in reported:
                continue  # an implicit edge (a global key, the default give-up) is reported where it is written
            reported.add((edge.field, edge.dest))
            self.error(edge.field, f"{where(edge.field)} leads to node {edge.dest!r}, which does not exist"
                       + (did_you_mean(edge.dest, self.menu.nodes) or "; define it under nodes: or fix the name"))

    # -- languages and prompts -------------------------------------------------------------
    def languages(self) -> None:
        codes = set(self.menu.languages)
        if self.menu.menu.default_language not in codes:
            self.error(("menu", "default_language"), f"default_language {self.menu.menu.default_language!r} "
                       f"is not under languages: (have {', '.join(sorted(codes))})"
                       + did_you_mean(self.menu.menu.default_language, codes))
        for name, node in self.menu.nodes.items():
            if isinstance(node, LanguageNode):
                for key, code in node.choices.items():
                    if code not in codes:
                        self.error(("nodes", name, "choices", key), f"key {key} selects language {code!r}, "
                                   f"which is not under languages: (have {', '.join(sorted(codes))})"
                                   + did_you_mean(code, codes))
                if node.default not in codes:
                    self.error(("nodes", name, "default"), f"default language {node.default!r} is not under languages: "
                               f"(have {', '.join(sorted(codes))})" + did_you_mean(node.default, codes))
        for code, lang in self.menu.languages.items():
            if lang.month_names and len(lang.month_names) != 12:
                self.error(("languages", code, "month_names"), "month_names needs exactly 12 names, January first")
                continue
            try:
                format_date(dt.date(2026, 12, 7), lang)
            except (KeyError, IndexError, ValueError) as exc:
                self.error(("languages", code, "date_format"), f"date_format {lang.date_format!r} cannot be used "
                           f"({type(exc).__name__}: {exc}); use {{year}} {{month}} {{day}} {{month_name}}")

    def check_prompt(self, path: SrcPath, prompt: Mapping[str, str], fields: frozenset[str] = frozenset()) -> None:
        missing = [code for code in self.menu.languages if not (prompt.get(code) or "").strip()]
        if missing:
            self.error(path, f"{where(path)} has no text for {', '.join(missing)}; add a line for each language")
        for code, text in prompt.items():
            here = path + (code,)
            if code not in self.menu.languages:
                self.error(here, f"{where(path)} has text for {code!r}, which is not under languages: (have "
                           f"{', '.join(sorted(self.menu.languages))})" + did_you_mean(code, self.menu.languages), "warning")
            if "{" in PLACEHOLDER.sub("", TEL.sub("", text)) or "}" in PLACEHOLDER.sub("", TEL.sub("", text)):
                self.error(here, f"{where(here)} has a brace that is neither {{tel:...}} nor a {{placeholder}}; "
                           "remove it (the voice would read it out)")
            unknown = set(PLACEHOLDER.findall(text)) - fields
            if unknown:
                allowed = ", ".join("{" + f + "}" for f in sorted(fields)) or "none"
                hints = [did_you_mean(u, fields, prefix="") for u in sorted(unknown)]
                self.error(here, f"{where(here)} uses {', '.join('{' + u + '}' for u in sorted(unknown))}; "
                           f"placeholders allowed here: {allowed}" + "".join(f" ({h})" for h in hints if h))

    def prompts(self) -> None:
        for pid in ENGINE_PROMPTS:
            if pid not in self.menu.prompts:
                self.error(("prompts",), f'prompts: has no "{pid}" prompt, which the engine says; add it')
        for entry in catalogue(self.menu):
            if entry.texts or not entry.optional:
                self.check_prompt(entry.path, entry.texts, entry.fields)

    # -- keys ----------------------------------------------------------------------------
    def keys(self) -> None:
        global_keys = {k: role for role, k in self.menu.keys.model_dump().items() if k}
        if len(global_keys) != len([k for k in self.menu.keys.model_dump().values() if k]):
            self.error(("keys",), "two global keys share one key; give repeat, main_menu and operator different keys")
        for name, node in self.menu.nodes.items():
            if isinstance(node, (MenuNode, LanguageNode)):
                if isinstance(node, MenuNode) and len(node.choices) > MAX_CHOICES:
                    self.error(("nodes", name, "choices"), f"node {name} offers {len(node.choices)} choices; "
                               f"callers remember at most {MAX_CHOICES}: split it into sub-menus", "warning")
                for key in node.choices:
                    if key in global_keys and (node.global_keys or key == self.menu.keys.repeat):
                        self.error(("nodes", name, "choices", key), f"key {key} in node {name} is already the "
                                   f"global {global_keys[key]} key; choose another key")
            if isinstance(node, QuestionNode) and node.global_keys:
                for key in ("1", "2"):
                    if key in global_keys:
                        self.error(("nodes", name), f"questions take 1 for yes and 2 for no, but {key} is the global "
                                   f"{global_keys[key]} key; change keys:")

    # -- speech --------------------------------------------------------------------------
    def speech(self) -> None:
        """Every choice can be said in every language; no phrase means two things at one node."""
        codes = list(self.menu.languages)
        commands = self.menu.speech.commands
        for command in COMMANDS:
            by_lang = getattr(commands, command)
            self._phrase_languages(("speech", "commands", command), by_lang, f"command {command}")
            if by_lang and command != "repeat" and getattr(self.menu.keys, command) is None:
                self.error(("speech", "commands", command), f"the {command} command has phrases, but keys: "
                           f"{command} is null, so it works nowhere and they are never heard; give it a key or "
                           "remove them", "warning")
        said_as_command: dict[tuple[str, str], str] = {}
        for command in COMMANDS:
            for code, phrases in getattr(commands, command).items():
                for i, phrase in enumerate(phrases):
                    folded = normalise(phrase)
                    other = said_as_command.setdefault((code, folded), command)
                    if other != command:
                        self.error(("speech", "commands", command, code, i), f"{phrase!r} is a phrase of both the "
                                   f"{other} and the {command} command; keep it under one")
        for code, lang in self.menu.languages.items():
            named: dict[str, str] = {}
            for key, words in lang.key_names.items():
                for i, word in enumerate(words):
                    other = named.setdefault(normalise(word).replace(" ", ""), key)
                    if other != key:
                        self.error(("languages", code, "key_names", key, i), f"{word!r} names both key {other} and "
                                   f"key {key} in {code}; keep it under one")
        choosers = {name: node for name, node in self.menu.nodes.items() if isinstance(node, (MenuNode, LanguageNode))}
        spoken = any(node.phrases for node in choosers.values())  # a keys-only menu is not nagged node by node
        for name, node in choosers.items():
            if not node.phrases:
                if spoken:
                    self.error(("nodes", name, "choices"), f"node {name} has no phrases: callers can only press "
                               "keys here; add phrases: with what a caller would say for each choice, in each "
                               "language", "warning")
                continue
            if isinstance(node, MenuNode) and node.priority is not None and node.priority not in node.phrases:
                self.error(("nodes", name, "priority"), f"priority {node.priority} of node {name} is not a choice "
                           f"with phrases (have {', '.join(node.phrases) or 'none'})")
            pooled = isinstance(node, LanguageNode)  # the caller's language is not known yet: all are heard
            seen: dict[tuple[str, str], str] = {}
            for key, by_lang in node.phrases.items():
                here = ("nodes", name, "phrases", key)
                if key not in node.choices:
                    self.error(here, f"node {name} has phrases for key {key}, which is not one of its choices "
                               f"({', '.join(node.choices)})")
                    continue
                self._phrase_languages(here, by_lang, f"choice {key} of node {name}")
                for code, phrases in by_lang.items():
                    for i, phrase in enumerate(phrases):
                        folded = normalise(phrase)
                        other = seen.setdefault(("" if pooled else code, folded), key)
                        if other != key:
                            self.error(here + (code, i), f"{phrase!r} is said for both key {other} and key {key} "
                                       f"of node {name}; keep it under one choice")
                        clash = said_as_command.get((code, folded))
                        if clash and (node.global_keys or clash == "repeat"):
                            self.error(here + (code, i), f"{phrase!r} at node {name} is also the {clash} "
                                       "command (speech: commands:); choose other words for the choice")
            for key in node.choices:
                if key not in node.phrases:
                    self.error(("nodes", name, "choices", key), f"choice {key} of node {name} has no phrases; add "
                               f"phrases: {key}: with what a caller would say, in {', '.join(codes)}")

    def _phrase_languages(self, path: SrcPath, by_lang: Mapping[str, list[str]], what: str) -> None:
        if not by_lang:
            return
        missing = [code for code in self.menu.languages if not by_lang.get(code)]
        if missing:
            self.error(path, f"{what} has no phrase in {', '.join(missing)}; add what a caller would say")
        for code in by_lang:
            if code not in self.menu.languages:
                self.error(path + (code,), f"{what} has phrases for {code!r}, which is not under languages: (have "
                           f"{', '.join(sorted(self.menu.languages))})" + did_you_mean(code, self.menu.languages))

    def transfers(self) -> None:
        for name, node in self.menu.nodes.items():
            if isinstance(node, TransferNode):
                calendar = self.menu.hours.get(node.hours)
                if calendar is None:
                    self.error(("nodes", name, "hours"), f"node {name} uses hours {node.hours!r}, which is not under "
                               f"hours: (have {', '.join(sorted(self.menu.hours)) or 'none'})"
                               + did_you_mean(node.hours, self.menu.hours))
                elif not calendar.always_open and node.closed is None:
                    self.error(("nodes", name), f"node {name} transfers only during {node.hours!r} hours; "
                               "add closed: with the node to play outside them")

    def calendars(self) -> None:
        """Dated closures and special hours: on a calendar that uses them, and not written twice."""
        for name, calendar in self.menu.hours.items():
            if calendar.always_open and calendar.special:
                self.error(("hours", name, "special"), f"calendar {name} is always_open, so its special days are "
                           "never used; remove them, or drop always_open and give the usual hours")
            seen: dict[tuple[bool, tuple[int, int, int]], int] = {}
            for i, entry in enumerate(calendar.special):
                days = entry.days
                for j, other in enumerate(calendar.special[:i]):
                    probe = [dt.date(y or 2026, m, d) for y, m, d in (days.first, days.last)]
                    if other.days.yearly == days.yearly and any(other.days.covers(day) for day in probe):
                        self.error(("hours", name, "special", i, "days"), f"calendar {name} special {i + 1} "
                                   f"({days.text}) overlaps special {j + 1} ({other.days.text}), which wins; "
                                   "merge them or fix the dates", "warning")
                        break
                seen.setdefault((days.yearly, days.first), i)

    def announcements(self) -> None:
        ids: set[str] = set()
        for i, note in enumerate(self.menu.announcements):
            if note.until < note.starts:
                self.error(("announcements", i, "until"), f"announcement {note.id} ends ({note.until}) before it "
                           f"begins ({note.starts}); write until: on or after from:")
            if note.id in self.menu.nodes or note.id in self.menu.prompts or note.id in ids:
                self.error(("announcements", i, "id"), f"announcement id {note.id!r} is already used by a node, "
                           "a prompt or another announcement; give it a name of its own")
            ids.add(note.id)

    def eligibility(self) -> None:
        answers = {n.answer for n in self.menu.nodes.values() if isinstance(n, QuestionNode)}
        uses = [name for name, n in self.menu.nodes.items() if isinstance(n, EligibilityNode)]
        if uses and self.menu.eligibility is None:
            self.error(("nodes", uses[0]), f"node {uses[0]} computes eligibility but the file has no eligibility: rules")
        if self.menu.eligibility is not None:
            for i, rule in enumerate(self.menu.eligibility.rules):
                for answer in rule.when:
                    if answer not in answers:
                        self.error(("eligibility", "rules", i, "when", answer), f"rule {rule.id} depends on answer "
                                   f"{answer!r}, which no question asks (have {', '.join(sorted(answers)) or 'none'})"
                                   + did_you_mean(answer, answers))
                if rule.opens and rule.closes and rule.closes < rule.opens:
                    self.error(("eligibility", "rules", i, "closes"), f"rule {rule.id} closes before it opens")
            elig = self.menu.eligibility
            if (elig.ends is None) != (elig.ended is None):
                self.error(("eligibility", "ends" if elig.ends else "ended"), "give both ends: (the programme's last "
                           "day) and ended: (what every caller hears after it), or neither")

    # -- readings for the synthesiser -------------------------------------------------------
    def readings(self) -> None:
        """espeak-ng says "Chinese letter" for each kanji, reads Mandarin well only from pinyin, and
        switches to English at a Latin word in pinyin; a reading left behind by its text misleads."""
        for entry in catalogue(self.menu):
            for code, text in entry.texts.items():
                voice = (self.menu.languages[code].synth_voice or "") if code in self.menu.languages else ""
                here = entry.path + (code,)
                if text.reading:
                    drift = _drift(text, text.reading)
                    if drift:
                        self.error(here, f"{where(here)} reading does not match its text ({drift}): "
                                   "was the text changed without its reading? Update reading:", "warning")
                if "ja" in voice and _KANJI.search(text) and not text.reading:
                    self.error(here, f"{where(here)} has kanji but no reading: add reading: in kana for the "
                               "synthesiser (text: stays as it is)", "warning")
                if "cmn" in voice and "pinyin" in voice:
                    if not text.reading:
                        self.error(here, f"{where(here)} has no reading: add reading: in pinyin with tone "
                                   "numbers (ni3 hao3) for the synthesiser", "warning")
                    elif not _PINYIN.match(PLACEHOLDER.sub("", TEL.sub("", text.reading))):
                        self.error(here, f"{where(here)} reading is not pinyin with tone numbers (ni3 hao3)",
                                   "warning")
                    else:
                        latin = [w for w in _WORD.findall(PLACEHOLDER.sub("", TEL.sub("", text.reading)))
                                 if not w[-1].isdigit()]
                        if latin:
                            self.error(here, f"{where(here)} reading has {', '.join(sorted(set(latin)))}, not "
                                       "pinyin: espeak switches to English there; write each syllable with its "
                                       "tone number (mai4 na4)", "warning")

    # -- graph ---------------------------------------------------------------------------
    def graph(self) -> None:
        nodes = self.menu.nodes
        targets: dict[str, list[str]] = {name: [] for name in nodes}
        for edge in edges(self.menu):
            targets[edge.source].append(edge.dest)
        seen = _reach([self.menu.menu.start], targets)
        for name in nodes:
            if name not in seen:
                self.error(("nodes", name), f"node {name} cannot be reached by any call; link to it or remove it",
                           "warning")
        # A call must always be able to end: every reachable node needs a path to a transfer or hang-up.
        back: dict[str, list[str]] = {name: [] for name in nodes}
        for name, dests in targets.items():
            for target in dests:
                back[target].append(name)
        can_end = _reach([n for n, node in nodes.items() if isinstance(node, (TransferNode, HangupNode))], back)
        for name in sorted(seen - can_end):
            self.error(("nodes", name), f"a call that enters node {name} can never end (no path to a transfer or "
                       "hang-up); add a way out")
        # Messages, and transfers outside their hours, lead on without waiting for the caller:
        # a cycle of them would never stop talking.
        for name in nodes:
            chain, nxt = [name], passes_to(self.menu, name)
            while nxt is not None and nxt not in chain:
                chain.append(nxt)
                nxt = passes_to(self.menu, nxt)
            if nxt == name:
                self.error(("nodes", name), f"messages loop forever: {' -> '.join(chain + [nxt])}; "
                           "end the chain at a menu, question or hang-up")


def _numbers(text: str) -> list[str]:
    """The numbers a text says, in order, beside its phone numbers and placeholders (5,000 -> 5000)."""
    return [n.replace(",", "").replace(".", "") for n in _NUMBER.findall(PLACEHOLDER.sub(" ", TEL.sub(" ", text)))]


def _drift(text: str, reading: str) -> str:
    """How a reading differs from its text in what must not change: phone numbers, placeholders,
    numbers and the count of sentences; "" when it does not."""
    for what, found in (("phone numbers", lambda t: TEL.findall(t)), ("placeholders", PLACEHOLDER.findall)):
        if sorted(found(text)) != sorted(found(reading)):
            return f"{what} {', '.join(sorted(found(text))) or 'none'} in the text, " \
                   f"{', '.join(sorted(found(reading))) or 'none'} in the reading"
    # Amounts and years (three digits or more): readings keep them in digits, while they spell
    # small numbers (times, keys) out in kana, which no digit-by-digit comparison can follow.
    missing = [n for n in _numbers(text) if len(n) >= 3 and n not in _numbers(reading)]
    if missing:
        return f"the text says {', '.join(missing)}, the reading does not"
    ends = len(_SENTENCE.findall(text)), len(_SENTENCE.findall(reading))
    if ends[0] != ends[1]:
        return f"{ends[0]} sentence(s) in the text, {ends[1]} in the reading"
    return ""


def _reach(starts: list[str], links: Mapping[str, list[str]]) -> set[str]:
    """Every node reachable from `starts` along `links` (breadth-first), `starts` included."""
    seen = set(starts)
    queue = deque(seen)
    while queue:
        for target in links[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen
