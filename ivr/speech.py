"""Turning prompt text into what is shown and what is spoken, and speech back into answers.

Prompt texts mark phone numbers as {tel:0120-95-0178}. The display form keeps the
number as written; the spoken form separates every digit ("0 1 2 0, 9 5, 0 1 7 8")
so every voice, Twilio's and espeak's alike, reads it digit by digit.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache

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


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text)


@lru_cache(maxsize=1024)
def _pattern(word: str) -> re.Pattern[str]:
    """Compiled once per yes/no word (the words are few and fixed; callers' answers are many)."""
    word = _normalise(word).strip()
    if word.isascii():  # languages written with spaces: match whole words
        return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
    return re.compile(re.escape(word))  # Japanese, Chinese, Korean: no spaces to split on


def yes_or_no(heard: str, lang: Language) -> bool | None:
    """True for yes, False for no, None when the answer is unclear (both, or neither)."""
    text = _normalise(heard)
    if any(_pattern(w).search(text) for w in lang.unsure):
        return None
    said_no = False
    for word in sorted(lang.no, key=len, reverse=True):  # 没有 holds 有, 안 했어요 holds 했어요:
        text, found = _pattern(word).subn(" ", text)  # take the no-words out before looking for yes
        said_no |= found > 0
    said_yes = any(_pattern(w).search(text) for w in lang.yes)
    if said_yes == said_no:
        return None
    return said_yes
