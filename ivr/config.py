"""The service's settings: DEFAULTS, then IVR_* environment variables, then the caller's own.

Read once by `ivr.web.create_app` into Flask's `app.config` (so `IVR_STATE_SECRET` is
`app.config["STATE_SECRET"]`); here they are coerced from the environment's words and
checked, and the secrets the service needs are derived.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any, MutableMapping

log = logging.getLogger("ivr.web")
_ON = {"1", "true", "yes", "on"}
FLAGS = ("ALLOW_UNSIGNED", "TRUST_PROXY", "ALLOW_CLOCK_HEADER", "RECORDS")

DEFAULTS: dict[str, Any] = {
    "MENU": None,               # menu file; default $IVR_MENU or menus/free_dial.yaml
    "LINES": None,              # number called -> menu file; default lines.yaml beside the menu (ivr.lines)
    "MENU_ARCHIVE": None,       # folder keeping every good revision, for calls in progress
    "MENU_CHECK_INTERVAL": 1.0,  # seconds between checks of the menu file for changes
    "DATABASE_URL": None,       # call records (and, when set, the menu archive): default an SQLite file of the user's
    "RECORDS": True,            # keep call records (ivr report); false: none at all
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
    "DASHBOARD_PASSWORD_HASH": None,  # a werkzeug password hash (ivr dashboard hash-password): serves /dashboard
}


def coerce(cfg: MutableMapping[str, Any]) -> None:
    """Flags and numbers from the environment arrive as words: make them what they say. Then
    refuse to go on with no way to check signatures, unless unsigned mode was asked for (and
    say loudly that it was)."""
    for flag in FLAGS:
        cfg[flag] = str(cfg[flag]).strip().lower() in _ON
    if cfg["MAX_CONTENT_LENGTH"] is not None:  # None: no limit, as Flask has it
        cfg["MAX_CONTENT_LENGTH"] = int(cfg["MAX_CONTENT_LENGTH"])
    for number in ("STATE_MAX_AGE", "AUDIO_MAX_AGE"):
        cfg[number] = int(cfg[number])
    cfg["MENU_CHECK_INTERVAL"] = float(cfg["MENU_CHECK_INTERVAL"])
    if not (cfg["TWILIO_AUTH_TOKEN"] or cfg["TWILIO_SHARED_KEY"]):
        if not cfg["ALLOW_UNSIGNED"]:
            raise RuntimeError("no Twilio auth token: set IVR_TWILIO_AUTH_TOKEN (and/or IVR_TWILIO_SHARED_KEY), "
                               "or IVR_ALLOW_UNSIGNED=true for local testing only")
        log.warning("UNSIGNED MODE: X-Twilio-Signature is NOT checked; anyone can drive this service. "
                    "Local testing only.")


def state_secret(cfg: MutableMapping[str, Any]) -> str:
    """IVR_STATE_SECRET, else one derived from the Twilio key (the same on every worker and
    machine that has it), else one of this process only, with a warning."""
    signing = cfg["TWILIO_AUTH_TOKEN"] or cfg["TWILIO_SHARED_KEY"]
    secret = cfg["STATE_SECRET"] or (signing and hmac.new(signing.encode(), b"ivr-state", "sha256").hexdigest())
    if not secret:
        secret = secrets.token_hex(32)
        log.warning("no IVR_STATE_SECRET: call state is signed with a key of this process only, so calls "
                    "break when requests reach another worker")
    return str(secret)
