"""A `Step` as TwiML, built with the twilio library's VoiceResponse.

Prompts sit inside <Gather> so a caller can press a key at any time; a <Redirect>
after it brings silence back to us as a request with no input. Every <Say> carries
its language's voice and language code from the YAML; in languages set to play our
audio, a prompt with a fresh file is a <Play> of it instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping
from xml.sax.saxutils import quoteattr

from twilio.twiml.voice_response import Dial, VoiceResponse

from .engine import Listen, Step, Transfer, Utterance
from .menu import Menu

SPEECH_TIMEOUT = 2
"""Seconds of quiet that end a spoken answer. A number, not "auto": Twilio refuses
"auto" with some speech models (warning 13335)."""


_ACTION, _DIAL, _MEDIA = "__ivr_action__", "__ivr_dial__", "__ivr_media__"
Audio = Mapping[tuple[str, str, str], str]
"""(lang, prompt id, text) -> the audio file's path under /audio/, for prompts to <Play>."""


class Renderer:
    """Renders steps for one menu. A menu has few distinct steps, so each one's XML is built
    once with VoiceResponse and reused with the call's own URLs put in (a webhook's main cost)."""

    def __init__(self, menu: Menu, audio: Audio | None = None) -> None:
        self.menu = menu
        self.audio = audio or {}
        self._template = lru_cache(maxsize=4096)(self._build)

    def render(self, step: Step, action: str, dial_action: str, media: str = "") -> str:
        """The TwiML for `step`; `action` receives the caller's input, `dial_action` a transfer's
        outcome; `media` is the absolute base URL audio files are fetched from."""
        return (self._template(step)
                .replace(f'"{_ACTION}"', quoteattr(action)).replace(f">{_ACTION}<", f">{_xml_text(action)}<")
                .replace(f'"{_DIAL}"', quoteattr(dial_action)).replace(f">{_MEDIA}", f">{_xml_text(media)}"))

    def _build(self, step: Step) -> str:
        return render(step, self.menu, _ACTION, _DIAL, self.audio, _MEDIA)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(step: Step, menu: Menu, action: str, dial_action: str, audio: Audio | None = None,
           media: str = "") -> str:
    """The TwiML document for `step`, built from scratch (`Renderer` caches it)."""
    audio = audio or {}
    response = VoiceResponse()
    action_ = step.action
    if isinstance(action_, Listen):
        gather = response.gather(
            input="dtmf speech" if action_.speech else "dtmf",
            action=action,
            method="POST",
            timeout=action_.timeout,
            num_digits=1,
            finish_on_key="",  # "#" is a key like any other, not "submit"
            **(_speech_options(menu, action_) if action_.speech else {}),
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


def _speech_options(menu: Menu, listen: Listen) -> dict[str, object]:
    return {
        "language": menu.languages[listen.lang].speech,
        "hints": ", ".join(listen.hints),
        "speech_timeout": SPEECH_TIMEOUT,
    }


def _say(parent: VoiceResponse, utterances: tuple[Utterance, ...], menu: Menu, audio: Audio, media: str) -> None:
    for utterance in utterances:
        path = audio.get((utterance.lang, utterance.prompt, utterance.text))
        if path:
            parent.play(f"{media}/audio/{path}")
        else:
            lang = menu.languages[utterance.lang]
            parent.say(utterance.spoken, voice=lang.voice, language=lang.say_language)


def apology(menu: Menu, restart: str | None) -> str:
    """Last resort when a webhook fails: apologise, then start the call again at `restart`
    (or hang up when starting is what failed, so a caller never loops)."""
    response = VoiceResponse()
    code = menu.menu.default_language
    lang = menu.languages[code]
    response.say(menu.prompts["restart"][code], voice=lang.voice, language=lang.say_language)
    if restart:
        response.redirect(restart, method="POST")
    else:
        response.hangup()
    return str(response)
