"""Turning prompt text into what is shown and what is spoken (what callers say back is `ivr.hearing`'s).

Prompt texts mark phone numbers as {tel:0120-95-0178}. The display form keeps the
number as written; the spoken form separates every digit ("0 1 2 0, 9 5, 0 1 7 8")
so every voice, Twilio's and espeak's alike, reads it digit by digit.
"""

from __future__ import annotations

import datetime as dt
import re

from .menu import Language

TEL = re.compile(r"\{tel:([0-9#*\-]+(?: [0-9#*\-]+)*)\}")
PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
_FOLDED = re.compile(r"(?<=[。、！？，：；])\s+")  # YAML folding puts spaces between Japanese/Chinese sentences


def display(text: str) -> str:
    return _FOLDED.sub("", TEL.sub(lambda m: m.group(1).replace(" ", ""), text))


def spoken(text: str) -> str:
    """Digits one by one, in the groups written: a hyphen, or a space where the number is written
    without one ({tel:0570-010 076} shows 0570-010076 and is read 0570, 010, 076)."""
    return _FOLDED.sub("", TEL.sub(lambda m: ", ".join(" ".join(group) for group in re.split(r"[- ]", m.group(1))),
                                   text))


def fill(text: str, fields: dict[str, str]) -> str:
    """Put values in a prompt's {placeholders}; {tel:...} and other braces are left alone."""
    return PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), text)


def format_date(day: dt.date, lang: Language, reading: bool = False) -> str:
    """`day` as the language says it; with `reading`, as written in a `reading:` (kana, pinyin)."""
    month_name = lang.month_names[day.month - 1] if lang.month_names else str(day.month)
    shape = (lang.date_reading or lang.date_format) if reading else lang.date_format
    number: int | str = lang.first_day if day.day == 1 and lang.first_day else day.day
    return shape.format(year=day.year, month=day.month, day=number, month_name=month_name)


def format_number(value: int, lang: Language) -> str:
    return f"{value:,}".replace(",", lang.thousands)
