"""A `Step` as TwiML, built with the twilio library's VoiceResponse.

Prompts sit inside <Gather> so a caller can press a key at any time; a <Redirect>
after it brings silence back to us as a request with no input. Every <Say> carries
its language's voice and language code from the YAML; in languages set to play our
audio, a prompt with a fresh file is a <Play> of it instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

from twilio.twiml.voice_response import Dial, VoiceResponse

from .engine import Listen, Step, Transfer, Utterance
from .menu import Menu

SPEECH_TIMEOUT = 2
"""Seconds of quiet that end a spoken answer. A number, not "auto": Twilio refuses
"auto" with some speech models (warning 13335). It does not delay keys: with
input="dtmf speech" the first input detected wins, and numDigits=1 with finishOnKey=""
sends a key the moment it is pressed."""


_TOKEN = "__ivr_state__"
Audio = Mapping[tuple[str, str, str], str]
"""(lang, prompt id, text) -> the audio file's path under /audio/, for prompts to <Play>."""


class Renderer:
    """Renders steps for one menu. A menu has few distinct steps, so each one's XML is built
    once with VoiceResponse and reused with the call's state token put in (a webhook's main cost)."""

    def __init__(self, menu: Menu, audio: Audio | None = None) -> None:
        self.menu = menu
        self.audio = audio or {}
        self._template = lru_cache(maxsize=4096)(self._build)

    def render(self, step: Step, root: str, token: str, media: str = "") -> str:
        """The TwiML for `step`: the caller's input goes to `{root}/voice/gather?s={token}`, a
        transfer's outcome to `{root}/voice/dial?s={token}`; `media` is the absolute base URL
        audio files are fetched from. The token goes in as it is: a state token is URL-safe
        base64 and ".", nothing XML escapes (escaping the whole URLs per request cost more
        than the rest of rendering)."""
        return self._template(step, root, media).replace(_TOKEN, token)

    def _build(self, step: Step, root: str, media: str) -> str:
        return render(step, self.menu, f"{root}/voice/gather?s={_TOKEN}", f"{root}/voice/dial?s={_TOKEN}",
                      self.audio, media)


def render(step: Step, menu: Menu, action: str, dial_action: str, audio: Audio | None = None,
           media: str = "") -> str:
    """The TwiML document for `step`, built from scratch (`Renderer` caches it)."""
    audio = audio or {}
    response = VoiceResponse()
    action_ = step.action
    if isinstance(action_, Listen):
        gather = response.gather(
            input="dtmf speech",
            action=action,
            method="POST",
            timeout=action_.timeout,
            num_digits=1,
            finish_on_key="",  # "#" is a key like any other, not "submit"
            language=menu.languages[action_.lang].speech,
            hints=", ".join(action_.hints) or None,  # none written: no attribute
            speech_timeout=SPEECH_TIMEOUT,
        )
        _say(gather, step.say, menu, audio, media)
        response.redirect(action, method="POST")
    elif isinstance(action_, Transfer):
        _say(response, step.say, menu, audio, media)
        dial = Dial(action=dial_action, method="POST", timeout=action_.ring_timeout)
        if action_.to.startswith("sip:"):
            dial.sip(action_.to)
        elif action_.to.startswith("client:"):
            dial.client(action_.to.removeprefix("client:"))
        else:
            dial.number(action_.to)
        response.append(dial)
    else:
        _say(response, step.say, menu, audio, media)
        response.hangup()
    return str(response)


def _say(parent: VoiceResponse, utterances: tuple[Utterance, ...], menu: Menu, audio: Audio, media: str) -> None:
    for utterance in utterances:
        path = audio.get((utterance.lang, utterance.prompt, utterance.text))
        if path:
            parent.play(f"{media}/audio/{path}")
        else:
            lang = menu.languages[utterance.lang]
            parent.say(utterance.spoken, voice=lang.voice, language=lang.say_language)


def apology(menu: Menu, restart: str | None, code: str | None = None) -> str:
    """Last resort when a webhook fails: apologise in language `code` (default: the menu's),
    then start the call again at `restart` (or, with None, hang up: a caller who has been restarted
    too often never loops)."""
    response = VoiceResponse()
    code = code or menu.menu.default_language
    lang = menu.languages[code]
    response.say(menu.prompts["restart"][code], voice=lang.voice, language=lang.say_language)
    if restart:
        response.redirect(restart, method="POST")
    else:
        response.hangup()
    return str(response)
