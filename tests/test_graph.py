"""`ivr graph`: the diagram's DOT source says what the menu does; the CLI writes real files."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import MENU_PATH, ROOT

from bench.synthetic import synthetic_menu, synthetic_menu_data
from ivr.cli import cli
from ivr.edges import GLOBAL
from ivr.engine import Engine
from ivr.graph import DOT_MAX_EDGES, build, choose_layout, node_words, render
from ivr.menu import Menu
from ivr.speech import display

EDGE = re.compile(r'^\t(\w+) -> (\w+) \[label=(?:"([^"]*)"|(\S+))', re.MULTILINE)
NODE = re.compile(r'^\t(\w+) \[label="([^"]*)"', re.MULTILINE)


def edges(source: str) -> dict[tuple[str, str], str]:
    """(source, dest) -> label of every labelled edge in a DOT text."""
    return {(m[1], m[2]): m[3] if m[3] is not None else m[4] for m in EDGE.finditer(source)}


def nodes(source: str) -> dict[str, str]:
    return {m[1]: m[2] for m in NODE.finditer(source)}


@pytest.fixture(scope="module")
def source(menu: Menu) -> str:
    return render(menu, "dot").decode()


def test_every_node_is_drawn_with_its_type(menu: Menu, source: str) -> None:
    drawn = nodes(source)
    assert set(menu.nodes) <= set(drawn)
    assert 'q_card [label="q_card\\lhas_card?\\l" fillcolor="#fff3cd" shape=hexagon' in source
    assert "goodbye [label=\"goodbye\\l\" fillcolor=\"#f8d7da\" shape=octagon" in source


def test_keys_and_answers_label_the_edges(source: str) -> None:
    drawn = edges(source)
    assert [drawn[("main", dest)] for dest in ("card_info", "lost_card", "system_info", "portal_info",
                                               "mynapoint")] == ["1", "2", "3", "4", "5"]
    assert drawn[("language", "lost_card_first")] == "1 ja | 2 en | 3 zh | 4 ko | 5 es | 6 pt"
    assert drawn[("lost_card_first", "fraud_warning")] == "next"
    assert drawn[("q_card", "q_round1")] == "yes" and drawn[("q_card", "eligibility_result")] == "no"
    assert drawn[("q_round1", "q_health")] == "yes | no"
    assert drawn[("fraud_warning", "main")] == "next"
    assert drawn[("card_desk", "after_hours")] == "closed" and drawn[("card_desk", "busy")] == "unanswered"


def test_star_and_hash_keys_are_shown_as_pressed() -> None:
    data = synthetic_menu_data(3)
    data["keys"] = {"repeat": "#", "main_menu": "9", "operator": "0"}
    data["nodes"]["n0"]["choices"]["*"] = "bye"
    assert edges(render(Menu.model_validate(data), "dot").decode())[("n0", "bye")] == "5 | *"


def test_nodes_named_like_the_extras_are_kept() -> None:
    data = synthetic_menu_data(3)
    data["nodes"]["call"] = data["nodes"].pop("q0")
    data["nodes"]["legend"] = data["nodes"].pop("q1")
    for name, body in (("n0", "call"), ("n1", "legend")):
        data["nodes"][name]["choices"]["3"] = body
    drawn = nodes(render(Menu.model_validate(data), "dot").decode())
    assert drawn["call"] == "call\\lok?\\l" and drawn["legend"] == "legend\\lok?\\l"


def test_transfers_are_marked_24_7_or_with_their_hours(source: str) -> None:
    drawn = nodes(source)
    assert drawn["lost_desk"] == "lost_desk\\l24/7\\l"
    for desk in ("card_desk", "system_desk", "portal_desk", "mynapoint_desk", "operator"):
        assert drawn[desk] == f"{desk}\\lhours: hotline\\lclosed 12-29..01-03\\l"  # the year-end holidays


def test_special_hours_are_drawn_with_their_days() -> None:
    data = synthetic_menu_data(3)
    data["hours"]["office"] = {"weekdays": "09:00-17:00", "special": [
        {"days": "2026-05-02", "hours": "10:00-15:00"}, {"days": "08-13..08-15", "hours": "closed"}]}
    data["nodes"]["desk"].update(hours="office", closed="bye")
    desk = nodes(render(Menu.model_validate(data), "dot").decode())["desk"]
    assert desk == "desk\\lhours: office\\l10:00-15:00 2026-05-02\\lclosed 08-13..08-15\\l"


def test_global_keys_and_giving_up_are_said_once(source: str) -> None:
    drawn = edges(source)
    assert not any(label in GLOBAL for label in drawn.values())
    assert [edge for edge in drawn if edge[1] == "operator"] == [("busy", "operator")]  # key 1, not from every node
    assert [edge for edge in drawn if edge[1] == "main"] == [("fraud_warning", "main")]
    assert "<b>Giving up</b> after 2 retries (or the node's own)" in source
    for text in ("repeat", "main menu → main", "operator → operator", "→ operator: all others",
                 "→ goodbye: after_result, after_hours, busy, lost_busy", "→ lost_card_first: language"):
        assert source.count(text) == 1, text


def test_drawn_edges_are_the_engines_less_the_global_ones(menu: Menu, source: str) -> None:
    machine = Engine(menu).machine  # the transitions the engine fires, from transitions' own API
    engine = {(source, t.dest) for trigger, event in machine.events.items() if trigger not in GLOBAL
              for source, moves in event.transitions.items() for t in moves}
    assert set(edges(source)) == engine


def test_layout_is_dot_for_small_menus_and_sfdp_for_large(menu: Menu) -> None:
    assert choose_layout(DOT_MAX_EDGES) == "dot" and choose_layout(DOT_MAX_EDGES + 1) == "sfdp"
    assert build(menu).engine == "dot"
    assert build(synthetic_menu(30)).engine == "sfdp"  # 211 edges
    assert build(menu, "neato").engine == "neato"


def test_styles_do_not_leak_into_other_graph_machines(menu: Menu) -> None:
    from transitions.extensions.diagrams import GraphMachine

    build(menu)
    assert "menu" not in GraphMachine.style_attributes["node"]
    assert GraphMachine.machine_attributes["rankdir"] == "LR"


def graph(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--menu", str(MENU_PATH), "graph", *args])
    return result.exit_code, result.output


def test_cli_writes_an_svg_that_parses(tmp_path: Path, menu: Menu) -> None:
    code, out = graph("-o", str(tmp_path / "menu.svg"))
    assert code == 0 and out == f"{tmp_path / 'menu.svg'}: 25 nodes, svg, dot layout\n"
    root = ET.parse(tmp_path / "menu.svg").getroot()
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and set(menu.nodes) <= titles


def test_each_node_shows_its_words_when_pointed_at(menu: Menu) -> None:
    """In the SVG, a node's link title (its tooltip) is what it says in the default language."""
    svg = ET.fromstring(render(menu, "svg"))
    ns = "{http://www.w3.org/2000/svg}"
    shown = {g.findtext(f"{ns}title"): a.get("{http://www.w3.org/1999/xlink}title")
             for g in svg.iter(f"{ns}g") if g.get("class") == "node" for a in g.iter(f"{ns}a")}
    assert shown["goodbye"] == display(menu.nodes["goodbye"].say["ja"])  # as staff see it in ivr sim
    assert shown["main"] == display(menu.nodes["main"].say["ja"])
    cut = node_words(menu, most=20)["main"]  # a long text is cut, and says so
    assert cut == display(menu.nodes["main"].say["ja"])[:19] + "…"
    silent = [name for name, node in menu.nodes.items() if not node.say]
    assert silent and not set(silent) & set(shown)  # a node with no words of its own has no tooltip


def test_cli_format_from_suffix_or_option(tmp_path: Path) -> None:
    assert graph("-o", str(tmp_path / "menu.png"))[0] == 0
    assert (tmp_path / "menu.png").read_bytes().startswith(b"\x89PNG")
    assert graph("-o", str(tmp_path / "menu.txt"), "--format", "dot")[0] == 0
    assert (tmp_path / "menu.txt").read_text().startswith("digraph")
    code, out = graph("-o", str(tmp_path / "menu.jpg"))
    assert code == 2 and "cannot draw 'jpg'; use svg, png, pdf, dot (a suffix of -o, or --format)" in out


def test_missing_output_folder_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "menu.svg"
    code, out = graph("-o", str(target))
    assert code == 1 and not target.parent.exists()
    assert f"Error: cannot write {target}: the folder {target.parent} does not exist" in out


def test_missing_graphviz_programs_say_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out = graph("-o", str(tmp_path / "menu.svg"))
    assert code == 1 and "Graphviz's `dot` program was not found" in out and "apt-get install graphviz" in out
    assert "Traceback" not in out and not (tmp_path / "menu.svg").exists()


def test_missing_graphviz_package_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now raises ImportError
    code, out = graph("-o", str(tmp_path / "menu.svg"))
    assert code == 1 and "pip install" in out and "graphviz" in out


def test_only_ivr_graph_imports_the_diagram_code() -> None:
    check = ("import sys, ivr.engine, ivr.web, ivr.cli; "
             "assert not {'ivr.graph', 'graphviz'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", check], check=True, cwd=ROOT)


def test_docs_diagram_shows_every_node(menu: Menu) -> None:
    """docs/menu.svg is committed; redraw it (see README) when nodes are added or renamed."""
    root = ET.parse(ROOT / "docs" / "menu.svg").getroot()
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert set(menu.nodes) <= titles
