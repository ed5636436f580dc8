"""The city desks line (menus/city.yaml) passes the same tools as the free dial: lint finds
nothing, check plays every path without a problem, graph draws it, sim plays it; and what
it says is what the seed pages say (the scenarios in tests/scenarios/city/ check each
language, these the facts that must never drift)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from support import ROOT, jst

from ivr.cli import cli
from ivr.engine import Engine, Press, Transfer
from ivr.graph import render
from ivr.loader import check_file, load_menu
from ivr.menu import Menu, TransferNode
from ivr.simulator import EngineLine, parse_script, play

CITY = ROOT / "menus" / "city.yaml"


@pytest.fixture(scope="module")
def city() -> Menu:
    return load_menu(CITY)


def test_lint_finds_nothing_to_fix() -> None:
    menu, problems = check_file(CITY)
    assert menu is not None and problems == []


def test_check_plays_every_path_without_a_problem() -> None:
    result = CliRunner().invoke(cli, ["check", str(CITY), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["problems"] == [] and report["states"] > 200
    assert set(report["languages"]) == {"ja", "en", "zh", "ko", "es", "pt"}


def test_graph_draws_every_node(city: Menu) -> None:
    source = render(city, "dot").decode()
    for name in city.nodes:
        assert f"\t{name} [" in source


def test_sim_plays_it_with_menu() -> None:
    result = CliRunner().invoke(cli, ["sim", "--menu", str(CITY), "--script", "2 2 2", "--at", "2026-12-07T10:00"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Call to Oshu and Ichinoseki city desks")
    assert "-> TRANSFER to +81191218310 (ichinoseki_card_desk)" in result.output


def test_the_desks_dialled_are_the_numbers_the_ichinoseki_page_gives(city: Menu) -> None:
    """総務課(電話21-8633), 市民課(電話21-8310), area code 0191; the lost card goes to the free dial, 24/7."""
    transfers = {name: (n.to, n.hours) for name, n in city.nodes.items() if isinstance(n, TransferNode)}
    assert transfers == {"ichinoseki_point_desk": ("+81191218633", "city_desks"),
                         "ichinoseki_card_desk": ("+81191218310", "city_desks"),
                         "lost_desk": ("+81120950178", "always")}


@pytest.mark.parametrize(("at", "open_"), [
    (jst(2026, 12, 7, 8, 29), False), (jst(2026, 12, 7, 8, 30), True), (jst(2026, 12, 7, 17, 14), True),
    (jst(2026, 12, 7, 17, 15), False), (jst(2026, 12, 5, 10, 0), False), (jst(2026, 12, 6, 10, 0), False),
    (jst(2026, 11, 23, 10, 0), False),  # Labour Thanksgiving Day, a Monday: 平日 are not holidays
])
def test_the_desks_are_open_on_weekdays_from_8_30_to_17_15(city: Menu, at: dt.datetime, open_: bool) -> None:
    events = list(play(EngineLine(Engine(city), at), parse_script("2 2 1"), None))
    transferred = [e for e in events if e["type"] == "transfer"]
    assert bool(transferred) is open_, [e.get("text") for e in events]


def test_the_lost_card_is_transferred_at_any_hour(city: Menu) -> None:
    engine = Engine(city)
    for at in (jst(2026, 12, 6, 3, 0), jst(2026, 1, 1, 0, 0)):
        call, _ = engine.start(at, "en")
        step = engine.step(call, Press("3"), at)
        assert isinstance(step.action, Transfer) and step.action.to == "+81120950178"
