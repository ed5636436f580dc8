"""Who may see the dashboard: one password (its werkzeug hash in IVR_DASHBOARD_PASSWORD_HASH),
a signed session cookie, a CSRF token on every form, and a limit on sign-in attempts.

The cookie is opened only under /dashboard, so the Twilio webhooks never read or set one.
It is HttpOnly, SameSite=Strict, and Secure except over plain http to this machine itself
(`ivr dashboard`), where a browser would not send a Secure cookie back. The limit counts
failed attempts per client address in this process: with several workers a client gets a
few tries in each, which still stops guessing.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
ATTEMPTS = 5  # failed sign-ins allowed per address ...
WINDOW = 600.0  # ... within this many seconds


def secret_key(password_hash: str, state_secret: str) -> bytes:
    """The cookie's signing key: the same on every worker that shares the settings, and new
    (signing everyone out) when the password changes."""
    return hmac.new(state_secret.encode(), b"ivr-dashboard\0" + password_hash.encode(), "sha256").digest()


class DashboardSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, for the dashboard's paths only."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(self.prefix):
            return None  # Flask then gives a null session, which no webhook touches
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        if request.path.startswith(self.prefix):
            super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        local = request.scheme == "http" and request.host.rsplit(":", 1)[0] in LOCAL_HOSTS
        return not local

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Strict"

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True


def csrf_token(session: SessionMixin) -> str:
    """This session's token for its forms (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def csrf_valid(session: SessionMixin, sent: str | None) -> bool:
    return bool(sent) and "csrf" in session and hmac.compare_digest(str(session["csrf"]), str(sent))


class Attempts:
    """Failed sign-ins per client address, in a sliding window (in this process)."""

    def __init__(self, allowed: int = ATTEMPTS, window: float = WINDOW) -> None:
        self.allowed, self.window = allowed, window
        self._failed: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait(self, address: str, now: float | None = None) -> int:
        """Seconds until `address` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failed = self._failed.get(address)
            while failed and now - failed[0] > self.window:
                failed.popleft()
            if not failed:
                self._failed.pop(address, None)
                return 0
            return int(self.window - (now - failed[0])) + 1 if len(failed) >= self.allowed else 0

    def failed(self, address: str, now: float | None = None) -> None:
        with self._lock:
            self._failed[address].append(time.monotonic() if now is None else now)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failed.pop(address, None)
