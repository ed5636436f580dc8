"""The Twilio voice webhooks served by Flask: thin routes over `ivr.voice`, and the app factory.

Routes (all answer TwiML, `text/xml`; webhooks are POST only, as Twilio's default: a GET
would put the caller's number and speech in every access log's URL):
    /voice           incoming call (the Twilio number's voice webhook)
    /voice/gather    each <Gather>'s action: a key, speech, or (via <Redirect>) silence
    /voice/dial      each <Dial>'s action: whether staff answered
    /voice/status    the call-status callback (logs the end of a call)
    /audio/<lang>/<prompt>.wav   prompt audio for <Play> (not a webhook: unsigned, cacheable)
    /health          JSON: the menu in service, whether the file on disk is refused, the call records

This module reads HTTP: Twilio's form, our URL's query, the signature, the proxy's
headers. What a webhook means is `ivr.voice`'s business.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import traceback
from dataclasses import dataclass
from functools import cached_property, wraps
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from fast_query_parsers import parse_query_string
from flask import Blueprint, Flask, Request, Response, abort, current_app, jsonify, request, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import get_current_url
from werkzeug.wsgi import get_content_length

from .archive import Archive, FolderArchive, default_folder
from .audio import default_prompts_dir
from .config import DEFAULTS, coerce, state_secret
from .database import Database, DatabaseArchive
from .lines import Lines, default_lines_path
from .live import MenuStore
from .menu import default_menu_path
from .recorder import Recorder
from .signatures import Signatures, TwilioParams, signed_url
from .state import StateCodec
from .voice import CHECKED_URL_HEADER, REJECT, ROUTES, TIME_HEADER, Clock, Voice, Webhook, asked_time, logged
from .warm import warm

log = logging.getLogger("ivr.web")
TEXT_XML = "text/xml; charset=utf-8"
_AUDIO_NAME = re.compile(r"[A-Za-z0-9_]+\.wav")


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

    @cached_property
    def host_url(self) -> str:
        """werkzeug's `host_url`, worked out once per scheme and host: making it an IRI cost a
        sixth of the signature check, and a service is called at one or two hosts."""
        return _host_url(self.scheme, self.host)

    def itself(self) -> WebhookRequest:
        """This request, not Flask's `request` proxy to it (see `_request`)."""
        return self


@dataclass
class Service:
    """What the routes share: the protocol, and how requests are checked and read."""

    voice: Voice
    signatures: Signatures | None
    """None: unsigned mode (local testing only)."""
    public_url: str | None
    clock_header: bool

    @property
    def store(self) -> MenuStore:
        return self.voice.store

    def webhook(self, req: WebhookRequest, params: Mapping[str, str] | None = None) -> Webhook:
        """The protocol's view of this request."""
        at = asked_time(req.headers.get(TIME_HEADER, "")) if self.clock_header else None
        root = req.script_root  # not url_for: twice a webhook, it was a fifth of the webhook's time
        return Webhook(req.params if params is None else params, req.query, root,
                       lambda: (self.public_url or req.host_url).rstrip("/") + root, at)


def create_app(menu_path: str | None = None, *, clock: Clock | None = None,
               config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service. Configuration: `ivr.config.DEFAULTS`, then IVR_* environment variables, then `config`."""
    app = Flask("ivr", static_folder=None)  # no static files: audio has its own route
    app.request_class = WebhookRequest
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("IVR", loads=str)  # values as written: no JSON guessing ("False" is a word)
    app.config.update(config or {})
    cfg = app.config
    coerce(cfg)
    path = Path(menu_path or cfg["MENU"] or default_menu_path())
    db = Database(cfg["DATABASE_URL"])
    store = MenuStore(path, _archive(cfg, db, path), cfg["MENU_CHECK_INTERVAL"])
    lines = Lines(store, Path(cfg["LINES"]) if cfg["LINES"] else default_lines_path(path),
                  functools.partial(_archive, cfg, db, line=True), cfg["MENU_CHECK_INTERVAL"])
    menu = store.current().engine.menu
    secret = state_secret(cfg)
    token, shared = cfg["TWILIO_AUTH_TOKEN"], cfg["TWILIO_SHARED_KEY"]
    if cfg["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]
    zone = ZoneInfo(menu.menu.timezone)
    voice = Voice(store, clock or (lambda: dt.datetime.now(zone)), StateCodec(secret, cfg["STATE_MAX_AGE"]),
                  secret.encode(), Path(cfg["PROMPTS"]) if cfg["PROMPTS"] else default_prompts_dir(path),
                  Recorder(db) if cfg["RECORDS"] else None, lines)
    service = Service(voice, Signatures(token, shared) if token or shared else None,
                      cfg["PUBLIC_URL"], cfg["ALLOW_CLOCK_HEADER"])
    app.extensions["ivr"] = service
    app.register_blueprint(blueprint(service))
    if cfg["DASHBOARD_PASSWORD_HASH"]:  # off unless a password is set: never open to the world
        from .dashboard import Dashboard, install
        from .signin import Attempts

        install(app, Dashboard(db, store, voice.clock, cfg["DASHBOARD_PASSWORD_HASH"], cfg["STATE_MAX_AGE"], Attempts()),
                secret)
    app.register_error_handler(404, functools.partial(_not_found, service))
    app.register_error_handler(405, _wrong_method)
    warm(app, voice, service.signatures)
    log.info("serving menu %r version %s", menu.menu.name, menu.menu.version)
    return app


def _archive(cfg: Mapping[str, Any], db: Database, menu: Path, line: bool = False) -> Archive:
    """Where a menu file's revisions are kept: the database when there is one (every machine on it
    shares them, by file name), else IVR_MENU_ARCHIVE (the service's own menu in the folder itself,
    each other line of `ivr.lines` in a folder `line-<name>` in it), else a folder of this user's per file."""
    if cfg["DATABASE_URL"]:
        return DatabaseArchive(db, menu.name)
    if not cfg["MENU_ARCHIVE"]:
        return FolderArchive(default_folder(menu))
    root = Path(cfg["MENU_ARCHIVE"])
    return FolderArchive(root / f"line-{menu.stem}" if line else root)


_host_url = functools.lru_cache(maxsize=64)(get_current_url)


def _request() -> WebhookRequest:
    """This request, through one look-up of Flask's `request` proxy: each use of the proxy
    is a context look-up, and a webhook reads some ten of the request's attributes."""
    return request.itself()  # type: ignore[no-any-return, attr-defined]  # the app's request_class


def _twiml(document: str, status: int = 200) -> Response:
    return Response(document, status, content_type=TEXT_XML)


# -- the routes --------------------------------------------------------------------------
Route = Callable[[Voice, Webhook], str]


def blueprint(service: Service) -> Blueprint:
    """The routes of one service, each bound to it (no look-up of the app per request)."""
    bp = Blueprint("ivr", __name__)
    for rule, route in ROUTES.items():
        bp.add_url_rule(rule, route.__name__, _webhook(service, route), methods=["POST"])
    bp.add_url_rule("/audio/<lang>/<name>", "audio", functools.partial(_audio, service))
    bp.add_url_rule("/health", "health", functools.partial(_health, service))
    bp.register_error_handler(Exception, functools.partial(_failed, service))
    return bp


def _webhook(service: Service, route: Route) -> Callable[[], Response]:
    """Serve one of the protocol's webhooks: the signature is checked first (when the service
    has a key), then the protocol answers. Flask's automatic answer to OPTIONS runs no view,
    so it goes unchecked: it tells only the methods."""
    voice = service.voice

    @wraps(route)
    def view() -> Response:
        req = _request()
        if service.signatures is not None:
            _check_signature(service, req)
        hook = service.webhook(req)
        response = _twiml(route(voice, hook))
        if hook.at is not None:  # tells `ivr sim --at` that the time it asked for was used
            response.headers[TIME_HEADER] = hook.at.isoformat()
        return response

    return view


def _check_signature(service: Service, req: WebhookRequest) -> None:
    assert service.signatures is not None
    url = signed_url(req.environ, service.public_url or req.host_url)  # the host's only when needed
    if service.signatures.valid(url, req.params, req.headers):
        return
    log.warning("refused a webhook with a bad or missing signature: %s %s", req.method, logged(req.path))
    abort(Response(REJECT, 403, {CHECKED_URL_HEADER: url}, content_type=TEXT_XML))


def _failed(service: Service, exc: Exception) -> Response:
    """Never let Twilio read "an application error has occurred" to a resident. The log gets
    the error's type and where it was raised, not its message: that may quote the request."""
    where = "" if isinstance(exc, HTTPException) else "\n" + "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    log.error("webhook %s failed: %s%s", logged(request.path), type(exc).__name__, where)
    return _apologise(service)


def _apologise(service: Service) -> Response:
    req = _request()
    try:
        params: Mapping[str, str] = req.params
    except HTTPException:  # the body itself was the problem (e.g. too large)
        params = {}
    return _twiml(service.voice.apologise(service.webhook(req, params)))


def _not_found(service: Service, exc: HTTPException) -> ResponseReturnValue:
    """An unknown URL restarts the call; a missing audio file is a plain 404 (Twilio skips it)."""
    if request.endpoint == "ivr.audio" or _dashboard(request.path):
        return exc.get_response()
    return _apologise(service)


def _wrong_method(exc: HTTPException) -> ResponseReturnValue:
    """A webhook asked for with GET (or anything but POST): refused, and nothing of its URL is
    logged, since a GET webhook carries the caller's number and speech in the query."""
    if _dashboard(request.path):
        return exc.get_response()
    reply = _twiml(REJECT, 405)
    reply.headers["Allow"] = "POST"
    return reply


def _dashboard(path: str) -> bool:
    """A page of the dashboard (`ivr.dashboard`): plain HTTP errors there, not TwiML."""
    return path == "/dashboard" or path.startswith("/dashboard/")


# -- not webhooks ----------------------------------------------------------------------
def _audio(service: Service, lang: str, name: str) -> ResponseReturnValue:
    """A prompt's audio file, cached by Twilio: each URL carries the file's hash (?v=), so a
    new recording gets a new URL and the old one may be kept for as long as it likes."""
    voice = service.voice
    if lang not in voice.menu.languages or not _AUDIO_NAME.fullmatch(name):
        abort(404)  # only prompt files: nothing else under prompts/ or beside it
    response = send_from_directory(voice.prompts, f"{lang}/{name}", mimetype="audio/wav",
                                   max_age=current_app.config["AUDIO_MAX_AGE"], conditional=True)
    response.cache_control.public = True
    return response


def _health(service: Service) -> Response:
    store, lines = service.store, service.voice.lines
    revision = store.current()
    info = revision.engine.menu.menu
    records = service.voice.records
    return jsonify(status="ok", menu=info.name, version=info.version, revision=revision.id,
                   menu_file=f"refused ({len(store.refused)} error(s), see the log)" if store.refused else "in service",
                   archive="ok" if not store.archive_problem else "not writable", worker=os.getpid(),
                   records=records.health() if isinstance(records, Recorder) else "off", lines=lines.revisions(),
                   lines_file=f"refused ({len(lines.refused)} error(s), see the log)" if lines.refused else "in service")
