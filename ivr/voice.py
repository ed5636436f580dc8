"""Twilio's voice-webhook protocol without Flask: a webhook's parameters in, TwiML out.

Like h11, or Flask's `sansio` package, this module does no I/O of its own. The web layer
(`ivr.web`) reads the HTTP request, checks its signature and hands `Voice` a `Webhook`;
the scenario runner, `ivr sim --in-process` and the benchmarks hand it theirs directly
(`ivr.wire.voice_transport`). What lives here:

* what each webhook means for the engine: keys (with type-ahead), speech, silence (the
  <Redirect> after a <Gather>), a transfer's outcome;
* the call's state between webhooks, a signed token in the next URL (`ivr.state`), the
  line the number called gives it (`ivr.lines`) and the menu revision it began on (`ivr.live`);
* what a lost state or a failed webhook gets: an apology in the caller's language and a
  fresh start at the main menu, at most MAX_RESTARTS times, so no caller loops forever;
* the time a test asks for (`TIME_HEADER`), and the TwiML (`ivr.twiml`, with our audio
  where a language plays it).

Nothing a caller sends reaches a log as it came: numbers as a keyed hash, every other
value quoted (`logged`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from .audio import MANIFEST, default_prompts_dir, playable
from .config import DEFAULTS
from .engine import Call, DialOutcome, End, Input, Listen, Press, Silence, Speak, Step, Transfer
from .lines import Lines
from .live import KEEP, MenuStore, Revision
from .menu import KEYS, LISTENING, Menu
from .records import Ending, Move, Sink, Visit
from .state import StateCodec
from .twiml import Audio, Renderer, apology

log = logging.getLogger("ivr.web")
Clock = Callable[[], dt.datetime]

TIME_HEADER = "X-IVR-At"
"""Asked for by `ivr sim --at` (test servers only); answered with the time used, when honoured."""
CHECKED_URL_HEADER = "X-IVR-Checked-URL"
"""On a refused signature: the URL the check was made for (so `ivr sim --url` can say what to sign)."""
MAX_KEYS = 8       # type-ahead a caller could plausibly do; the rest is noise
MAX_SPEECH = 500   # characters of a speech result worth matching
MAX_RESTARTS = 2   # a call that fails a third time is apologised to and ended
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
REJECT = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject /></Response>'
_RESTARTS = re.compile(r"[0-9]{1,3}")  # ASCII digits only: str.isdigit() takes "²", which int() refuses
_SECONDS = re.compile(r"[0-9]{1,7}")
_PLAIN = re.compile(r"[A-Za-z0-9_.:/+-]*")  # a logged value that needs no quotes


@dataclass(slots=True)
class Webhook:
    """One request from Twilio, as the protocol needs it."""

    params: Mapping[str, str]
    """Twilio's parameters (the posted form)."""
    query: Mapping[str, str] = field(default_factory=dict)
    """Our own URL's: `s` (the call's state), `lang`, `restarts`."""
    root: str = ""
    """Where the routes are mounted: the URLs in the TwiML start with it."""
    media: Callable[[], str] = lambda: ""
    """The absolute base URL audio is fetched from (the public URL and `root`); asked for only
    when the TwiML plays audio (working out the host's URL costs more than a key press)."""
    at: dt.datetime | None = None
    """The time to take for this request, when a test asked for one and the service allows it."""


def asked_time(value: str) -> dt.datetime | None:
    """A TIME_HEADER value, if it is an ISO date-time with an offset."""
    try:
        when = dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def logged(value: str, limit: int = 64) -> str:
    """A value from a request as it may appear in a log line: cut to `limit`, and quoted with
    escapes unless it is plainly safe (a newline or control character cannot forge a line)."""
    value = value[:limit]
    if not value:
        return "-"
    return value if _PLAIN.fullmatch(value) else json.dumps(value)


Advance = Callable[[Call, Revision, Mapping[str, str], dt.datetime], tuple[str, list[Move]]]


class Voice:
    """The webhooks of one service: its menus (`lines`, `store` the default line's), clock, state
    codec, audio, and where call records go (`records`, e.g. an `ivr.recorder.Recorder`; None
    keeps none)."""

    def __init__(self, store: MenuStore, clock: Clock, codec: StateCodec, log_key: bytes, prompts: Path,
                 records: Sink | None = None, lines: Lines | None = None) -> None:
        self.store = store
        self.lines = lines or Lines(store)
        self.clock = clock
        self.codec = codec
        self.prompts = prompts
        self.records = records
        self._log_key = log_key
        self._audio_stamp: tuple[int, ...] = ()
        self._audio_failed: tuple[int, ...] | None = None
        self._renderers: dict[tuple[tuple[int, ...], str], Renderer] = {}
        self.prepare()
        self.lines.on_refresh(self.prepare)  # outside any caller's webhook: each worker's watchers

    @classmethod
    def local(cls, menu_path: Path, clock: Clock, records: Sink | None = None) -> Voice:
        """A service of this process only, for staff tools (`ivr sim --in-process`, `ivr test`,
        `ivr records simulate`): a secret of its own, and no watcher (the tool's menu does not
        change under it)."""
        secret = secrets.token_hex(16)
        return cls(MenuStore(menu_path, interval=0), clock, StateCodec(secret, DEFAULTS["STATE_MAX_AGE"]), secret.encode(),
                   default_prompts_dir(menu_path), records)

    @property
    def menu(self) -> Menu:
        """The menu new calls to a number of the default line get."""
        return self.store.current().engine.menu

    def pseudonym(self, number: str) -> str:
        """A caller's number as it may appear in logs: a keyed hash, never the number."""
        return hmac.digest(self._log_key, number.encode(), "sha256").hex()[:12] if number else "-"

    def call_key(self, call_sid: str) -> str:
        """A call as its records know it: a keyed hash of the CallSid (which Twilio's logs tie to a number)."""
        return hmac.digest(self._log_key, b"call:" + call_sid[:64].encode(), "sha256").hex()[:24]

    # -- the webhooks -----------------------------------------------------------------
    def incoming(self, hook: Webhook) -> str:
        """A new call, on the line of the number called; `?lang=en` skips the language choice (e.g. for
        a number advertised to English speakers)."""
        line, store = self.lines.for_number(hook.params.get("To", ""))
        revision = store.current()
        lang = hook.query.get("lang")
        engine = revision.engine
        now = self._now(hook)
        call, step = engine.start(now, lang if lang in engine.menu.languages else None)
        call.line = line
        return self._respond(hook, revision, "start", call, [Move(None, None, None, step)], _restarts_asked(hook), now)

    def gather(self, hook: Webhook) -> str:
        """A key, speech, or (via the <Redirect> after a <Gather>) silence."""
        return self._resume(hook, _heard, listening=True)

    def dial(self, hook: Webhook) -> str:
        """How a transfer ended: answered (the call is over for us) or not."""
        return self._resume(hook, _dialled, listening=False)

    def status(self, hook: Webhook) -> str:
        """The call-status callback: the end of a call, logged and recorded."""
        values = hook.params
        sid, duration = values.get("CallSid", ""), values.get("CallDuration", "")
        log.info("call=%s caller=%s status=%s duration=%s", logged(sid), self.pseudonym(values.get("From", "")),
                 logged(values.get("CallStatus", ""), 32), logged(duration, 16))
        if self.records is not None and sid:
            seconds = int(duration) if _SECONDS.fullmatch(duration) else None
            self.records.add(Ending(self.call_key(sid), self._now(hook), values.get("CallStatus", ""), seconds))
        return EMPTY

    def apologise(self, hook: Webhook) -> str:
        """After a fault: sorry, in the caller's language when its state says it, then the call
        starts again, or hangs up once it has been restarted MAX_RESTARTS times."""
        saved = self.codec.load(hook.query.get("s", ""), hook.params.get("CallSid", ""))
        store = self._line(hook, saved[0] if saved else None)[1]
        menu = store.current().engine.menu
        restarts = (saved[1] if saved else _restarts_asked(hook)) + 1
        lang = saved[0].lang if saved else None
        again = None
        if restarts <= MAX_RESTARTS:
            again = f"{hook.root}/voice?restarts={restarts}" + (f"&lang={quote(lang)}" if lang else "")
        elif saved is not None and self.records is not None:  # the call ends here: say so in its record
            call = saved[0]
            revision = store.find(call.revision) or store.current()
            step = Step((), End(), call.node)
            self._record(hook, revision, False, call, [Move(None, None, None, step)], self._now(hook), fault=True)
        return apology(menu, again, lang if lang in menu.languages else None)

    # -- audio ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Take new or removed prompt audio, and have the TwiML of the menu in service ready
        before a caller needs it (run at start and by each refresh of the store)."""
        self._audio_stamp = _audio_stamp(self.prompts)
        for store in self.lines.stores():
            self.renderer(store.current())

    def renderer(self, revision: Revision) -> Renderer:
        """TwiML for one menu revision, playing the audio that is fresh for it. Kept per audio
        stamp and revision, for as many revisions as the store keeps; a renderer made for older
        audio (by a webhook that began before the audio changed) is never kept."""
        stamp = self._audio_stamp
        found = self._renderers.get((stamp, revision.id))
        if found is None:
            menu = revision.engine.menu
            found = Renderer(menu, self._playable(menu, stamp))
            current = self._audio_stamp
            renderers = {k: v for k, v in self._renderers.items() if k[0] == current}
            if stamp == current:
                renderers[(stamp, revision.id)] = found
            while len(renderers) > KEEP:
                del renderers[next(iter(renderers))]
            self._renderers = renderers  # a new dict: webhooks read it without a lock
        return found

    def _playable(self, menu: Menu, stamp: tuple[int, ...]) -> Audio:
        """The audio to play for `menu`; none (Twilio's voice says every prompt) when the
        prompts folder cannot be read, logged once per change of the folder."""
        try:
            return playable(menu, self.prompts)
        except Exception as exc:  # noqa: BLE001 - a bad manifest or file must not cost a caller the call
            if stamp != self._audio_failed:
                self._audio_failed = stamp
                log.error("prompt audio in %s cannot be used (%s); callers hear Twilio's voice until it is fixed",
                          self.prompts, type(exc).__name__)
            return {}

    # -- internals --------------------------------------------------------------------
    def _now(self, hook: Webhook) -> dt.datetime:
        return hook.at or self.clock()

    def _resume(self, hook: Webhook, advance: Advance, listening: bool) -> str:
        """Restore the call from its state (or restart it), advance it, answer with the next step.
        A state that waits for a key posted as a transfer's outcome, or the other way round, is
        a strange request like a lost state: the caller is restarted, not hung up on."""
        now = self._now(hook)
        restored = self._restore(hook)
        if restored is None:
            return self._restart(hook, now)
        call, restarts, revision = restored
        if isinstance(revision.engine.menu.nodes[call.node], LISTENING) != listening:
            return self._restart(hook, now)
        what, moves = advance(call, revision, hook.params, now)
        return self._respond(hook, revision, what, call, moves, restarts, now)

    def _restore(self, hook: Webhook) -> tuple[Call, int, Revision] | None:
        """The call's state and the menu revision it began on, or None if the state is lost.
        A revision no worker can find any more (an archive that cannot be written, say) is not
        a reason to drop the call: it goes on in the current menu if that has its node."""
        sid = hook.params.get("CallSid", "")
        saved = self.codec.load(hook.query.get("s", ""), sid)
        if saved is None:
            return None
        call, restarts = saved
        store = self.lines.store(call.line)
        if store is None:  # a line this worker does not serve (the mapping dropped it before it started)
            log.warning("call=%s: line %s not served here; the call starts again", logged(sid), logged(call.line))
            return None
        revision = store.find(call.revision)
        if revision is None:
            revision = store.current()
            log.warning("call=%s: menu revision %s not found; the call goes on in %s", logged(sid),
                        logged(call.revision), revision.id)
            call.revision = revision.id
        menu = revision.engine.menu
        return (call, restarts, revision) if call.node in menu.nodes and call.lang in menu.languages else None

    def _restart(self, hook: Webhook, now: dt.datetime) -> str:
        """Lost state: apologise and begin again at the main menu of the current revision of the
        call's line, in the caller's language when the state still says it (e.g. its menu
        revision is gone)."""
        readable = self.codec.load(hook.query.get("s", ""), hook.params.get("CallSid", ""))
        line, store = self._line(hook, readable[0] if readable else None)
        revision = store.current()
        call, step = revision.engine.restart(now, readable[0].lang if readable else None)
        call.line = line
        return self._respond(hook, revision, "restart", call, [Move(None, None, None, step)], 0, now)

    def _line(self, hook: Webhook, call: Call | None) -> tuple[str, MenuStore]:
        """The line a call is on: its state's, if this worker serves it, else the number called's."""
        if call is not None and (store := self.lines.store(call.line)) is not None:
            return call.line, store
        return self.lines.for_number(hook.params.get("To", ""))

    def _respond(self, hook: Webhook, revision: Revision, what: str, call: Call, moves: list[Move], restarts: int,
                 now: dt.datetime) -> str:
        """Log and record the step, keep the call's state in the next URLs, and answer with its TwiML."""
        values = hook.params
        sid = values.get("CallSid", "")
        step = moves[-1].step
        if log.isEnabledFor(logging.INFO):
            log.info("call=%s caller=%s revision=%s %s -> %s %s", logged(sid), self.pseudonym(values.get("From", "")),
                     logged(call.revision), what, step.node, type(step.action).__name__.lower())
        if self.records is not None and sid:
            self._record(hook, revision, what in ("start", "restart"), call, moves, now)
        token = self.codec.dump(call, sid, restarts=restarts) if isinstance(step.action, (Listen, Transfer)) else ""
        renderer = self.renderer(revision)
        return renderer.render(step, hook.root, token, hook.media() if renderer.audio else "")

    def _record(self, hook: Webhook, revision: Revision, start: bool, call: Call, moves: list[Move], now: dt.datetime,
                fault: bool = False) -> None:
        assert self.records is not None
        values = hook.params
        self.records.add(Visit(self.call_key(values.get("CallSid", "")), self.pseudonym(values.get("From", "")), now,
                               call.lang, dict(call.answers), revision.id, revision.engine.menu, moves, start, fault))


ROUTES: dict[str, Callable[[Voice, Webhook], str]] = {
    "/voice": Voice.incoming, "/voice/gather": Voice.gather, "/voice/dial": Voice.dial, "/voice/status": Voice.status}
"""The webhooks, by path (the web layer serves them; `ivr.wire.voice_transport` calls them)."""


def _heard(call: Call, revision: Revision, values: Mapping[str, str], now: dt.datetime) -> tuple[str, list[Move]]:
    events, moves = _inputs(values), []
    for event in events:  # type-ahead: several keys in one request, until the call stops listening
        node = call.node
        step = revision.engine.step(call, event, now)
        key = event.key if isinstance(event, Press) else step.heard_as or None
        moves.append(Move(node, _VIA[type(event)], key, step))
        if not isinstance(step.action, Listen):
            break
    return type(events[0]).__name__.lower(), moves


def _dialled(call: Call, revision: Revision, values: Mapping[str, str], now: dt.datetime) -> tuple[str, list[Move]]:
    status = values.get("DialCallStatus", "")
    answered = status in ("completed", "answered")
    node = call.node
    step = revision.engine.step(call, DialOutcome(answered), now)
    return "dial-" + ("answered" if answered else "unanswered"), [Move(node, "dial", None, step, status[:16] or None)]


def _inputs(values: Mapping[str, str]) -> list[Input]:
    digits = values.get("Digits", "").strip()[:MAX_KEYS]
    if digits:
        if any(key not in KEYS for key in digits):
            return [Press("?")]  # not a key: the engine answers "not one of the choices"
        return [Press(key) for key in digits]
    speech = values.get("SpeechResult", "").strip()[:MAX_SPEECH]
    return [Speak(speech, _confidence(values.get("Confidence")))] if speech else [Silence()]


def _confidence(value: str | None) -> float | None:
    """Twilio's Confidence (0-1); None when missing, 0 (some speech models send 0.0 for "not
    measured") or not a number in range: then the words are taken as heard, and must still match."""
    try:
        number = float(value) if value else None
    except ValueError:
        return None
    return number if number is not None and 0.0 < number <= 1.0 else None


_VIA: dict[type, str] = {Press: "key", Speak: "speech", Silence: "silence"}


def _restarts_asked(hook: Webhook) -> int:
    asked = hook.query.get("restarts", "0")
    return min(int(asked), MAX_RESTARTS) if _RESTARTS.fullmatch(asked) else 0


def _audio_stamp(prompts: Path) -> tuple[int, ...]:
    """The audio manifest and each language's folder (a file added or removed there changes
    the folder's mtime): what tells that the playable audio may have changed."""
    stamp: tuple[int, ...] = ()
    try:
        folders = sorted(p for p in prompts.iterdir() if p.is_dir()) if prompts.is_dir() else []
    except OSError:
        folders = []
    for path in (prompts / MANIFEST, *folders):
        try:
            info = path.stat()
            stamp += (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp += (0, 0)
    return stamp
