"""A `Step` as TwiML, built with the twilio library's VoiceResponse.

Prompts sit inside <Gather> so a caller can press a key at any time; a <Redirect>
after it brings silence back to us as a request with no input. Every <Say> carries
its language's voice and language code from the YAML.
"""

from __future__ import annotations

from functools import lru_cache
from xml.sax.saxutils import quoteattr

from twilio.twiml.voice_response import Dial, VoiceResponse

from .engine import Listen, Step, Transfer, Utterance
from .menu import Menu

SPEECH_TIMEOUT = 2
"""Seconds of quiet that end a spoken answer. A number, not "auto": Twilio refuses
"auto" with some speech models (warning 13335)."""


_ACTION, _DIAL = "__ivr_action__", "__ivr_dial__"


class Renderer:
    """Renders steps for one menu. A menu has few distinct steps, so each one's XML is built
    once with VoiceResponse and reused with the call's own URLs put in (a webhook's main cost)."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self._template = lru_cache(maxsize=4096)(self._build)

    def render(self, step: Step, action: str, dial_action: str) -> str:
        """The TwiML for `step`; `action` receives the caller's input, `dial_action` a transfer's outcome."""
        return (self._template(step)
                .replace(f'"{_ACTION}"', quoteattr(action)).replace(f">{_ACTION}<", f">{_xml_text(action)}<")
                .replace(f'"{_DIAL}"', quoteattr(dial_action)))

    def _build(self, step: Step) -> str:
        return render(step, self.menu, _ACTION, _DIAL)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(step: Step, menu: Menu, action: str, dial_action: str) -> str:
    """The TwiML document for `step`, built from scratch (`Renderer` caches it)."""
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
        _say(gather, step.say, menu)
        response.redirect(action, method="POST")
    elif isinstance(action_, Transfer):
        _say(response, step.say, menu)
        dial = Dial(action=dial_action, method="POST", timeout=action_.ring_timeout)
        if action_.to.startswith("sip:"):
            dial.sip(action_.to)
        elif action_.to.startswith("client:"):
            dial.client(action_.to.removeprefix("client:"))
        else:
            dial.number(action_.to)
        response.append(dial)
    else:
        _say(response, step.say, menu)
        response.hangup()
    return str(response)


def _speech_options(menu: Menu, listen: Listen) -> dict[str, object]:
    return {
        "language": menu.languages[listen.lang].speech,
        "hints": ", ".join(listen.hints),
        "speech_timeout": SPEECH_TIMEOUT,
    }


def _say(parent: VoiceResponse, utterances: tuple[Utterance, ...], menu: Menu) -> None:
    for utterance in utterances:
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
