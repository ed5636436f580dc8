"""The WSGI entry point: `flask --app app run` for development, `gunicorn app:app` in production.

`app` is built on first use, so importing `create_app` (tests, other servers) does
not require the environment to be configured.
"""

from __future__ import annotations

import logging
from typing import Any

from ivr.web import create_app

__all__ = ["app", "create_app"]  # noqa: F822 (app is made on first use, below)


def __getattr__(name: str) -> Any:
    if name == "app":
        _log_where_the_server_logs()
        globals()["app"] = application = create_app()
        return application
    raise AttributeError(name)


def _log_where_the_server_logs() -> None:
    """Operators need the service's own lines (each call's steps and revision, the caller as a
    keyed hash; menu changes refused or taken): under gunicorn they go to its error log at its
    `--log-level`; elsewhere through the host's root logging or, if there is none, to stderr,
    at INFO. Left alone when the host configured `ivr` itself."""
    ours = logging.getLogger("ivr")
    if ours.handlers or ours.level != logging.NOTSET:
        return
    server = logging.getLogger("gunicorn.error")
    if server.handlers:
        ours.handlers[:] = server.handlers
        ours.setLevel(server.level)
        ours.propagate = False  # a root handler would print each line twice
    elif logging.getLogger().handlers:  # the host's own logging: our lines go through it
        ours.setLevel(logging.INFO)
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
