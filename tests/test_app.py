"""The WSGI entry point (`app:app`) sends the service's log lines where its host reads them."""

from __future__ import annotations

import os
import subprocess
import sys

from support import ROOT

ENV = {**os.environ, "IVR_ALLOW_UNSIGNED": "true", "IVR_STATE_SECRET": "app-test"}


def started(prelude: str = "") -> list[str]:
    """What stderr shows when `app.app` is built (and one call placed), after `prelude`."""
    code = (f"{prelude}\nimport app\nclient = app.app.test_client()\n"
            "client.post('/voice', data={'CallSid': 'CA1', 'From': '+819012345678'})")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_without_a_server_or_host_logging_the_lines_go_to_stderr_at_info() -> None:
    lines = started()
    assert any(line.endswith("WARNING ivr.web: UNSIGNED MODE: X-Twilio-Signature is NOT checked; anyone can "
                             "drive this service. Local testing only.") for line in lines), lines
    calls = [line for line in lines if " INFO ivr.web: call=CA1 caller=" in line]
    assert len(calls) == 1 and "9012345678" not in "\n".join(lines), lines


def test_a_hosts_own_logging_gets_each_line_once() -> None:
    lines = started("import logging\nlogging.basicConfig(level=logging.WARNING, format='HOST %(name)s %(message)s')")
    calls = [line for line in lines if "call=CA1" in line]
    assert len(calls) == 1 and calls[0].startswith("HOST ivr.web call=CA1 caller="), lines
