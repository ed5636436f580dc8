"""Playing a call against the TwiML service the way Twilio would.

`WireLine` posts Twilio's standard call parameters, reads the TwiML that comes back
(Say, Play, Pause, Gather, Redirect, Dial, Hangup, Reject) and turns it back into the
engine's `Step`, so the simulator's loop, events and transcripts are the same whether
a call goes through the engine directly or through HTTP and TwiML.

It posts through a `Transport`, as httpx does: `voice_transport` hands each webhook to
the protocol (`ivr.voice`) in this process, `wsgi_transport` to any WSGI app,
`http_transport` to a running service; `signed` and `at_time` wrap any of them to sign
requests like Twilio and to ask for the time of the call.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable, Mapping

from twilio.request_validator import RequestValidator
from werkzeug.test import Client

from .engine import DialOutcome, End, HangUp, Input, Listen, Press, Silence, Speak, Step, Transfer, Utterance
from .errors import IVRError
from .menu import Menu
from .signatures import Headers
from .voice import CHECKED_URL_HEADER, ROUTES, TIME_HEADER, Voice, Webhook, asked_time

log = logging.getLogger("ivr.wire")


class WireError(IVRError):
    """The service could not be reached or answered something that is not TwiML."""


@dataclass(frozen=True)
class Request:
    path: str
    """Path and query, as the TwiML gave them (e.g. /voice/gather?s=...)."""
    params: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Headers
    text: str


Transport = Callable[[Request], Reply]


def voice_transport(voice: Voice) -> Transport:
    """Each webhook straight to the protocol, in this process: no HTTP, no WSGI, so no
    signature check (`signed` adds one that nothing checks). The time asked for by `at_time`
    is taken, as a test server does. Like the service, a fault is logged (its type and
    where) and answered with the apology."""
    def post(request: Request) -> Reply:
        path, _, query = request.path.partition("?")
        at = asked_time(request.headers.get(TIME_HEADER, ""))
        hook = Webhook(request.params, dict(urllib.parse.parse_qsl(query, keep_blank_values=True)), at=at)
        route = ROUTES.get(path, Voice.apologise)
        headers = {TIME_HEADER: at.isoformat()} if at else {}
        try:
            return Reply(200, headers, route(voice, hook))
        except Exception as exc:
            where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
            log.error("webhook %s failed: %s\n%s", path, type(exc).__name__, where)
            return Reply(200, headers, voice.apologise(hook))

    return post


def wsgi_transport(app: Callable[..., object]) -> Transport:
    """POST to a WSGI app in this process (werkzeug's test client: a real WSGI request)."""
    client = Client(app)  # type: ignore[arg-type]

    def post(request: Request) -> Reply:
        reply = client.post(request.path, data=dict(request.params), headers=dict(request.headers))
        return Reply(reply.status_code, reply.headers, reply.get_data(as_text=True))

    return post


def http_transport(base_url: str, auth_token: str | None = None, at: dt.datetime | None = None,
                   public_url: str | None = None) -> Transport:
    """POST to a running service at `base_url`; signed like Twilio when given the auth token,
    for `public_url` when the server is reached at another address than Twilio's (its
    IVR_PUBLIC_URL); at `at`, which the server must say it used."""
    def post(request: Request) -> Reply:
        url = urllib.parse.urljoin(base_url, request.path)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **request.headers}
        data = urllib.parse.urlencode(request.params).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=15) as reply:
                return Reply(reply.status, reply.headers, reply.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.headers, "")
        except (urllib.error.URLError, OSError) as exc:
            raise WireError(f"cannot reach {url}: {exc}") from None

    transport: Transport = post
    if at is not None:
        transport = at_time(transport, at, base_url)
    if auth_token:
        transport = signed(transport, auth_token, base_url, public_url)
    return transport


def signed(transport: Transport, auth_token: str, base_url: str, public_url: str | None = None) -> Transport:
    """Sign each request like Twilio, for the URL it goes to (`base_url` joined with its path),
    or for the same path and query on `public_url` when Twilio reaches the server there."""
    validator = RequestValidator(auth_token)

    def post(request: Request) -> Reply:
        url = urllib.parse.urljoin(base_url, request.path)
        if public_url:
            url = public_url.rstrip("/") + _path_and_query(url)
        signature = validator.compute_signature(url, dict(request.params))
        return transport(Request(request.path, request.params, {**request.headers, "X-Twilio-Signature": signature}))

    return post


def at_time(transport: Transport, at: dt.datetime, where: str = "the service") -> Transport:
    """Ask for each request to be taken at `at` (a test server's IVR_ALLOW_CLOCK_HEADER); a
    server that does not say it did is an error, not a call at another time."""
    def post(request: Request) -> Reply:
        reply = transport(Request(request.path, request.params, {**request.headers, TIME_HEADER: at.isoformat()}))
        if reply.status == 200 and reply.headers.get(TIME_HEADER) is None:
            raise WireError(f"{where} ignores the time asked for (--at): start it with "
                            "IVR_ALLOW_CLOCK_HEADER=true (test servers only), or leave --at out")
        return reply

    return post


def _path_and_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class WireLine:
    """One call through the service, seen as Twilio sees it."""

    def __init__(self, transport: Transport, menu: Menu | None = None, caller: str = "+819000000000",
                 called: str = "+81120950178") -> None:
        self.transport = transport
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
            return self.hang_up()
        if isinstance(event, DialOutcome):
            return self.dialled("completed" if event.answered else "no-answer")
        if isinstance(event, Press):
            return self._read(self.post(self.action, {**self.base, "Digits": event.key}))
        if isinstance(event, Speak):
            confidence = "0.9" if event.confidence is None else str(event.confidence)
            return self._read(self.post(self.action, {**self.base, "SpeechResult": event.text,
                                                      "Confidence": confidence}))
        assert isinstance(event, Silence)
        return self._read(self.post(self.redirect, self.base))

    def dialled(self, status: str) -> Step:
        """How the transfer ended, as Twilio's DialCallStatus says it (completed, busy, no-answer...)."""
        return self._read(self.post(self.dial_action, {**self.base, "DialCallStatus": status}))

    def hang_up(self, duration: int | None = None) -> Step:
        """The call is over: Twilio's status callback, with the call's length when given."""
        length = {"CallDuration": str(duration)} if duration is not None else {}
        self.post("/voice/status", {**self.base, "CallStatus": "completed", **length})
        return Step((), End(), "")

    def post(self, path: str, params: dict[str, str]) -> str:
        """The TwiML the service answers to one webhook; a refusal is an error that says why."""
        reply = self.transport(Request(path, params))
        if reply.status == 200:
            return reply.text
        checked = reply.headers.get(CHECKED_URL_HEADER) if reply.status == 403 else None
        if checked:
            raise WireError(f"refused: bad signature (the server checks signatures for URL {checked}; "
                            "give its public URL with --public-url, and the auth token it has)")
        raise WireError(f"{path.partition('?')[0]} answered HTTP {reply.status}")

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
                lang = self.codes.get(said[-1].lang, said[-1].lang) if said else ""
                hints = tuple(verb.get("hints", "").split(", ")) if verb.get("hints") else ()
                return Step(said, Listen(int(verb.get("timeout", "5")), lang, hints), "")
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
