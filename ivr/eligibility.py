"""Compose the Mynapoint answer from the caller's yes/no answers and the YAML rules.

No amount or date lives here: they all come from the `eligibility:` section, so an
operator can change a programme without touching code.
"""

from __future__ import annotations

import datetime as dt

from .menu import Eligibility, Language, Rule
from .speech import fill, format_date, format_number


def status(rule: Rule, today: dt.date) -> str:
    """"upcoming" before `opens`, "closed" after `closes`, else "open"."""
    if rule.opens and today < rule.opens:
        return "upcoming"
    if rule.closes and today > rule.closes:
        return "closed"
    return "open"


def points(elig: Eligibility, answers: dict[str, bool], today: dt.date) -> int:
    """Points the caller can apply for on `today`."""
    return sum(r.points for r in _matching(elig, answers) if status(r, today) == "open")


def _matching(elig: Eligibility, answers: dict[str, bool]) -> list[Rule]:
    return [r for r in elig.rules if all(answers.get(k) == v for k, v in r.when.items())]


def explain(elig: Eligibility, answers: dict[str, bool], today: dt.date, code: str, lang: Language) -> list[str]:
    """The sentences of the answer, in order, in language `code`."""
    rules = _matching(elig, answers)
    total = points(elig, answers, today)
    sentences = [fill(elig.total[code], {"points": format_number(total, lang)}) if total else elig.none[code]]
    later = False
    for rule in rules:
        phase = status(rule, today)
        prompt = {"open": rule.say, "upcoming": rule.upcoming, "closed": rule.closed}[phase]
        later |= phase == "upcoming"
        if prompt is None:
            continue
        fields = {
            "points": format_number(rule.points, lang),
            "opens": format_date(rule.opens, lang) if rule.opens else "",
            "closes": format_date(rule.closes, lang) if rule.closes else "",
        }
        sentence = fill(prompt[code], fields)
        if sentence not in sentences:  # rules sharing a deadline say it once
            sentences.append(sentence)
    if total or later:
        sentences.append(elig.bring[code])
    return sentences
