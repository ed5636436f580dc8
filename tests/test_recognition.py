"""Are the phrase lists ones a recogniser can tell apart? Each choice's main phrase (its first) and
each command is said by espeak-ng and recognised offline by pocketsphinx, with the node's phrases as
its grammar (as Twilio gets them as hints); what it heard must choose that same choice through the
menu's own matcher. pocketsphinx ships a model for English only: the other languages are reported
as not checked. A test of our phrase lists, not of Twilio's recognition.

Run with -s to see the report: `python3 -m pytest tests/test_recognition.py -s`."""

from __future__ import annotations

from dataclasses import dataclass

import recogniser

from ivr.audio import synthesise, synthesisers
from ivr.hearing import COMMANDS, Hearing
from ivr.menu import LanguageNode, Menu, MenuNode

MODELS = {"en"}
"""Languages pocketsphinx has an acoustic model and dictionary for (in its package)."""


@dataclass(frozen=True)
class Phrase:
    node: str
    target: str
    """The key or command the phrase stands for."""
    text: str


def phrases(menu: Menu, lang: str) -> list[Phrase]:
    """Each choice's main phrase at each node that has phrases, and each command's, in `lang`."""
    out = []
    for name, node in menu.nodes.items():
        if isinstance(node, (MenuNode, LanguageNode)):
            out += [Phrase(name, key, by_lang[lang][0]) for key, by_lang in node.phrases.items() if by_lang.get(lang)]
    main = menu.menu.main_menu
    out += [Phrase(main, c, getattr(menu.speech.commands, c)[lang][0]) for c in COMMANDS
            if getattr(menu.speech.commands, c).get(lang)]
    return out


def recognised(menu: Menu, lang: str) -> tuple[int, list[str]]:
    """How many of `lang`'s phrases come back as their own choice, and what the others were heard as."""
    assert lang in MODELS
    decoder = recogniser.english()
    hearing, voice = Hearing(menu), menu.languages[lang].synth_voice or ""
    items = phrases(menu, lang)
    with synthesisers() as pool:
        audio = list(pool.map(synthesise, [p.text for p in items], [voice] * len(items)))
    right, wrong = 0, []
    for item, (samples, rate) in zip(items, audio, strict=True):
        # The node's grammar: what may be heard there (its phrases and commands, folded).
        recogniser.grammar(decoder, item.node, [phrase for phrase, _, _ in hearing.book(item.node, lang).phrases])
        heard = recogniser.recognise(decoder, samples, rate)
        if hearing.understand(item.node, lang, heard) == item.target:
            right += 1
        else:
            wrong.append(f"{item.node} {item.target} {item.text!r} heard as {heard!r}")
    return right, wrong


def test_espeak_phrases_come_back_as_their_own_choice(menu: Menu) -> None:
    report, shares = [], {}
    for lang in menu.languages:
        if lang not in MODELS:
            report.append(f"  {lang}: not checked (pocketsphinx has no {menu.languages[lang].name} model)")
            continue
        right, wrong = recognised(menu, lang)
        shares[lang] = right / (right + len(wrong))
        report.append(f"  {lang}: {right}/{right + len(wrong)} phrases recognised as their own choice "
                      f"({shares[lang]:.0%})")
        report += [f"      {w}" for w in wrong]
    print("\noffline recognition of the phrase lists:\n" + "\n".join(report))
    assert shares and all(share >= 0.8 for share in shares.values()), "\n".join(report)
