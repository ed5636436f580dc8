"""libyaml's loader and the pure one read every menu alike: the same values, lines and
duplicate keys, and the same plain-words report (line and fix) for text that is not YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.synthetic import synthetic_menu_data
from ivr import source
from ivr.source import Source, SourceSyntaxError, parse

ROOT = Path(__file__).parent.parent
GOOD = {
    "free dial": (ROOT / "menus" / "free_dial.yaml").read_text(encoding="utf-8"),
    **{f"scenarios {p.name}": p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))},
    "generated": yaml.safe_dump(synthetic_menu_data(30), allow_unicode=True),
    "duplicate keys": "a: 1\nb:\n  c: 2\n  c: 3\na: 4\n",
    "keys as typed": "yes: 1\n1: no\n'x': [1, {y: 2}]\nwhen: 2022-09-30\n",
    "empty": "",
    "comment only": "# nothing\n",
}
BROKEN = {
    "unclosed quote": 'a: "open\nb: 2\nc: "x"\n',
    "quote never closed": 'a: "open\n',
    "tab": "a:\n\tb: 1\n",
    "bad start": "a: @home\n",
    "alias": "a: *x\n",
    "anchor": "a: &\n",
    "block scalar": "a: >x y\n",
    "escape": 'a: "C:\\q"\n',
    "tag": "a: !thing 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "missing colon": "a: 1\nb\nc: 2\n",
    "colon in value": "a: time: 10\n",
    "flow": "a: {b: 1\nc: 2\n",
    "flow sign": "a: [x: y: z]\n",
    "indentation": "a:\n    b: 1\n  c: 2\n",
    "keys and items": "a:\n  b: 1\n  - c\n",
    "after a quote": 'a: "x" y\n',
    "control character": "a: b\x07c\n",
    "no such date": "a: 2022-02-30\n",
    "shifted text": "a: >-\n    some text\n  b: 1\n",
}


def pure(text: str) -> Source | SourceSyntaxError:
    return read(text, None)


def read(text: str, fast: object) -> Source | SourceSyntaxError:
    saved = source._FAST
    source._FAST = fast  # type: ignore[assignment]
    try:
        return parse(text, "menu.yaml")
    except SourceSyntaxError as exc:
        return exc
    finally:
        source._FAST = saved


def same(a: Source | SourceSyntaxError, b: Source | SourceSyntaxError) -> None:
    assert type(a) is type(b)
    if isinstance(a, Source) and isinstance(b, Source):
        assert (a.data, a.lines, a.duplicates) == (b.data, b.lines, b.duplicates)
    else:
        assert isinstance(a, SourceSyntaxError) and isinstance(b, SourceSyntaxError)
        assert (a.line, a.message, a.parser_line, a.raw) == (b.line, b.message, b.parser_line, b.raw)


needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml: only the pure loader")


def test_libyaml_is_used_where_present() -> None:
    assert source._FAST is (yaml.CSafeLoader if yaml.__with_libyaml__ else None)


@needs_libyaml
@pytest.mark.parametrize("name", GOOD)
def test_both_loaders_read_the_same_values_lines_and_duplicates(name: str) -> None:
    fast = read(GOOD[name], yaml.CSafeLoader)
    same(fast, pure(GOOD[name]))
    assert isinstance(fast, Source)
    if name == "duplicate keys":
        assert fast.duplicates == [(("b", "c"), 3, 4), (("a",), 1, 5)]
        assert fast.line(("b", "c")) == 4


@needs_libyaml
@pytest.mark.parametrize("name", BROKEN)
def test_both_loaders_refuse_the_same_text_with_the_same_words(name: str) -> None:
    """libyaml words its errors its own way: text it refuses is read again by the pure parser,
    so the report is the one operators always got."""
    fast = read(BROKEN[name], yaml.CSafeLoader)
    assert isinstance(fast, SourceSyntaxError), f"libyaml took {name!r}"
    same(fast, pure(BROKEN[name]))


def test_without_libyaml_the_pure_loader_reads_and_explains() -> None:
    good = pure(GOOD["duplicate keys"])
    assert isinstance(good, Source) and good.data == {"a": 4, "b": {"c": 3}}
    bad = pure(BROKEN["missing colon"])
    assert isinstance(bad, SourceSyntaxError) and bad.line == 2 and "has no colon after its key" in bad.message
