"""Are the phrase lists ones a recogniser can tell apart? Each choice's main phrase (its first) and
each command is said by espeak-ng and recognised offline by pocketsphinx, with the node's phrases as
its grammar (as Twilio gets them as hints); what it heard must choose that same choice through the
menu's own matcher. pocketsphinx ships a model for English only: the other languages are reported
as not checked. A test of our phrase lists, not of Twilio's recognition.

Run with -s to see the report: `python3 -m pytest tests/test_recognition.py -s`."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import soxr
from pocketsphinx import Decoder, get_model_path

from ivr.audio import synthesise, synthesisers
from ivr.hearing import COMMANDS, Hearing
from ivr.menu import LanguageNode, Menu, MenuNode

MODELS = {"en": "en-us"}
"""Languages pocketsphinx has an acoustic model and dictionary for (in its package)."""
PRONUNCIATIONS = {"mynapoint": "M AY N AH P OY N T", "mynaportal": "M AY N AH P AO R T AH L", "myna": "M AY N AH"}


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
    model = os.path.join(get_model_path(), MODELS[lang])
    decoder = Decoder(hmm=os.path.join(model, MODELS[lang]), dict=os.path.join(model, "cmudict-en-us.dict"),
                      loglevel="FATAL", samprate=16000)
    for word, phones in PRONUNCIATIONS.items():
        if decoder.lookup_word(word) is None:
            decoder.add_word(word, phones, True)
    hearing, voice = Hearing(menu), menu.languages[lang].synth_voice or ""
    items = phrases(menu, lang)
    with synthesisers() as pool:
        audio = list(pool.map(synthesise, [p.text for p in items], [voice] * len(items)))
    right, wrong = 0, []
    for item, (samples, rate) in zip(items, audio, strict=True):
        # The node's grammar: what the recogniser may hear there (its phrases and commands, folded).
        said = {phrase for phrase, _, _ in hearing.book(item.node, lang).phrases
                if all(decoder.lookup_word(word) is not None for word in phrase.split())}
        decoder.add_jsgf_string(item.node, "#JSGF V1.0;\ngrammar g;\npublic <p> = "
                                + " | ".join(f"( {s} )" for s in sorted(said)) + ";\n")
        decoder.activate_search(item.node)
        pad = np.zeros(4000, dtype=np.int16)
        pcm = np.concatenate([pad, (soxr.resample(samples, rate, 16000) * 32767).astype(np.int16), pad])
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), full_utt=True)
        decoder.end_utt()
        heard = decoder.hyp().hypstr if decoder.hyp() else ""
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
