"""What a caller's words mean: a key, a global command, a yes or a no, or nothing clear.

Speech recognition hands us text ("I lost my card", 2番, ｎｏ). Both it and the menu's
phrases are folded the same way (`normalise`: width, case, accents, katakana to hiragana,
punctuation), so a phrase matches however the recogniser wrote it. At a node:

* at a question, a yes or a no said first answers it (`leading_answer`; the engine asks);
* a key said alone ("two", に, "press 2", 2番) is that key, as if pressed;
* otherwise the node's choices whose phrases are in the text are candidates (a phrase found
  inside a longer one is dropped: "card" inside "lost my card"); exactly one is the answer,
  the node's priority choice (the lost card) wins over others, several are otherwise
  unclear (the caller is asked again, never sent the wrong way); with none, the global
  commands are looked for the same way ("operator", もう一度);
* at a question, then, a yes or a no anywhere (`yes_or_no`).

Phrases are compiled once per node and language (`Hearing`): callers' sentences are many,
the menu's phrases few.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .menu import Language, LanguageNode, Menu, MenuNode, QuestionNode

COMMANDS = ("repeat", "main_menu", "operator")
_SPACED = r"(?<![a-z0-9*#])"
"""A Latin phrase starts and ends at a word's edge: not inside a word, yet found beside Chinese or
Japanese written without a space (我想问mynapoint)."""
_WORD_START = r"(?<![\uac00-\ud7a3])"
"""A Korean word of one or two syllables starts a word (Korean is written with spaces): 네 is a
yes, but not inside 없네요 ("there is none")."""
_KATAKANA = re.compile("[\u30a1-\u30f6]")
_LATIN_MARKS = re.compile(r"(?<=[a-z])[\u0300-\u036f]+")


def normalise(text: str) -> str:
    """Width, case, accents (of Latin letters), katakana as hiragana, punctuation as spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFC", _LATIN_MARKS.sub("", unicodedata.normalize("NFD", text)))
    text = _KATAKANA.sub(lambda m: chr(ord(m.group()) - 0x60), text)
    return " ".join("".join(ch if ch.isalnum() or ch in "*#" else " " for ch in text).split())


def _compact(text: str) -> str:
    return text.replace(" ", "")


@lru_cache(maxsize=4096)
def _pattern(word: str, anywhere: bool = False) -> re.Pattern[str] | None:
    """A phrase as it is looked for: whole words where the language spaces them, else anywhere
    in the text with its spaces taken out (Japanese, Chinese; Korean spacing varies), but a short
    Korean word at a word's start. `anywhere`: a filler, which may stick to any word (이번: 이 + 번)."""
    word = normalise(word)
    if not word:
        return None
    if word.isascii():
        return re.compile(rf"{_SPACED}{re.escape(word)}(?![a-z0-9*#])")
    if not anywhere and len(word) <= 2 and all("\uac00" <= ch <= "\ud7a3" for ch in word):
        return re.compile(_WORD_START + re.escape(word))
    return re.compile(re.escape(_compact(word)))


def _without(text: str, fillers: tuple[re.Pattern[str], ...]) -> str:
    """`text` (folded) with the fillers taken out, compacted: "press two" -> two, 2番を -> 2."""
    for filler in fillers:
        text = filler.sub(" ", text) if _spaced(filler) else filler.sub("", _compact(text))
    return _compact(text)


def _spaced(pattern: re.Pattern[str]) -> bool:
    """Whether the pattern is looked for in the text as spaced (else with its spaces taken out)."""
    return pattern.pattern.startswith((_SPACED, _WORD_START))


def _find(pattern: re.Pattern[str], text: str, compact: str | None = None) -> bool:
    """Whether the phrase is in `text` (`compact`: the text without spaces, when already made)."""
    if _spaced(pattern):
        return bool(pattern.search(text))
    return bool(pattern.search(_compact(text) if compact is None else compact))


@lru_cache(maxsize=256)
def _patterns(words: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """A word list's patterns, longest word first (没有 before 有), made once per list."""
    return tuple(p for w in sorted(words, key=len, reverse=True) if (p := _pattern(w)))


def yes_or_no(heard: str, lang: Language) -> bool | None:
    """True for yes, False for no, None when the answer is unclear (both, or neither)."""
    text = normalise(heard)
    if any(_find(p, text) for p in _patterns(tuple(lang.unsure))):
        return None
    said_no = False
    for pattern in _patterns(tuple(lang.no)):  # 没有 holds 有, 안 했어요 holds 했어요: take the
        if _spaced(pattern):  # no-words out before looking for yes
            text, found = pattern.subn(" ", text)
        else:
            compact, found = pattern.subn(" ", _compact(text))
            text = compact if found else text
        said_no |= found > 0
    said_yes = any(_find(p, text) for p in _patterns(tuple(lang.yes)))
    if said_yes == said_no:
        return None
    return said_yes


Said = tuple[str, re.Pattern[str], str]
"""A phrase folded, the pattern it is found by, and the key or command it chooses."""


def leading_answer(heard: str, lang: Language) -> bool | None:
    """A yes or a no said first ("no, someone applied for me", はい、もう一度申請しました): it answers
    the question whatever follows, commands included; None when the words start otherwise."""
    text = normalise(heard)
    if any(_find(p, text) for p in _patterns(tuple(lang.unsure))):
        return None
    for words, answer in ((lang.no, False), (lang.yes, True)):  # no first: 不是 starts like 是 would not
        if any(p.match(text if _spaced(p) else _compact(text)) for p in _patterns(tuple(words))):
            return answer
    return None


def _choices(found: list[Said]) -> list[Said]:
    return [item for item in found if item[2] not in COMMANDS]


def _commands(found: list[Said]) -> list[Said]:
    return [item for item in found if item[2] in COMMANDS]


@dataclass(frozen=True)
class Book:
    """What can be said at one node in one language: its phrases (with the key or command each
    chooses), its keys' names, and the words heard as hints."""

    phrases: tuple[Said, ...]
    """Longest phrase first."""
    keys: dict[str, str]
    """A key's name, folded and compacted, -> the key."""
    fillers: tuple[re.Pattern[str], ...]
    hints: tuple[str, ...]
    priority: str | None = None
    """The choice that wins when its phrases are heard with another's (`MenuNode.priority`)."""


class Hearing:
    """The menu's phrases, compiled per node and language on first use."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.book = lru_cache(maxsize=1024)(self._book)

    def understand(self, node: str, lang: str, heard: str) -> str | None:
        """The key ("2") or command ("operator") the words choose at `node`; None when unclear."""
        book = self.book(node, lang)
        text = normalise(heard)
        compact = _compact(text)
        for said in (compact, _without(text, book.fillers)):  # 星号 names a key, though 号 is a filler
            if said in book.keys:
                return book.keys[said]
        found = [item for item in book.phrases if _find(item[1], text, compact)]
        for kind in (_choices, _commands):  # a choice's phrase wins over a command in the same words
            kept = {target for phrase, pattern, target in kind(found)
                    if not any(len(_compact(longer)) > len(_compact(phrase)) and _find(pattern, longer)
                               for longer, _, _ in kind(found))}
            if book.priority in kept:  # "I lost my notification card" is a lost card
                return book.priority
            if kept:
                return kept.pop() if len(kept) == 1 else None
        return None

    def hints(self, node: str, lang: str) -> tuple[str, ...]:
        return self.book(node, lang).hints

    def _book(self, name: str, lang: str) -> Book:
        menu, node = self.menu, self.menu.nodes[name]
        language = menu.languages[lang]
        said: list[tuple[str, str]] = []  # (phrase as written, key or command)
        codes = list(menu.languages) if isinstance(node, LanguageNode) else [lang]
        if isinstance(node, (MenuNode, LanguageNode)):
            said += [(p, key) for key, by_lang in node.phrases.items() for code in codes for p in by_lang.get(code, ())]
        # A command is heard where its key works; repeat needs no key to work.
        commands = [c for c in COMMANDS
                    if c == "repeat" or (getattr(node, "global_keys", False) and getattr(menu.keys, c))]
        said += [(p, command) for command in commands for p in getattr(menu.speech.commands, command).get(lang, ())]
        if isinstance(node, QuestionNode):
            hints = [*language.yes, *language.no]
        else:
            hints = []
        hints += [p for p, _ in said]
        phrases = sorted({(normalise(p), pattern, target) for p, target in said if (pattern := _pattern(p))},
                         key=lambda item: (-len(item[0]), item[0]))
        # Keys' names and fillers: the caller's language's, or at a language choice every language's
        # (a name two languages give two keys is left out there).
        languages = [menu.languages[c] for c in codes] if isinstance(node, LanguageNode) else [language]
        fillers = tuple(p for w in sorted({f for lg in languages for f in lg.fillers}, key=len, reverse=True)
                        if (p := _pattern(w, anywhere=True)))  # longest first, like `_patterns`
        named: dict[str, set[str]] = {}
        for lg in languages:
            for key, words in lg.key_names.items():
                for word in words:  # as said, and without its fillers (按星号键 is 星号键 less 按, 号)
                    for form in (_compact(normalise(word)), _without(normalise(word), fillers)):
                        named.setdefault(form, set()).add(key)
        names = {form: next(iter(chosen)) for form, chosen in named.items() if len(chosen) == 1 and form}
        names |= {k: k for k in "0123456789*#"}
        priority = node.priority if isinstance(node, MenuNode) else None
        return Book(tuple(phrases), names, fillers, tuple(dict.fromkeys(hints))[:500], priority)
