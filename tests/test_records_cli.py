"""`ivr records` and `ivr report` as an operator types them (on the default SQLite kind)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from ivr.cli import cli


def ivr(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_simulated_surge_and_its_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    code, out = ivr("records", "simulate", "--calls", "60", "--since", "2022-06-30", "--until", "2022-07-02",
                    "--database", url)
    assert code == 0 and out.startswith("60 calls from 2022-06-30 00:00 to 2022-07-02 00:00 (Asia/Tokyo) into sqlite")
    code, out = ivr("report", "--since", "2022-06-30", "--until", "2022-07-02", "--format", "json", "--database", url)
    report = json.loads(out)
    assert code == 0 and report["summary"][0] == {"what": "calls", "calls": 60}
    assert sum(day["calls"] for day in report["days"]) == 60 and {d["day"] for d in report["days"]} <= {
        "2022-06-30", "2022-07-01"}
    code, out = ivr("report", "--section", "funnel", "--format", "csv", "--database", url)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["node", "entered", "keys"] and rows[1][:2] == ["language", "60"]
    code, out = ivr("report", "--since", "2022-07-01", "--until", "2022-07-01T12:00", "--section", "summary",
                    "--database", url)
    assert code == 0 and out.startswith("Calls\n-----\n")


def test_mistakes_get_a_clear_answer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    code, out = ivr("report", "--section", "nodes", "--database", url)
    assert code == 2 and "no section nodes" in out
    code, out = ivr("records", "prune", "--older-than", "3 months", "--database", url)
    assert code == 2 and "write a number and d, w or h, e.g. 90d" in out
    code, out = ivr("records", "simulate", "--since", "2022-07-02", "--until", "2022-07-01", "--database", url)
    assert code == 2 and "--since must come before --until" in out
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out = ivr("report", "--database", f"sqlite:///{blocker / 'r.sqlite3'}")
    assert code == 1 and out.startswith(f"Error: cannot read the records in sqlite:///{blocker / 'r.sqlite3'}:")


def test_prune_and_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert ivr("records", "migrate", "--database", url) == (0, f"{url}: tables up to date\n")
    ivr("records", "simulate", "--calls", "5", "--since", "2022-06-30", "--until", "2022-07-01", "--database", url)
    code, out = ivr("records", "prune", "--older-than", "1d", "--database", url)
    assert code == 0 and out.startswith("deleted 5 calls and ")
