"""A call's state between webhooks: a signed, time-limited token in the action URL.

Why a token rather than a shared store: every webhook carries its call's state back
to us, so any worker on any machine can answer it with no database, no cache and
nothing to clean up after a call. Nobody who sees or edits a URL can forge a state,
and a token cannot be moved to another call. A bad, expired or foreign token reads as
None and the service apologises and starts again at the main menu.

The token is `payload.mac`: the payload is the call's fields and the time it was
issued (and, for a call on a line of `menus/lines.yaml`, that line), as compact JSON in URL-safe base64; the mac is a keyed BLAKE2b of the payload
and the call's CallSid (the standard library's MAC built into the hash: Python's
hashlib documents it as the faster replacement for HMAC), keyed by the service's
secret. This is what itsdangerous's TimestampSigner does with HMAC; its layers made
signing and checking a state cost more (bench/RESULTS.md, "call state").

Changing this format (or IVR_STATE_SECRET) restarts the calls in progress at the main
menu: deploy such a change to every machine at once, at a quiet hour.
"""

from __future__ import annotations

import binascii
import hmac
import json
import time
from hashlib import blake2b

from .engine import Call

MAC_BYTES = 18  # 144 bits, 24 characters in the URL
CLOCK_SKEW = 60  # seconds a token may seem to come from the future (another machine's clock)
_JSON = json.JSONEncoder(separators=(",", ":"))  # json.dumps(separators=...) builds an encoder per call
_read_json = json.JSONDecoder().decode  # json.loads of bytes first guesses their encoding, in Python
# URL-safe base64 straight from binascii: base64.urlsafe_b64* add a layer of type checks per call
_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")


class StateCodec:
    def __init__(self, secret: str, max_age: int) -> None:
        self._key = blake2b(secret.encode(), digest_size=32, person=b"ivr-call-state").digest()
        self._max_age = max_age

    def dump(self, call: Call, call_sid: str, *, restarts: int) -> str:
        """The token for `call`; `restarts` is how often the service had to start it again
        after a fault (the protocol's, not the engine's: see voice.MAX_RESTARTS)."""
        fields = [call.node, call.lang, call.revision, call.retries, call.answers, restarts, int(time.time())]
        if call.line:  # the default line's tokens stay as they were before there were lines
            fields.append(call.line)
        payload = _b64(_JSON.encode(fields).encode()).rstrip(b"=")
        return (payload + b"." + self._mac(payload, call_sid)).decode()

    def load(self, token: str, call_sid: str) -> tuple[Call, int] | None:
        """The call and its restarts, or None for a bad, expired or foreign token."""
        payload, _, mac = token.encode().partition(b".")
        if not hmac.compare_digest(mac, self._mac(payload, call_sid)):
            return None
        try:
            text = binascii.a2b_base64(payload.translate(_FROM_URL) + b"=" * (-len(payload) % 4)).decode()
            node, lang, revision, retries, answers, restarts, issued, *rest = _read_json(text)
        except (ValueError, TypeError):  # binascii.Error and UnicodeDecodeError are ValueErrors
            return None
        line = rest[0] if len(rest) == 1 else ""
        if not (type(node) is str and type(lang) is str and type(revision) is str and type(retries) is int
                and type(answers) is dict and type(restarts) is int and type(issued) is int
                and type(line) is str and len(rest) <= 1):
            return None
        age = time.time() - issued
        if age > self._max_age or age < -CLOCK_SKEW:
            return None
        return Call(node=node, lang=lang, revision=revision, retries=retries,
                    answers={str(k): bool(v) for k, v in answers.items()}, line=line), restarts

    def _mac(self, payload: bytes, call_sid: str) -> bytes:
        signed = payload + b"\0" + call_sid[:64].encode("utf-8", "replace")
        return _b64(blake2b(signed, key=self._key, digest_size=MAC_BYTES).digest())


def _b64(data: bytes) -> bytes:
    """URL-safe base64 (with its padding)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL)
