"""The Twilio voice webhooks: a Flask blueprint over the engine, and the app factory.

Routes (all answer TwiML, `text/xml`; webhooks are POST only, as Twilio's default: a GET
would put the caller's number and speech in every access log's URL):
    /voice           incoming call (the Twilio number's voice webhook)
    /voice/gather    each <Gather>'s action: a key, speech, or (via <Redirect>) silence
    /voice/dial      each <Dial>'s action: whether staff answered
    /voice/status    the call-status callback (logs the end of a call)
    /audio/<lang>/<prompt>.wav   prompt audio for <Play> (not a webhook: unsigned, cacheable)
    /health          JSON: the menu in service, and whether the file on disk is refused

Nothing a caller sends reaches a log as it came: numbers as a keyed hash, every other
value quoted (a newline in a CallSid cannot forge a log line), no query strings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import traceback
from dataclasses import dataclass
from functools import cached_property, wraps
from pathlib import Path
from typing import Any, Callable, Mapping, cast
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fast_query_parsers import parse_query_string
from flask import Blueprint, Flask, Request, Response, abort, current_app, jsonify, request, send_from_directory
from flask.typing import ResponseReturnValue
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, get_signature_algorithm
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import get_content_length

from .engine import Call, DialOutcome, Input, Listen, Press, Silence, Speak, Step, Transfer
from .live import Edition, MenuStore
from .menu import KEYS, LISTENING, Menu, default_menu_path
from .state import StateCodec
from .twiml import apology

log = logging.getLogger("ivr.web")
bp = Blueprint("ivr", __name__)

MAX_KEYS = 8       # type-ahead a caller could plausibly do; the rest is noise
MAX_SPEECH = 500   # characters of a speech result worth matching
TIME_HEADER = "X-IVR-At"  # asked for by `ivr sim --at`; answered with the time used, when honoured
CHECKED_URL_HEADER = "X-IVR-Checked-URL"  # on a refused signature: the URL the check was made for
MAX_RESTARTS = 2   # a call that fails a third time is apologised to and ended
_AUDIO_NAME = re.compile(r"[A-Za-z0-9_]+\.wav")
_RESTARTS = re.compile(r"[0-9]{1,3}")  # ASCII digits only: str.isdigit() takes "²", which int() refuses
_PLAIN = re.compile(r"[A-Za-z0-9_.:/+-]*")  # a logged value that needs no quotes
_ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)
_ON = {"1", "true", "yes", "on"}
Clock = Callable[[], dt.datetime]

DEFAULTS: dict[str, Any] = {
    "MENU": None,               # menu file; default $IVR_MENU or menus/free_dial.yaml
    "MENU_ARCHIVE": None,       # folder keeping every good revision, for calls in progress
    "MENU_CHECK_INTERVAL": 1.0,  # seconds between checks of the menu file for changes
    "PROMPTS": None,            # audio folder; default prompts/ beside menus/
    "AUDIO_MAX_AGE": 86400,     # seconds Twilio may cache an audio file (its URL changes with its content)
    "TWILIO_AUTH_TOKEN": None,  # validates X-Twilio-Signature on every webhook
    "TWILIO_SHARED_KEY": None,  # a webhook SharedKey's secret, for requests signed with it (either or both)
    "ALLOW_UNSIGNED": False,    # explicit local-only choice to run without a token
    "PUBLIC_URL": None,         # the base URL Twilio calls, if it differs from what we see
    "TRUST_PROXY": False,       # honour X-Forwarded-Proto/Host/Port from one reverse proxy
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
    token_validator: RequestValidator | None
    shared_key_validator: RequestValidator | None
    """Neither: unsigned mode (local testing only)."""
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
        """Twilio's parameters: the posted form (webhooks are POST only). Blank ones are kept,
        as Twilio's signature covers them."""
        if self.method != "POST":
            return TwilioParams()
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
    token, shared = cfg["TWILIO_AUTH_TOKEN"], cfg["TWILIO_SHARED_KEY"]
    if not (token or shared) and not cfg["ALLOW_UNSIGNED"]:
        raise RuntimeError("no Twilio auth token: set IVR_TWILIO_AUTH_TOKEN (and/or IVR_TWILIO_SHARED_KEY), "
                           "or IVR_ALLOW_UNSIGNED=true for local testing only")
    if not (token or shared):
        log.warning("UNSIGNED MODE: X-Twilio-Signature is NOT checked; anyone can drive this service. "
                    "Local testing only.")
    signing = token or shared
    secret = cfg["STATE_SECRET"] or (signing and hmac.new(signing.encode(), b"ivr-state", "sha256").hexdigest())
    if not secret:
        secret = secrets.token_hex(32)
        log.warning("no IVR_STATE_SECRET: call state is signed with a key of this process only, so calls "
                    "break when requests reach another worker")
    if cfg["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]
    zone = ZoneInfo(menu.menu.timezone)
    app.extensions["ivr"] = Service(
        store=store,
        clock=clock or (lambda: dt.datetime.now(zone)),
        codec=StateCodec(secret, int(cfg["STATE_MAX_AGE"])),
        token_validator=RequestValidator(token) if token else None,
        shared_key_validator=RequestValidator(shared) if shared else None,
        public_url=cfg["PUBLIC_URL"],
        log_key=secret.encode(),
        clock_header=bool(cfg["ALLOW_CLOCK_HEADER"]),
    )
    app.register_blueprint(bp)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(405, _wrong_method)
    log.info("serving menu %r version %s", menu.menu.name, menu.menu.version)
    return app


def _service() -> Service:
    service: Service = current_app.extensions["ivr"]
    return service


def _asked_time(service: Service, req: WebhookRequest) -> dt.datetime | None:
    """On a test server that allows it, the time the simulator asks for (`ivr sim --at`)."""
    asked = req.headers.get(TIME_HEADER, "") if service.clock_header else ""
    try:
        when = dt.datetime.fromisoformat(asked) if asked else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def _now(service: Service, req: WebhookRequest) -> dt.datetime:
    return _asked_time(service, req) or service.clock()


def _twiml(document: str, status: int = 200) -> Response:
    return Response(document, status=status, mimetype="text/xml")


def logged(value: str, limit: int = 64) -> str:
    """A value from a request as it may appear in a log line: cut to `limit`, and quoted with
    escapes unless it is plainly safe (a newline or control character cannot forge a line)."""
    value = value[:limit]
    if not value:
        return "-"
    return value if _PLAIN.fullmatch(value) else json.dumps(value)


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
        if service.token_validator or service.shared_key_validator:
            _check_signature(service, req)
        response = view(service, req)
        asked = _asked_time(service, req)
        if asked is not None:  # tells `ivr sim --at` that the time it asked for was used
            response.headers[TIME_HEADER] = asked.isoformat()
        return response

    return checked


def signed_url(req: Request, public_url: str | None) -> str:
    """The URL Twilio signed: as it was sent, percent-escapes and all (werkzeug's `request.url`
    is decoded), on the public base URL when one is configured."""
    environ = req.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = urlsplit(raw).path  # also takes an absolute-form request target apart
    else:
        path = quote((environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1"), safe="/")
    query = environ.get("QUERY_STRING", "")
    base = public_url.rstrip("/") if public_url else req.host_url.rstrip("/")
    return base + path + ("?" + query if query else "")


def _check_signature(service: Service, req: WebhookRequest) -> None:
    """Twilio signs with the auth token (HMAC-SHA1) or, when the request says so in
    X-Twilio-Webhooks-Signature-Settings, with the algorithm it names, by a SharedKey (or the
    token); an account whose webhook rule covers only some URLs sends both kinds. An unknown
    algorithm is refused here, before the validator logs a warning per request."""
    settings = req.headers.get("X-Twilio-Webhooks-Signature-Settings")
    algorithm = get_signature_algorithm(settings)
    url = signed_url(req, service.public_url)
    signature = req.headers.get("X-Twilio-Signature", "")
    keys = (service.shared_key_validator, service.token_validator) if settings else (service.token_validator,)
    if signature and algorithm.upper() in _ALGORITHMS and any(
            v.validate(url, req.params, signature, algorithm) for v in keys if v is not None):
        return
    log.warning("refused a webhook with a bad or missing signature: %s %s", req.method, logged(req.path))
    abort(Response('<?xml version="1.0" encoding="UTF-8"?><Response><Reject /></Response>', 403,
                   {CHECKED_URL_HEADER: url}, mimetype="text/xml"))


@bp.errorhandler(Exception)
def _failed(exc: Exception) -> Response:
    """Never let Twilio read "an application error has occurred" to a resident. The log gets
    the error's type and where it was raised, not its message: that may quote the request."""
    where = "" if isinstance(exc, HTTPException) else "\n" + "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    log.error("webhook %s failed: %s%s", logged(request.path), type(exc).__name__, where)
    return _apologise()


def _apologise() -> Response:
    """Sorry, in the caller's language when its state says it, then the call starts again."""
    service, req = _service(), _request()
    try:
        sid = req.params.get("CallSid", "")
    except HTTPException:  # the body itself was the problem (e.g. too large)
        sid = ""
    call = service.codec.load(req.query.get("s", ""), sid)
    menu = service.menu
    return _twiml(apology(menu, _restart_url(call, req), call.lang if call and call.lang in menu.languages else None))


def _restart_url(call: Call | None, req: WebhookRequest) -> str | None:
    """Where a failed call starts again, in its own language, or None (hang up) once it has
    already been restarted twice: a fault on a path a silent caller takes must not loop forever."""
    restarts = (call.restarts if call else _restarts_asked(req)) + 1
    if restarts > MAX_RESTARTS:
        return None
    lang = f"&lang={quote(call.lang)}" if call else ""
    return f"{req.script_root}/voice?restarts={restarts}{lang}"


def _restarts_asked(req: WebhookRequest) -> int:
    asked = req.query.get("restarts", "0")
    return min(int(asked), MAX_RESTARTS) if _RESTARTS.fullmatch(asked) else 0


def _not_found(exc: HTTPException) -> ResponseReturnValue:
    """An unknown URL restarts the call; a missing audio file is a plain 404 (Twilio skips it)."""
    if request.endpoint == "ivr.audio":
        return exc.get_response()
    return _apologise()


def _wrong_method(exc: HTTPException) -> ResponseReturnValue:
    """A webhook asked for with GET (or anything but POST): refused, and nothing of its URL is
    logged, since a GET webhook carries the caller's number and speech in the query."""
    reply = _twiml('<?xml version="1.0" encoding="UTF-8"?><Response><Reject /></Response>', 405)
    reply.headers["Allow"] = "POST"
    return reply


# -- webhooks --------------------------------------------------------------------------
@bp.post("/voice")
@webhook
def incoming(service: Service, req: WebhookRequest) -> Response:
    """A new call; `?lang=en` skips the language choice (e.g. for a number advertised to English speakers)."""
    edition = service.store.current()
    lang = req.query.get("lang")
    call, step = edition.engine.start(_now(service, req), lang if lang in edition.engine.menu.languages else None)
    call.restarts = _restarts_asked(req)
    return _respond(service, req, edition, "start", call, step)


@bp.post("/voice/gather")
@webhook
def gather(service: Service, req: WebhookRequest) -> Response:
    """A key, speech, or (via the <Redirect> after a <Gather>) silence."""
    return _resume(service, req, _heard, listening=True)


@bp.post("/voice/dial")
@webhook
def dial(service: Service, req: WebhookRequest) -> Response:
    """How a transfer ended: answered (the call is over for us) or not."""
    return _resume(service, req, _dialled, listening=False)


Advance = Callable[[Call, Edition, Mapping[str, str], dt.datetime], tuple[str, Step]]


def _resume(service: Service, req: WebhookRequest, advance: Advance, listening: bool) -> Response:
    """Restore the call from its state (or restart it), advance it, answer with the next step.
    A state that waits for a key posted as a transfer's outcome, or the other way round, is
    a strange request like a lost state: the caller is restarted, not hung up on."""
    now = _now(service, req)
    restored = _restore(service, req)
    if restored is None:
        return _restart(service, req, now)
    call, edition = restored
    waits_for_keys = isinstance(edition.engine.menu.nodes[call.node], LISTENING)
    if waits_for_keys != listening:
        return _restart(service, req, now)
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


@bp.post("/voice/status")
@webhook
def status(service: Service, req: WebhookRequest) -> Response:
    values = req.params
    log.info("call=%s caller=%s status=%s duration=%s", logged(values.get("CallSid", "")),
             service.pseudonym(values.get("From", "")), logged(values.get("CallStatus", ""), 32),
             logged(values.get("CallDuration", ""), 16))
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
    store = _service().store
    edition = store.current()
    info = edition.engine.menu.menu
    return jsonify(status="ok", menu=info.name, version=info.version, revision=edition.revision,
                   menu_file=f"refused ({len(store.refused)} error(s), see the log)" if store.refused else "in service",
                   archive="ok" if not store.archive_problem else "not writable", worker=os.getpid())


# -- helpers ---------------------------------------------------------------------------
def _restore(service: Service, req: WebhookRequest) -> tuple[Call, Edition] | None:
    """The call's state and the menu revision it began on, or None if the state is lost.
    A revision no worker can find any more (an archive that cannot be written, say) is not
    a reason to drop the call: it goes on in the current menu if that has its node."""
    call = service.codec.load(req.query.get("s", ""), req.params.get("CallSid", ""))
    if call is None:
        return None
    edition = service.store.edition(call.version)
    if edition is None:
        edition = service.store.current()
        log.warning("call=%s: menu revision %s not found; the call goes on in %s", logged(req.params.get("CallSid", "")),
                    logged(call.version), edition.revision)
        call.version = edition.revision
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
        log.info("call=%s caller=%s version=%s %s -> %s %s", logged(sid), service.pseudonym(values.get("From", "")),
                 logged(call.version), what, step.node, type(step.action).__name__.lower())
    token = service.codec.dump(call, sid) if isinstance(step.action, (Listen, Transfer)) else ""
    root = req.script_root  # not url_for: twice a webhook, it was a fifth of the webhook's time
    media = (service.public_url or req.host_url).rstrip("/") + root if edition.renderer.audio else ""
    return _twiml(edition.renderer.render(step, root, token, media))
