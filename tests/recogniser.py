"""pocketsphinx, offline, as the audio and phrase tests use it: its English model (the only one it
ships), words it lacks added by their phones, audio decoded at 16 kHz with a grammar."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import soxr
from pocketsphinx import Decoder, get_model_path

PRONUNCIATIONS = {"mynapoint": "M AY N AH P OY N T", "mynaportal": "M AY N AH P AO R T AH L", "myna": "M AY N AH"}
"""Our menu's words that pocketsphinx's dictionary lacks."""


def english() -> Any:
    model = os.path.join(get_model_path(), "en-us")
    decoder = Decoder(hmm=os.path.join(model, "en-us"), dict=os.path.join(model, "cmudict-en-us.dict"),
                      loglevel="FATAL", samprate=16000)
    for word, phones in PRONUNCIATIONS.items():
        if decoder.lookup_word(word) is None:
            decoder.add_word(word, phones, True)
    return decoder


def grammar(decoder: Any, name: str, phrases: list[str]) -> None:
    """Listen only for `phrases` (words the dictionary lacks are left out with their phrase)."""
    known = sorted(p for p in phrases if all(decoder.lookup_word(w) is not None for w in p.split()))
    decoder.add_jsgf_string(name, f"#JSGF V1.0;\ngrammar {name};\npublic <p> = "
                            + " | ".join(f"( {p} )" for p in known) + ";\n")
    decoder.activate_search(name)


def recognise(decoder: Any, samples: Any, rate: int) -> str:
    """What the decoder hears in `samples` (floats at `rate` Hz), with a little silence around them."""
    pad = np.zeros(4000, dtype=np.int16)
    pcm = np.concatenate([pad, (soxr.resample(samples, rate, 16000) * 32767).astype(np.int16), pad])
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""
