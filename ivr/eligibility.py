"""Compose the Mynapoint answer from the caller's yes/no answers and the YAML rules.

No amount or date lives here: they all come from the `eligibility:` section, so an
operator can change a programme without touching code. Each sentence keeps its
`reading:` (dates then written with the language's `date_reading`) for our synthesiser.
"""

from __future__ import annotations

import datetime as dt

from .menu import Eligibility, Language, Rule, Text
from .speech import fill, format_date, format_number


def status(rule: Rule, today: dt.date) -> str:
    """"upcoming" before `opens`, "closed" after `closes`, else "open"."""
    if rule.opens and today < rule.opens:
        return "upcoming"
    if rule.closes and today > rule.closes:
        return "closed"
    return "open"


def ended(elig: Eligibility, today: dt.date) -> bool:
    """Whether the whole programme is over on `today`."""
    return elig.ends is not None and today > elig.ends


def points(elig: Eligibility, answers: dict[str, bool], today: dt.date) -> int:
    """Points the caller can apply for on `today`."""
    if ended(elig, today):
        return 0
    return sum(r.points for r in _matching(elig, answers) if status(r, today) == "open")


def _matching(elig: Eligibility, answers: dict[str, bool]) -> list[Rule]:
    return [r for r in elig.rules if all(answers.get(k) == v for k, v in r.when.items())]


def _say(text: Text, dates: dict[str, dt.date | None], numbers: dict[str, int], lang: Language) -> Text:
    """`text` with its placeholders filled, and its reading filled with dates as the synthesiser reads them."""
    shown = {k: format_date(d, lang) if d else "" for k, d in dates.items()}
    shown.update({k: format_number(n, lang) for k, n in numbers.items()})
    out = Text(fill(text, shown))
    reading = getattr(text, "reading", None)
    if reading:
        read = {k: format_date(d, lang, reading=True) if d else "" for k, d in dates.items()}
        out.reading = fill(reading, {**shown, **read})
    return out


def explain(elig: Eligibility, answers: dict[str, bool], today: dt.date, code: str, lang: Language) -> list[Text]:
    """The sentences of the answer, in order, in language `code`."""
    if ended(elig, today) and elig.ended is not None:
        return [_say(elig.ended[code], {"ends": elig.ends}, {}, lang)]
    rules = _matching(elig, answers)
    total = points(elig, answers, today)
    sentences = [_say(elig.total[code], {}, {"points": total}, lang) if total else elig.none[code]]
    later = False
    for rule in rules:
        phase = status(rule, today)
        prompt = {"open": rule.say, "upcoming": rule.upcoming, "closed": rule.closed}[phase]
        if prompt is None:
            continue
        later |= phase == "upcoming"
        sentence = _say(prompt[code], {"opens": rule.opens, "closes": rule.closes, **rule.dates},
                        {"points": rule.points}, lang)
        if sentence not in sentences:  # rules sharing a deadline say it once
            sentences.append(sentence)
    if total or later:
        sentences.append(elig.bring[code])
    return sentences
