"""A call's state between webhooks: a signed, time-limited token in the action URL.

Why a token rather than a shared store: every webhook carries its call's state back
to us, so any worker on any machine can answer it with no database, no cache and
nothing to clean up after a call. The token is signed with the service's secret
(itsdangerous, which Flask already uses for its sessions), so nobody who sees or
edits a URL can forge a state, and it is bound to the call's CallSid, so a token
cannot be moved to another call. A bad, expired or foreign token reads as None and
the service apologises and starts again at the main menu.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from itsdangerous import BadData, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode

from .engine import Call


class StateCodec:
    def __init__(self, secret: str, max_age: int) -> None:
        # One signer for the process: building one per call (as URLSafeTimedSerializer
        # does) derived the key again on every webhook.
        self._signer = TimestampSigner(secret, salt="ivr-call-state")
        self._max_age = max_age

    def dump(self, call: Call, call_sid: str) -> str:
        payload: list[Any] = [_bind(call_sid), call.node, call.lang, call.version, call.retries, call.answers,
                              call.restarts]
        return self._signer.sign(base64_encode(json.dumps(payload, separators=(",", ":")))).decode()

    def load(self, token: str, call_sid: str) -> Call | None:
        try:
            payload = json.loads(base64_decode(self._signer.unsign(token, max_age=self._max_age)))
            bound, node, lang, version, retries, answers, restarts = payload
            if bound != _bind(call_sid):
                return None
            if not (isinstance(node, str) and isinstance(lang, str) and isinstance(version, str)
                    and isinstance(retries, int) and isinstance(answers, dict) and isinstance(restarts, int)):
                return None
            return Call(node=node, lang=lang, version=version, retries=retries,
                        answers={str(k): bool(v) for k, v in answers.items()}, restarts=restarts)
        except (BadData, ValueError, TypeError):
            return None


def _bind(call_sid: str) -> str:
    return hashlib.sha256(call_sid[:64].encode("utf-8", "replace")).hexdigest()[:16]
