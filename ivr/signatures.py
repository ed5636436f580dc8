"""Which webhooks really come from Twilio: the X-Twilio-Signature check, by Twilio's own validator.

Twilio signs with the account's auth token (HMAC-SHA1) or, when the request says so in
X-Twilio-Webhooks-Signature-Settings, with the algorithm it names, by a webhook SharedKey
(or the token); an account whose webhook rule covers only some URLs sends both kinds.
"""

from __future__ import annotations

import hmac
from typing import Mapping, Protocol
from urllib.parse import quote, urlparse, urlsplit

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

_ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)


class Headers(Protocol):
    """What is read of a request's or reply's headers (werkzeug's, email.message's, a dict)."""

    def get(self, name: str, /) -> str | None: ...


class TwilioParams(dict[str, str]):
    """A webhook's parameters, with the `getall` of a multidict: Twilio's RequestValidator
    asks each parameter for its values that way first, and a plain dict made it raise and
    catch two exceptions per parameter (most of the signature check's time). Only names
    the validator took from the dict itself are asked for, so a missing one is a bug."""

    def getall(self, name: str) -> list[str]:
        return [self[name]]


class Signatures:
    """The keys a service checks webhooks with: the auth token, a SharedKey's secret, or both."""

    def __init__(self, auth_token: str | None, shared_key: str | None) -> None:
        self.token = RequestValidator(auth_token) if auth_token else None
        self.shared_key = RequestValidator(shared_key) if shared_key else None

    def valid(self, url: str, params: TwilioParams, headers: Headers) -> bool:
        """Whether the request to `url` carries a good signature: Twilio's validator computes
        it for `url` as sent, and only when that fails for the same URL with the port written
        out or left out (as `RequestValidator.validate` does, since Twilio signs either way;
        `validate` itself computes both on every request, and parses the URL and its query
        for a JSON body's hash these form webhooks never carry). An unknown algorithm is
        refused here, before the validator would log a warning per request."""
        settings = headers.get("X-Twilio-Webhooks-Signature-Settings")
        algorithm = get_signature_algorithm(settings)
        signature = (headers.get("X-Twilio-Signature") or "").encode("utf-8", "surrogateescape")
        if not signature or algorithm.upper() not in _ALGORITHMS:
            return False
        keys = [v for v in ((self.shared_key, self.token) if settings else (self.token,)) if v is not None]
        if any(_signs(v, url, params, algorithm, signature) for v in keys):
            return True
        other = _other_port(url)
        return other is not None and any(_signs(v, other, params, algorithm, signature) for v in keys)


def _signs(validator: RequestValidator, url: str, params: TwilioParams, algorithm: str, signature: bytes) -> bool:
    expected = validator.compute_signature(url, params, algorithm)
    return hmac.compare_digest(expected.encode(), signature)


def _other_port(url: str) -> str | None:
    """`url` with its port left out if it has one, else with the scheme's written out (by the
    validator's own helpers); None for a port that is not a number."""
    parsed = urlparse(url)
    try:
        return remove_port(parsed) if parsed.port else add_port(parsed)
    except ValueError:
        return None


def signed_url(environ: Mapping[str, object], base_url: str) -> str:
    """The URL Twilio signed: as it was sent, percent-escapes and all (werkzeug's `request.url`
    is decoded), on `base_url` (the public base URL when one is configured, else the host's)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = urlsplit(str(raw)).path  # also takes an absolute-form request target apart
    else:
        path = quote((str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))).encode("latin-1"),
                     safe="/")
    query = str(environ.get("QUERY_STRING", ""))
    base = base_url.rstrip("/")
    return base + path + ("?" + query if query else "")
