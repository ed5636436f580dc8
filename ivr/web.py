"""The Twilio voice webhooks: a Flask blueprint over the engine, and the app factory.

Routes (all answer TwiML, `text/xml`):
    /voice           incoming call (the Twilio number's voice webhook)
    /voice/gather    each <Gather>'s action: a key, speech, or (via <Redirect>) silence
    /voice/dial      each <Dial>'s action: whether staff answered
    /voice/status    the call-status callback (logs the end of a call)
    /audio/<lang>/<prompt>.wav   prompt audio for <Play> (not a webhook: unsigned, cacheable)
    /health          JSON: the menu in service
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from functools import cached_property, wraps
from pathlib import Path
from typing import Any, Callable, Mapping, cast
from zoneinfo import ZoneInfo

from fast_query_parsers import parse_query_string
from flask import Blueprint, Flask, Request, Response, abort, current_app, jsonify, request, send_from_directory
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator, get_signature_algorithm
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import get_content_length

from .engine import Call, DialOutcome, Input, Listen, Press, Silence, Speak, Step, Transfer
from .live import Edition, MenuStore
from .menu import KEYS, Menu, default_menu_path
from .state import StateCodec
from .twiml import apology

log = logging.getLogger("ivr.web")
bp = Blueprint("ivr", __name__)

MAX_KEYS = 8       # type-ahead a caller could plausibly do; the rest is noise
MAX_SPEECH = 500   # characters of a speech result worth matching
TIME_HEADER = "X-IVR-At"
MAX_RESTARTS = 2   # a call that fails a third time is apologised to and ended
_AUDIO_NAME = re.compile(r"[A-Za-z0-9_]+\.wav")
_ON = {"1", "true", "yes", "on"}
Clock = Callable[[], dt.datetime]

DEFAULTS: dict[str, Any] = {
    "MENU": None,               # menu file; default $IVR_MENU or menus/free_dial.yaml
    "MENU_ARCHIVE": None,       # folder keeping every good revision, for calls in progress
    "MENU_CHECK_INTERVAL": 1.0,  # seconds between checks of the menu file for changes
    "PROMPTS": None,            # audio folder; default prompts/ beside menus/
    "AUDIO_MAX_AGE": 86400,     # seconds Twilio may cache an audio file (its URL changes with its content)
    "TWILIO_AUTH_TOKEN": None,  # validates X-Twilio-Signature on every webhook
    "ALLOW_UNSIGNED": False,    # explicit local-only choice to run without a token
    "PUBLIC_URL": None,         # the base URL Twilio calls, if it differs from what we see
    "TRUST_PROXY": False,       # honour X-Forwarded-Proto/Host from one reverse proxy
    "STATE_SECRET": None,       # signs call state; shared by every worker and machine (not Flask's SECRET_KEY:
                                # no cookie sessions here, and none opened per request)
    "STATE_MAX_AGE": 4 * 3600,  # seconds a call's state stays valid
    "ALLOW_CLOCK_HEADER": False,  # test servers only: X-IVR-At sets the time of a request (ivr sim --at)
    "MAX_CONTENT_LENGTH": 64 * 1024,
}


@dataclass
class Service:
    """What the webhooks share: the menus, the clock, the state codec and the request checks."""

    store: MenuStore
    clock: Clock
    codec: StateCodec
    validator: RequestValidator | None
    public_url: str | None
    log_key: bytes
    clock_header: bool = False

    @property
    def menu(self) -> Menu:
        """The menu new calls get."""
        return self.store.current().engine.menu

    def pseudonym(self, number: str) -> str:
        """A caller's number as it may appear in logs: a keyed hash, never the number."""
        return hmac.new(self.log_key, number.encode(), hashlib.sha256).hexdigest()[:12] if number else "-"


class TwilioParams(dict[str, str]):
    """A webhook's parameters, with the `getall` of a multidict: Twilio's RequestValidator
    asks each parameter for its values that way first, and a plain dict made it raise and
    catch two exceptions per parameter (most of the signature check's time). Only names
    the validator took from the dict itself are asked for, so a missing one is a bug."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


class WebhookRequest(Request):
    """Flask's request, with Twilio's parameters and our URL's own read once, as plain dicts.

    Not `request.values` or `request.args`: werkzeug's form parsing (stream wrappers,
    MultiDicts) cost more than all our own work on a webhook. Twilio posts one flat
    urlencoded form of some 25 fields; fast-query-parsers reads it in a fifth of the
    standard library's time. On every UTF-8 form Twilio can send it reads what urllib
    reads (tests/test_web_fuzz.py); it differs only on input Twilio never sends (a name
    with an escaped "=", escapes that are not UTF-8), where a signed request then fails its
    check and an unsigned one loses that field. Duplicate names: the last one counts."""

    @cached_property
    def params(self) -> TwilioParams:
        """Twilio's parameters: the posted form (or, for a webhook configured as GET, the
        query). Blank ones are kept, as Twilio's signature covers them."""
        if self.method != "POST":
            return TwilioParams(self.query)
        # werkzeug.wsgi.get_content_length, not `self.content_length`: the same rule without
        # building a headers view of the request (a third of the time)
        length, limit = get_content_length(self.environ), self.max_content_length
        if length is None:  # chunked or unknown length: werkzeug's careful reader
            return TwilioParams(parse_query_string(self.get_data(), "&"))
        if limit is not None and length > limit:
            raise RequestEntityTooLarge()
        return TwilioParams(parse_query_string(self.environ["wsgi.input"].read(length), "&"))

    @cached_property
    def query(self) -> dict[str, str]:
        """The parameters of our own URLs: `s` (the call's state), `lang`, `restarts`."""
        return dict(parse_query_string(self.query_string, "&"))


def _request() -> WebhookRequest:
    """This request, taken out of Flask's `request` proxy once: each use of the proxy is a
    context look-up, and a webhook used it half a dozen times."""
    return cast(WebhookRequest, request._get_current_object())  # type: ignore[attr-defined]


def create_app(menu_path: str | None = None, *, clock: Clock | None = None,
               config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service. Configuration: DEFAULTS, then IVR_* environment variables, then `config`."""
    app = Flask("ivr", static_folder=None)  # no static files: audio has its own route
    app.request_class = WebhookRequest
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("IVR", loads=str)  # values as written: no JSON guessing ("False" is a word)
    app.config.update(config or {})
    cfg = app.config
    for flag in ("ALLOW_UNSIGNED", "TRUST_PROXY", "ALLOW_CLOCK_HEADER"):
        cfg[flag] = str(cfg[flag]).strip().lower() in _ON
    if cfg["MAX_CONTENT_LENGTH"] is not None:  # from the environment it is a word
        cfg["MAX_CONTENT_LENGTH"] = int(cfg["MAX_CONTENT_LENGTH"])
    store = MenuStore(Path(menu_path or cfg["MENU"] or default_menu_path()),
                      Path(cfg["MENU_ARCHIVE"]) if cfg["MENU_ARCHIVE"] else None, float(cfg["MENU_CHECK_INTERVAL"]),
                      Path(cfg["PROMPTS"]) if cfg["PROMPTS"] else None)
    menu = store.current().engine.menu
    token = cfg["TWILIO_AUTH_TOKEN"]
    if not token and not cfg["ALLOW_UNSIGNED"]:
        raise RuntimeError("no Twilio auth token: set IVR_TWILIO_AUTH_TOKEN, or IVR_ALLOW_UNSIGNED=true "
                           "for local testing only")
    if not token:
        log.warning("UNSIGNED MODE: X-Twilio-Signature is NOT checked; anyone can drive this service. "
                    "Local testing only.")
    secret = cfg["STATE_SECRET"] or (token and hmac.new(token.encode(), b"ivr-state", "sha256").hexdigest())
    if not secret:
        secret = secrets.token_hex(32)
        log.warning("no IVR_STATE_SECRET: call state is signed with a key of this process only, so calls "
                    "break when requests reach another worker")
    if cfg["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    zone = ZoneInfo(menu.menu.timezone)
    app.extensions["ivr"] = Service(
        store=store,
        clock=clock or (lambda: dt.datetime.now(zone)),
        codec=StateCodec(secret, int(cfg["STATE_MAX_AGE"])),
        validator=RequestValidator(token) if token else None,
        public_url=cfg["PUBLIC_URL"],
        log_key=secret.encode(),
        clock_header=bool(cfg["ALLOW_CLOCK_HEADER"]),
    )
    app.register_blueprint(bp)
    app.register_error_handler(404, _not_found)
    log.info("serving menu %r version %s", menu.menu.name, menu.menu.version)
    return app


def _service() -> Service:
    service: Service = current_app.extensions["ivr"]
    return service


def _now(service: Service, req: WebhookRequest) -> dt.datetime:
    """The service's clock, or on a test server that allows it, the time the simulator asks for."""
    asked = req.headers.get(TIME_HEADER, "") if service.clock_header else ""
    try:
        when = dt.datetime.fromisoformat(asked) if asked else None
    except ValueError:
        when = None
    return when if when is not None and when.tzinfo is not None else service.clock()


def _twiml(document: str, status: int = 200) -> Response:
    return Response(document, status=status, mimetype="text/xml")


# -- request checks --------------------------------------------------------------------
View = Callable[[Service, WebhookRequest], Response]


def webhook(view: View) -> Callable[[], Response]:
    """Mark a view as one of Twilio's webhooks: its signature is checked first (when the
    service has a token), then the view gets the service and the request, each looked up
    once (not a `before_request` hook: that looked both up again, on every webhook). Flask's
    automatic answer to OPTIONS runs no view, so it goes unchecked: it tells only the methods."""

    @wraps(view)
    def checked() -> Response:
        service, req = _service(), _request()
        if service.validator is not None:
            _check_signature(service.validator, service.public_url, req)
        return view(service, req)

    return checked


def _check_signature(validator: RequestValidator, public_url: str | None, req: WebhookRequest) -> None:
    url = req.url
    if public_url:
        url = public_url.rstrip("/") + req.full_path.removesuffix("?")
    params = req.params if req.method == "POST" else {}
    signature = req.headers.get("X-Twilio-Signature", "")
    algorithm = get_signature_algorithm(req.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    if not validator.validate(url, params, signature, algorithm):
        log.warning("refused a webhook with a bad or missing signature: %s %s", req.method, req.path)
        abort(403)


@bp.errorhandler(Exception)
def _failed(exc: Exception) -> Response:
    """Never let Twilio read "an application error has occurred" to a resident."""
    if isinstance(exc, HTTPException) and exc.code == 403:
        return _twiml('<?xml version="1.0" encoding="UTF-8"?><Response><Reject /></Response>', 403)
    log.error("webhook %s failed: %s", request.path, type(exc).__name__, exc_info=not isinstance(exc, HTTPException))
    return _twiml(apology(_service().menu, _restart_url()))


def _restart_url() -> str | None:
    """Where a failed call starts again, in its own language, or None (hang up) once it has
    already been restarted twice: a fault on a path a silent caller takes must not loop forever."""
    service, req = _service(), _request()
    try:
        sid = req.params.get("CallSid", "")
    except HTTPException:  # the body itself was the problem (e.g. too large)
        sid = ""
    call = service.codec.load(req.query.get("s", ""), sid)
    restarts = (call.restarts if call else _restarts_asked(req)) + 1
    if restarts > MAX_RESTARTS:
        return None
    lang = f"&lang={call.lang}" if call else ""
    return f"{req.script_root}/voice?restarts={restarts}{lang}"


def _restarts_asked(req: WebhookRequest) -> int:
    asked = req.query.get("restarts", "0")
    return min(int(asked), MAX_RESTARTS) if asked.isdigit() else 0


def _not_found(exc: HTTPException) -> ResponseReturnValue:
    """An unknown URL restarts the call; a missing audio file is a plain 404 (Twilio skips it)."""
    if request.endpoint == "ivr.audio":
        return exc.get_response()
    return _twiml(apology(_service().menu, _restart_url()))


# -- webhooks --------------------------------------------------------------------------
@bp.route("/voice", methods=["GET", "POST"])
@webhook
def incoming(service: Service, req: WebhookRequest) -> Response:
    """A new call; `?lang=en` skips the language choice (e.g. for a number advertised to English speakers)."""
    edition = service.store.current()
    lang = req.query.get("lang")
    call, step = edition.engine.start(_now(service, req), lang if lang in edition.engine.menu.languages else None)
    call.restarts = _restarts_asked(req)
    return _respond(service, req, edition, "start", call, step)


@bp.route("/voice/gather", methods=["GET", "POST"])
@webhook
def gather(service: Service, req: WebhookRequest) -> Response:
    """A key, speech, or (via the <Redirect> after a <Gather>) silence."""
    return _resume(service, req, _heard)


@bp.route("/voice/dial", methods=["GET", "POST"])
@webhook
def dial(service: Service, req: WebhookRequest) -> Response:
    """How a transfer ended: answered (the call is over for us) or not."""
    return _resume(service, req, _dialled)


Advance = Callable[[Call, Edition, Mapping[str, str], dt.datetime], tuple[str, Step]]


def _resume(service: Service, req: WebhookRequest, advance: Advance) -> Response:
    """Restore the call from its state (or restart it), advance it, answer with the next step."""
    now = _now(service, req)
    restored = _restore(service, req)
    if restored is None:
        return _restart(service, req, now)
    call, edition = restored
    what, step = advance(call, edition, req.params, now)
    return _respond(service, req, edition, what, call, step)


def _heard(call: Call, edition: Edition, values: Mapping[str, str], now: dt.datetime) -> tuple[str, Step]:
    events = _inputs(values)
    for event in events:  # type-ahead: several keys in one request, until the call stops listening
        step = edition.engine.step(call, event, now)
        if not isinstance(step.action, Listen):
            break
    return type(events[0]).__name__.lower(), step


def _dialled(call: Call, edition: Edition, values: Mapping[str, str], now: dt.datetime) -> tuple[str, Step]:
    answered = values.get("DialCallStatus", "") in ("completed", "answered")
    return "dial-" + ("answered" if answered else "unanswered"), edition.engine.step(call, DialOutcome(answered), now)


@bp.route("/voice/status", methods=["GET", "POST"])
@webhook
def status(service: Service, req: WebhookRequest) -> Response:
    values = req.params
    log.info("call=%s caller=%s status=%s duration=%s", values.get("CallSid", "-")[:64],
             service.pseudonym(values.get("From", "")), values.get("CallStatus", "-")[:32],
             values.get("CallDuration", "-")[:16])
    return _twiml('<?xml version="1.0" encoding="UTF-8"?><Response />')


@bp.get("/audio/<lang>/<name>")
def audio(lang: str, name: str) -> ResponseReturnValue:
    """A prompt's audio file, cached by Twilio: each URL carries the file's hash (?v=), so a
    new recording gets a new URL and the old one may be kept for as long as it likes."""
    store = _service().store
    if lang not in store.current().engine.menu.languages or not _AUDIO_NAME.fullmatch(name):
        abort(404)  # only prompt files: nothing else under prompts/ or beside it
    response = send_from_directory(store.prompts, f"{lang}/{name}", mimetype="audio/wav",
                                   max_age=int(current_app.config["AUDIO_MAX_AGE"]), conditional=True)
    response.cache_control.public = True
    return response


@bp.get("/health")
def health() -> Response:
    edition = _service().store.current()
    info = edition.engine.menu.menu
    return jsonify(status="ok", menu=info.name, version=info.version, revision=edition.revision)


# -- helpers ---------------------------------------------------------------------------
def _restore(service: Service, req: WebhookRequest) -> tuple[Call, Edition] | None:
    """The call's state and the menu revision it began on, or None if either is lost."""
    call = service.codec.load(req.query.get("s", ""), req.params.get("CallSid", ""))
    edition = service.store.edition(call.version) if call else None
    if call is None or edition is None:
        return None
    menu = edition.engine.menu
    return (call, edition) if call.node in menu.nodes and call.lang in menu.languages else None


def _restart(service: Service, req: WebhookRequest, now: dt.datetime) -> Response:
    """Lost state: apologise and begin again at the main menu of the current revision, in the
    caller's language when the state still says it (e.g. its menu revision is gone)."""
    edition = service.store.current()
    readable = service.codec.load(req.query.get("s", ""), req.params.get("CallSid", ""))
    call, step = edition.engine.restart(now, readable.lang if readable else None)
    return _respond(service, req, edition, "restart", call, step)


def _inputs(values: Mapping[str, str]) -> list[Input]:
    digits = values.get("Digits", "").strip()[:MAX_KEYS]
    if digits:
        if any(key not in KEYS for key in digits):
            return [Press("?")]  # not a key: the engine answers "not one of the choices"
        return [Press(key) for key in digits]
    speech = values.get("SpeechResult", "").strip()[:MAX_SPEECH]
    return [Speak(speech)] if speech else [Silence()]


def _respond(service: Service, req: WebhookRequest, edition: Edition, what: str, call: Call,
             step: Step) -> Response:
    """Log the step, keep the call's state in the next URLs, and answer with its TwiML."""
    values = req.params
    sid = values.get("CallSid", "")
    if log.isEnabledFor(logging.INFO):
        log.info("call=%s caller=%s version=%s %s -> %s %s", sid[:64] or "-", service.pseudonym(values.get("From", "")),
                 call.version, what, step.node, type(step.action).__name__.lower())
    token = service.codec.dump(call, sid) if isinstance(step.action, (Listen, Transfer)) else ""
    root = req.script_root  # not url_for: twice a webhook, it was a fifth of the webhook's time
    media = (service.public_url or req.host_url).rstrip("/") + root if edition.renderer.audio else ""
    return _twiml(edition.renderer.render(step, root, token, media))
