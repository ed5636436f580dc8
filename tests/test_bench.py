"""The benchmarks run (briefly) and print their figures; no time is asserted here.

Marked `bench`: `python3 -m pytest` leaves them out (valgrind alone takes a minute or more);
`.ci/run` runs them as a separate step with `python3 -m pytest -m bench`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import ROOT

pytestmark = pytest.mark.bench


def run(*args: str) -> str:
    """A script run as `python -m bench.x` (or as given), from the checkout."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("script", [("-m", "bench.engine_steps"), ("bench/engine_steps.py",)], ids=["module", "file"])
def test_engine_benchmark_prints_every_size(script: tuple[str, ...]) -> None:
    out = run(*script, "--seconds", "0.02", "--rounds", "1")
    for row in ("10 nodes", "100 nodes", "1000 nodes", "free dial"):
        assert row in out
    assert "us/webhook" in out


def test_memory_benchmark_prints_its_figures() -> None:
    out = run("-m", "bench.memory", "--calls", "1100")
    assert "RSS after 1,100 calls" in out and "one call's state" in out


def test_webhook_benchmark_compares_with_both_baselines() -> None:
    out = run("-m", "bench.webhooks", "--seconds", "0.5", "--rounds", "2", "--callers", "2")
    for row in ("constant", "tutorial signed", "ivr", "ivr vs tutorial", "ivr signed vs tutorial signed", "p99"):
        assert row in out


def test_in_process_webhook_benchmark_compares_with_both_baselines() -> None:
    out = run("-m", "bench.webhooks_inprocess", "--rounds", "1", "--requests", "40", "--profile")
    for row in ("constant", "tutorial", "tutorial signed", "ivr signed", "tottime"):
        assert row in out


def test_instruction_benchmark_counts_the_service() -> None:
    out = run("-m", "bench.instructions", "--requests", "5", "--targets", "ivr")
    row = next(line for line in out.splitlines() if line.startswith("ivr "))
    assert 100_000 < int(row.split()[1].replace(",", "")) < 5_000_000  # ~740,000 on Python 3.11


def test_first_webhook_benchmark_times_a_fresh_worker() -> None:
    out = run("-m", "bench.first_webhook", "--rounds", "1")
    assert "first webhook" in out and "first / tenth" in out


def test_service_fuzz_finds_nothing_and_survives_a_kill() -> None:
    out = run("-m", "bench.fuzz_service", "--signed", "200", "--unsigned", "40")
    assert "5xx                                                  0" in out and "all checks passed" in out


def test_check_benchmark_prints_rings_lines_and_the_free_dial() -> None:
    out = run("-m", "bench.check_scale", "--sizes", "5", "20")
    for row in ("line 5", "line 20", "ring 5", "ring 20", "free dial"):
        assert row in out
    assert "peak MB" in out and "exact" in out


def test_records_benchmark_compares_recording_with_none() -> None:
    """On SQLite, and on PostgreSQL where .ci/run gives one (IVR_TEST_DATABASE_URL)."""
    import os

    out = run("-m", "bench.records", "--seconds", "0.5", "--rounds", "1", "--callers", "2")
    assert "off " in out and "sqlite " in out and "x  (rounds:" in out
    if os.environ.get("IVR_TEST_DATABASE_URL"):
        assert "postgresql " in out


def test_speech_benchmark_pairs_each_spoken_choice_with_its_key() -> None:
    out = run("-m", "bench.speech_matching", "--rounds", "1", "--calls", "20")
    for row in ("main menu: lost card", "language choice", "words that fit nothing", "engine step alone"):
        assert row in out
    assert "added us" in out and "paired rounds" in out
