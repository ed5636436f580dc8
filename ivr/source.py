"""Read YAML while remembering the line of every key, so errors can point at it.

PyYAML forgets positions once it builds Python objects, and silently keeps the last
of two equal keys. Here the composed node tree is walked by hand: mapping keys stay
the text the operator typed (so `yes:` and `1:` are the strings "yes" and "1"), values
get YAML's usual types, and every path gets a line number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
class Source:
    """The parsed document plus where each path came from."""

    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, int, int]] = field(default_factory=list)

    def line(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def line_for_loc(self, loc: tuple[Any, ...]) -> int:
        """Map a pydantic error location (which may hold union tags) to a line."""
        path: Path = ()
        for part in loc:
            key = part if isinstance(part, int) else str(part)
            if path + (key,) in self.lines:
                path = path + (key,)
        return self.line(path)


class SourceSyntaxError(Exception):
    """The text is not YAML; carries the line and the parser's explanation."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def parse(text: str, file: str) -> Source:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SourceSyntaxError(line, f"{exc.problem or exc}; {exc.context or ''}".strip("; ")) from exc
    finally:
        loader.dispose()
    source = Source(file=file, data=None)
    if root is not None:
        source.data = _walk(root, (), source, loader)
    return source


def _walk(node: yaml.Node, path: Path, source: Source, loader: yaml.SafeLoader) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            here = path + (key,)
            if key in out:
                source.duplicates.append((here, source.lines[here], key_node.start_mark.line + 1))
            source.lines[here] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, here, source, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), source, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
