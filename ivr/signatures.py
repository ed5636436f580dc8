"""Which webhooks really come from Twilio: the X-Twilio-Signature check, by Twilio's own validator.

Twilio signs with the account's auth token (HMAC-SHA1) or, when the request says so in
X-Twilio-Webhooks-Signature-Settings, with the algorithm it names, by a webhook SharedKey
(or the token); an account whose webhook rule covers only some URLs sends both kinds.
"""

from __future__ import annotations

from typing import Mapping, Protocol
from urllib.parse import quote, urlsplit

from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, get_signature_algorithm

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
        """Whether the request to `url` carries a good signature. An unknown algorithm is
        refused here, before the validator logs a warning per request."""
        settings = headers.get("X-Twilio-Webhooks-Signature-Settings")
        algorithm = get_signature_algorithm(settings)
        signature = headers.get("X-Twilio-Signature") or ""
        keys = (self.shared_key, self.token) if settings else (self.token,)
        return bool(signature) and algorithm.upper() in _ALGORITHMS and any(
            v.validate(url, params, signature, algorithm) for v in keys if v is not None)


def signed_url(environ: Mapping[str, object], host_url: str, public_url: str | None) -> str:
    """The URL Twilio signed: as it was sent, percent-escapes and all (werkzeug's `request.url`
    is decoded), on the public base URL when one is configured."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = urlsplit(str(raw)).path  # also takes an absolute-form request target apart
    else:
        path = quote((str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))).encode("latin-1"),
                     safe="/")
    query = str(environ.get("QUERY_STRING", ""))
    base = (public_url or host_url).rstrip("/")
    return base + path + ("?" + query if query else "")
