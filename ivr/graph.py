"""The menu as a diagram (`ivr graph`), drawn by `transitions`' diagrams extension.

The diagram is a `GraphMachine` built from the menu's edges (`ivr.edges`), the list the
engine's own machine is built from, so it cannot drift from what calls do. Three kinds of edge
leave nearly every node and would bury the menu (the main-menu and operator keys, and
giving up after the retries): they are left out of the machine drawn and said once, in
a legend. Graphviz is optional: only `ivr graph` imports this module, and the `graphviz`
package and Graphviz's programs are looked for when a diagram is made.
"""

from __future__ import annotations

import copy
import html
from collections import defaultdict
from typing import Any

from transitions.core import State
from transitions.extensions.diagrams import GraphMachine

from .catalogue import catalogue
from .edges import GLOBAL, Edge, edges
from .errors import GraphError
from .menu import LISTENING, LanguageNode, Menu, QuestionNode, TransferNode
from .speech import display

FORMATS = ("svg", "png", "pdf", "dot")
LAYOUTS = ("dot", "sfdp", "neato")
DOT_MAX_EDGES = 150
"""`dot` draws menus most clearly but slows sharply with edges, from well under a second at this
size to minutes at a few hundred more; sfdp stays quick (figures: bench/RESULTS.md, `bench/graph_render.py`)."""
FONT = "Helvetica"
TOOLTIP_CHARS = 300

# Per node type a shape and a colour, so kinds are told apart before any label is read.
NODE_STYLES: dict[str, dict[str, str]] = {
    "menu": {"shape": "box", "style": "rounded,filled", "fillcolor": "#cfe2ff"},
    "language": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e2d9f3"},
    "message": {"shape": "note", "style": "filled", "fillcolor": "#f1f3f5"},
    "question": {"shape": "hexagon", "style": "filled", "fillcolor": "#fff3cd"},
    "eligibility": {"shape": "component", "style": "filled", "fillcolor": "#d1e7dd"},
    "transfer": {"shape": "cds", "style": "filled", "fillcolor": "#ffd8a8", "margin": "0.3,0.1"},
    "hangup": {"shape": "octagon", "style": "filled", "fillcolor": "#f8d7da"},
}
EDGE_STYLES: dict[str, dict[str, str]] = {
    "key": {"color": "#1f3b73", "fontcolor": "#1f3b73"},
    "answer": {"color": "#8a6d00", "fontcolor": "#8a6d00"},
    "next": {"color": "#868e96", "fontcolor": "#495057"},
    "closed": {"color": "#c2410c", "fontcolor": "#c2410c", "style": "dashed"},
    "unanswered": {"color": "#b02a37", "fontcolor": "#b02a37", "style": "dotted"},
}
EDGE_KIND = {"yes": "answer", "no": "answer", "next": "next", "closed": "closed", "unanswered": "unanswered"}
LAYOUT_ATTRS = {"dot": {"rankdir": "TB", "nodesep": "0.3", "ranksep": "0.35"},
                "sfdp": {"overlap": "prism"}, "neato": {"overlap": "prism"}}


class _LabelledState(State):
    """A state with a `label`, which the diagrams extension draws instead of the bare name."""

    def __init__(self, name: str, label: str = "", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.label = label


class MenuDiagram(GraphMachine):
    """GraphMachine with this module's styles, set per instance: the base class's dicts are shared."""

    state_cls = _LabelledState

    def __init__(self, **kwargs: Any) -> None:
        self.machine_attributes = {**GraphMachine.machine_attributes, "fontname": FONT, "labelloc": "t",
                                   "fontsize": "18"}
        styles: dict[str, Any] = copy.deepcopy(GraphMachine.style_attributes)
        styles["node"].update(NODE_STYLES)
        styles["edge"].update(EDGE_STYLES)
        styles["node"]["default"]["fontname"] = styles["edge"]["default"]["fontname"] = FONT
        self.style_attributes = styles
        super().__init__(**kwargs)


def opening(menu: Menu, node: TransferNode) -> str:
    """How a transfer is gated: "24/7" or "hours: <calendar>", then each dated exception
    ("closed 12-29..01-03", "10:00-15:00 2026-05-02"), a line each."""
    calendar = menu.hours[node.hours]
    if calendar.always_open:
        return "24/7"
    special = [("closed" if s.hours.opens is None else f"{s.hours.opens:%H:%M}-{s.hours.closes:%H:%M}")
               + f" {s.days.text}" for s in calendar.special]
    return r"\l".join([f"hours: {node.hours}", *special])


def edge_label(menu: Menu, edge: Edge) -> str:
    """What follows an edge, as the menu file says it: "1", "*", "yes", "closed"..."""
    node, key = menu.nodes[edge.source], edge.key
    if key is None:
        return edge.trigger
    return f"{key} {node.choices[key]}" if isinstance(node, LanguageNode) else key


def node_label(menu: Menu, name: str) -> str:
    """The node's name, plus what a transfer's hours are or what a question asks."""
    node = menu.nodes[name]
    if isinstance(node, TransferNode):
        return rf"{name}\l{opening(menu, node)}"
    if isinstance(node, QuestionNode):
        return rf"{name}\l{node.answer}?"
    return name


def split_transitions(menu: Menu) -> tuple[list[dict[str, Any]], list[Edge]]:
    """The menu's edges: (drawn, as labelled `transitions` dicts; global ones, for the legend)."""
    drawn, common = [], []
    for edge in edges(menu):
        if edge.trigger in GLOBAL:
            common.append(edge)
        else:
            drawn.append({"trigger": edge.trigger, "source": edge.source, "dest": edge.dest,
                          "label": edge_label(menu, edge)})
    return drawn, common


def _names(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def legend_rows(menu: Menu, common: list[Edge]) -> list[str]:
    """The global keys and where giving up leads, each said once."""
    keys, info = menu.keys, menu.menu
    rows = ["<b>Keys on every waiting node</b>"]
    if keys.repeat:
        rows.append(f"{keys.repeat}   repeat")
    if keys.main_menu:
        rows.append(f"{keys.main_menu}   main menu → {info.main_menu}")
    if keys.operator:
        rows.append(f"{keys.operator}   operator → {info.operator}")
    off = [n for n, node in menu.nodes.items() if isinstance(node, LISTENING) and not node.global_keys]
    if off and (keys.main_menu or keys.operator):
        rows.append(f"    (only {keys.repeat or 'none'} on {_names(off)})")
    gives: dict[str, list[str]] = defaultdict(list)
    for edge in common:
        if edge.trigger == "give_up":
            gives[edge.dest].append(edge.source)
    own = any(isinstance(node, LISTENING) and node.retries is not None for node in menu.nodes.values())
    rows.append(f"<b>Giving up</b> after {menu.settings.retries} retries" + (" (or the node's own)" if own else ""))
    for dest, sources in sorted(gives.items(), key=lambda item: -len(item[1])):
        if len(gives) == 1:
            who = "all"
        elif dest == info.operator and len(sources) > 1:
            who = "all others"
        else:
            who = _names(sources)
        rows.append(f"→ {dest}: {who}")
    return rows


def legend(menu: Menu, common: list[Edge]) -> str:
    """The legend as a Graphviz HTML-like label: rows of text, then a swatch per node type."""
    cells = "".join(f'<tr><td align="left">{_escape(row)}</td></tr>' for row in legend_rows(menu, common))
    kinds = sorted({node.type for node in menu.nodes.values()}, key=list(NODE_STYLES).index)
    swatches = "".join(f'<td bgcolor="{NODE_STYLES[k]["fillcolor"]}">{k}</td>' for k in kinds)
    return (f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="3">{cells}'
            f'<tr><td><table border="0" cellspacing="3"><tr>{swatches}</tr></table></td></tr></table>>')


def _escape(row: str) -> str:
    """Escape text for an HTML-like label, keeping the <b>...</b> heading."""
    head, bold, rest = row.rpartition("</b>")
    return f"{head}{bold}{html.escape(rest, quote=False)}" if bold else html.escape(row, quote=False)


def choose_layout(edges: int) -> str:
    """dot for the clearest drawing while it is quick; sfdp once dot would take too long."""
    return "dot" if edges <= DOT_MAX_EDGES else "sfdp"


def build(menu: Menu, layout: str | None = None, traffic: dict[tuple[str, str], int] | None = None,
          gave_up: dict[str, int] | None = None) -> Any:
    """The diagram as a `graphviz.Digraph` set up for `layout` (default: by size); `.source` is DOT.
    With `traffic` (calls from node to node), each edge is labelled with its calls and drawn
    thicker the more it carries; `gave_up` (callers who gave up or hung up, per node) marks those nodes."""
    _require_package()
    drawn, common = split_transitions(menu)
    if traffic is not None:  # edges between the same two nodes are drawn as one: its count said once, at the end
        last = {(edge["source"], edge["dest"]): edge for edge in drawn}
        for pair, edge in last.items():
            edge["label"] += f" ({traffic.get(pair, 0):,})"
    states = [{"name": name, "label": node_label(menu, name)} for name in menu.nodes]
    machine = MenuDiagram(states=states, transitions=drawn, initial=menu.menu.start, auto_transitions=False,
                          model_attribute="node", graph_engine="graphviz",
                          title=f"{menu.menu.name} (version {menu.menu.version})")
    styles: Any = machine.model_graphs[id(machine)]
    for name, node in menu.nodes.items():
        styles.set_node_style(name, node.type)
    busiest = max((traffic or {}).values(), default=0) or 1
    for edge in drawn:
        kind = EDGE_KIND.get(edge["trigger"], "key")
        if traffic:  # a style of its own per width: the diagrams extension takes a style's name per edge
            width = 1 + round(7 * traffic.get((edge["source"], edge["dest"]), 0) / busiest)
            edge_styles: Any = machine.style_attributes["edge"]
            edge_styles[f"{kind}-{width}"] = {**EDGE_STYLES[kind], "penwidth": str(width)}
            kind = f"{kind}-{width}"
        styles.custom_styles["edge"][edge["source"]][edge["dest"]] = kind
    graph = machine.get_graph()
    graph.engine = layout or choose_layout(len(drawn))
    graph.graph_attr.update(LAYOUT_ATTRS.get(graph.engine, {}))
    # Ids no menu node can have (node names are identifiers), so nothing is overwritten.
    graph.node("(call)", label="incoming call", shape="plaintext", style="", peripheries="0")
    graph.edge("(call)", menu.menu.start, **EDGE_STYLES["next"])
    graph.node("(legend)", label=legend(menu, common), shape="plaintext", style="")
    for name, words in node_words(menu).items():  # a second statement for a node adds to its attributes
        graph.node(name, tooltip=words)
    for name, n in (gave_up or {}).items():
        if n and name in menu.nodes:
            graph.node(name, color="#b02a37", penwidth="3", xlabel=f"✕ {n:,}")
    return graph


def node_words(menu: Menu, most: int = TOOLTIP_CHARS) -> dict[str, str]:
    """What each node says, in the menu's default language: shown when the pointer rests on
    the node in an SVG diagram."""
    lang = menu.menu.default_language
    out = {}
    for entry in catalogue(menu):
        text = entry.texts.get(lang)
        if entry.path[0] == "nodes" and text:
            words = display(text)
            out[entry.id] = words if len(words) <= most else words[:most - 1] + "…"
    return out


def draw(graph: Any, fmt: str) -> bytes:
    """A diagram from `build` as `fmt` bytes (svg, png, pdf; dot is the source, needing no Graphviz program)."""
    if fmt == "dot":
        return str(graph.source).encode()
    import graphviz  # type: ignore[import-untyped]

    try:
        return bytes(graph.draw(None, format=fmt, prog=graph.engine))
    except graphviz.ExecutableNotFound:
        raise GraphError(f"Graphviz's `{graph.engine}` program was not found: install Graphviz "
                         "(apt-get install graphviz, or brew install graphviz)") from None
    except graphviz.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip() if exc.stderr else str(exc)
        raise GraphError(f"Graphviz's `{graph.engine}` failed: {detail}") from None


def render(menu: Menu, fmt: str = "svg", layout: str | None = None) -> bytes:
    """The menu drawn as `fmt`."""
    return draw(build(menu, layout), fmt)


def _require_package() -> None:
    """Without the package, transitions would quietly fall back to Mermaid text: say so instead."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise GraphError("drawing a menu needs the graphviz Python package: pip install graphviz "
                         "(in a checkout: pip install -e '.[graph]'), and Graphviz itself: "
                         "apt-get install graphviz") from None
