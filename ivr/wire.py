"""Playing a call against the TwiML service the way Twilio would.

`WireLine` posts Twilio's standard call parameters, reads the TwiML that comes back
(Say, Play, Pause, Gather, Redirect, Dial, Hangup, Reject) and turns it back into the
engine's `Step`, so the simulator's loop, events and transcripts are the same whether
a call goes through the engine directly or through HTTP and TwiML. Transports: a
Flask test client (in-process) or real HTTP (`ivr sim --url`).
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from typing import Callable

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from .engine import DialOutcome, End, HangUp, Input, Listen, Press, Silence, Speak, Step, Transfer, Utterance
from .errors import IVRError
from .menu import Menu
from .web import CHECKED_URL_HEADER, TIME_HEADER

Post = Callable[[str, dict[str, str]], str]


class WireError(IVRError):
    """The service could not be reached or answered something that is not TwiML."""


def http_transport(base_url: str, auth_token: str | None = None, at: dt.datetime | None = None,
                   public_url: str | None = None) -> Post:
    """POST form data to a running service; sign it like Twilio when given the auth token,
    for `public_url` when the server is reached at another address than Twilio's (its
    IVR_PUBLIC_URL). With `at`, the server must say it used that time."""
    validator = RequestValidator(auth_token) if auth_token else None

    def post(path: str, params: dict[str, str]) -> str:
        url = urllib.parse.urljoin(base_url, path)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if validator:
            signed = public_url.rstrip("/") + _path_and_query(url) if public_url else url
            headers["X-Twilio-Signature"] = validator.compute_signature(signed, params)
        if at:
            headers[TIME_HEADER] = at.isoformat()
        data = urllib.parse.urlencode(params).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=15) as reply:
                if at and reply.headers.get(TIME_HEADER) is None:
                    raise WireError(f"{base_url} ignores the time asked for (--at): start it with "
                                    "IVR_ALLOW_CLOCK_HEADER=true (test servers only), or leave --at out")
                return str(reply.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            checked = exc.headers.get(CHECKED_URL_HEADER) if exc.code == 403 else None
            if checked:
                raise WireError(f"refused: bad signature (the server checks signatures for URL {checked}; "
                                "give its public URL with --public-url, and the auth token it has)") from None
            raise WireError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise WireError(f"cannot reach {url}: {exc}") from None

    return post


def _path_and_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def client_transport(client: FlaskClient) -> Post:
    """POST through a Flask test client: the whole service, in this process."""

    def post(path: str, params: dict[str, str]) -> str:
        reply = client.post(path, data=params)
        if reply.status_code != 200:
            raise WireError(f"{path} answered HTTP {reply.status_code}")
        return reply.get_data(as_text=True)

    return post


class WireLine:
    """One call through the service, seen as Twilio sees it."""

    def __init__(self, post: Post, menu: Menu | None = None, caller: str = "+819000000000",
                 called: str = "+81120950178") -> None:
        self.post = post
        self.sid = "CA" + uuid.uuid4().hex
        self.base = {"CallSid": self.sid, "AccountSid": "AC" + "0" * 32, "From": caller, "To": called,
                     "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        self.codes = {lang.say_language: code for code, lang in (menu.languages.items() if menu else [])}
        self.action = self.redirect = self.dial_action = ""

    def start(self, lang: str | None) -> Step:
        path = "/voice" + (f"?lang={urllib.parse.quote(lang)}" if lang else "")
        return self._read(self.post(path, {**self.base, "CallStatus": "ringing"}))

    def send(self, event: Input) -> Step:
        if isinstance(event, HangUp):
            self.post("/voice/status", {**self.base, "CallStatus": "completed"})
            return Step((), End(), "")
        if isinstance(event, DialOutcome):
            status = "completed" if event.answered else "no-answer"
            return self._read(self.post(self.dial_action, {**self.base, "DialCallStatus": status}))
        if isinstance(event, Press):
            return self._read(self.post(self.action, {**self.base, "Digits": event.key}))
        if isinstance(event, Speak):
            return self._read(self.post(self.action, {**self.base, "SpeechResult": event.text,
                                                      "Confidence": "0.9"}))
        assert isinstance(event, Silence)
        return self._read(self.post(self.redirect, self.base))

    def _read(self, document: str, said: tuple[Utterance, ...] = ()) -> Step:
        try:
            root = ET.fromstring(document)
        except ET.ParseError as exc:
            raise WireError(f"the service answered something that is not XML: {exc}") from None
        if root.tag != "Response":
            raise WireError(f"the service answered <{root.tag}>, not a TwiML <Response>")
        for verb in root:
            if verb.tag in ("Say", "Play"):
                said += (self._utterance(verb),)
            elif verb.tag == "Gather":
                said += tuple(self._utterance(v) for v in verb if v.tag in ("Say", "Play"))
                self.action = verb.get("action", "")
                self.redirect = self._redirect_after(root, verb) or self.action
                speech = "speech" in verb.get("input", "dtmf")
                lang = self.codes.get(said[-1].lang, said[-1].lang) if said else ""
                return Step(said, Listen(int(verb.get("timeout", "5")), speech, lang), "")
            elif verb.tag == "Redirect":
                return self._read(self.post(verb.text or "", self.base), said)
            elif verb.tag == "Dial":
                self.dial_action = verb.get("action", "")
                target = "".join((child.text or "").strip() for child in verb) or (verb.text or "").strip()
                return Step(said, Transfer(target, int(verb.get("timeout", "30"))), "")
            elif verb.tag in ("Hangup", "Reject"):
                return Step(said, End(), "")
        return Step(said, End(), "")  # Twilio hangs up when the document runs out

    @staticmethod
    def _redirect_after(root: ET.Element, gather: ET.Element) -> str:
        verbs = list(root)
        following = verbs[verbs.index(gather) + 1:]
        return next((v.text or "" for v in following if v.tag == "Redirect"), "")

    def _utterance(self, verb: ET.Element) -> Utterance:
        text = (verb.text or "").strip()
        lang = verb.get("language", "")
        if verb.tag == "Play":
            return Utterance(text, text, self.codes.get(lang, lang), "audio")
        return Utterance(text, text, self.codes.get(lang, lang), "")
