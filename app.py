"""The WSGI entry point: `flask --app app run` for development, `gunicorn app:app` in production.

`app` is built on first use, so importing `create_app` (tests, other servers) does
not require the environment to be configured.
"""

from __future__ import annotations

from typing import Any

from ivr.web import create_app

__all__ = ["app", "create_app"]  # noqa: F822 (app is made on first use, below)


def __getattr__(name: str) -> Any:
    if name == "app":
        globals()["app"] = application = create_app()
        return application
    raise AttributeError(name)
