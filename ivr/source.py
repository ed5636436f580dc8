"""Read YAML while remembering the line of every key, so errors can point at it.

PyYAML forgets positions once it builds Python objects, and silently keeps the last
of two equal keys. Here the composed node tree is walked by hand: mapping keys stay
the text the operator typed (so `yes:` and `1:` are the strings "yes" and "1"), values
get YAML's usual types, and every path gets a line number.

When the text is not YAML, `explain` turns PyYAML's report into plain words with the fix,
and picks the line the mistake is most likely on: PyYAML often notices a mistake only
much later (an unclosed quote is reported where the next quote happens to be, an
indentation slip at the start of the enclosing block).
"""

from __future__ import annotations

import re
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


class SourceSyntaxError(Exception):
    """The text is not YAML; carries the line to fix and the explanation in plain words.

    `parser_line` is where PyYAML noticed the mistake (it may be far below `line`),
    `raw` PyYAML's own words."""

    def __init__(self, line: int, message: str, parser_line: int | None = None, raw: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.parser_line = line if parser_line is None else parser_line
        self.raw = raw


_FAST: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
"""libyaml's parser, where PyYAML was built with it: the same nodes and marks as the pure
one, about ten times as fast (bench/RESULTS.md)."""


def parse(text: str, file: str) -> Source:
    """`text` with the line of every key. Read by libyaml where present; text it refuses is read
    again by the pure parser, whose reports `explain` words (libyaml's wording differs)."""
    if _FAST is not None:
        try:
            return _parse(text, file, _FAST)
        except yaml.YAMLError:
            pass
    return _parse(text, file, yaml.SafeLoader)


def _parse(text: str, file: str, kind: type[yaml.SafeLoader]) -> Source:
    try:
        loader = kind(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow (a ReaderError has no mark)
        if kind is not yaml.SafeLoader:
            raise
        raise _unreadable(text, exc) from exc
    try:
        root = loader.get_single_node()
        source = Source(file=file, data=None)
        if root is not None:
            source.data = _walk(root, (), source, loader)
    except yaml.MarkedYAMLError as exc:
        if kind is not yaml.SafeLoader:
            raise
        raise explain(text, exc) from exc
    finally:
        loader.dispose()
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
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # a timestamp such as 2022-02-30 that is no real date
        line = node.start_mark.line + 1
        raise SourceSyntaxError(line, f"{node.value} is not a real date ({exc}); write an existing "
                                "date as YYYY-MM-DD, or put the value in quotes if it is not a date",
                                raw=str(exc)) from None


# -- explaining PyYAML's errors -------------------------------------------------------------
_QUOTE_IT = "put the whole text in quotes"
_CLOSE = {"{": "}", "[": "]"}
_KEY_LINE = re.compile(r"""^\s*(-\s+)?("[^"]*"|'[^']*'|[^\s:#][^:#]*?):(\s|$)""")


def explain(text: str, exc: yaml.MarkedYAMLError) -> SourceSyntaxError:
    """PyYAML's error as a SourceSyntaxError: the most likely line, and what to do, in plain words."""
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    parser_line = mark.line + 1 if mark else 1
    raw = "; ".join(s for s in (context, problem) if s) or str(exc)
    found = _Explainer(text, exc).run()
    if found is None:
        line = parser_line
        message = f"the text is not valid YAML ({raw}); check the indentation and the quotes"
    else:
        line, message = found
    if line != parser_line:
        message += f" (the YAML parser noticed it only at line {parser_line})"
    return SourceSyntaxError(line, message, parser_line, raw)


def _unreadable(text: str, exc: yaml.YAMLError) -> SourceSyntaxError:
    position = getattr(exc, "position", 0) or 0
    line = text.count("\n", 0, position) + 1
    char = getattr(exc, "character", None)
    code = f"(#x{char:04x}) " if isinstance(char, int) else ""
    return SourceSyntaxError(line, f"line {line} holds an invisible control character {code}that YAML does not "
                             "allow (often pasted from another program): delete it and retype the text around it",
                             raw=str(exc).splitlines()[0])


@dataclass
class _Block:
    kind: str  # "keys" or "items"
    column: int
    first: int  # line of its first key or item
    last: int  # line of its latest key or item


class _Explainer:
    def __init__(self, text: str, exc: yaml.MarkedYAMLError) -> None:
        self.text = text
        self.rows = text.splitlines()
        self.problem = exc.problem or ""
        self.context = exc.context or ""
        self.pmark = exc.problem_mark
        self.cmark = exc.context_mark
        self.pline = (self.pmark or self.cmark).line + 1 if (self.pmark or self.cmark) else 1
        self.cline = self.cmark.line + 1 if self.cmark else self.pline
        self.tokens = self._tokens_before(self.pmark.index if self.pmark else len(text))

    # -- what the scanner saw before the mistake --------------------------------------------
    def _tokens_before(self, index: int) -> list[yaml.Token]:
        loader = yaml.SafeLoader(self.text)
        out: list[yaml.Token] = []
        try:
            while loader.check_token():
                out.append(loader.get_token())
        except yaml.YAMLError:
            out += list(loader.tokens)  # scanned but not yet handed on when the scanner gave up
        finally:
            loader.dispose()
        return [t for t in out if t.start_mark.index < index]

    def row(self, line: int) -> str:
        return self.rows[line - 1] if 0 < line <= len(self.rows) else ""

    def rest(self, line: int, column: int) -> str:
        """The text from `column` to the end of the line, shortened for a message."""
        value = self.row(line)[column:].strip()
        return value if len(value) <= 40 else value[:37] + "..."

    def blocks(self) -> list[_Block]:
        """The indented blocks still open just before the mistake, outermost first."""
        stack: list[_Block] = []
        flow = 0
        for tok in self.tokens:
            line = tok.start_mark.line + 1
            if isinstance(tok, (yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)):
                flow += 1
            elif isinstance(tok, (yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)):
                flow = max(flow - 1, 0)
            elif isinstance(tok, yaml.BlockMappingStartToken):
                stack.append(_Block("keys", tok.start_mark.column, line, line))
            elif isinstance(tok, yaml.BlockSequenceStartToken):
                stack.append(_Block("items", tok.start_mark.column, line, line))
            elif isinstance(tok, yaml.BlockEndToken) and stack:
                stack.pop()
            elif isinstance(tok, (yaml.KeyToken, yaml.BlockEntryToken)) and stack and not flow:
                stack[-1].last = line
        return stack

    def last_scalar(self) -> yaml.ScalarToken | None:
        scalars = [t for t in self.tokens if isinstance(t, yaml.ScalarToken)]
        return scalars[-1] if scalars else None

    def at_line_start(self) -> bool:
        if self.pmark is None:
            return False
        return not self.row(self.pline)[: self.pmark.column].strip()

    # -- the diagnosis ----------------------------------------------------------------------
    def run(self) -> tuple[int, str] | None:
        for check in (self.unclosed_quote, self.tab, self.bad_start, self.alias_or_anchor, self.block_scalar,
                      self.escape, self.tag, self.undefined_alias, self.duplicate_anchor, self.documents,
                      self.text_indentation, self.missing_colon, self.colon_in_value, self.flow,
                      self.indentation, self.after_value):
            found = check()
            if found is not None:
                return found
        return None

    def unclosed_quote(self) -> tuple[int, str] | None:
        if "while scanning a quoted scalar" in self.context and "end of stream" in self.problem:
            quote = self.row(self.cline)[self.cmark.column] if self.cmark else '"'
            return self.cline, (f"the quote {quote} opened here is never closed: "
                                f"end the text with {quote} on the same line")
        # A quote left open swallows the following lines up to the next quote of its kind, and
        # the parser trips only over what follows that one.
        for tok in reversed(self.tokens):
            if (isinstance(tok, yaml.ScalarToken) and tok.style in ('"', "'")
                    and tok.end_mark.line > tok.start_mark.line and tok.end_mark.line + 1 >= self.pline - 1):
                start, end, quote = tok.start_mark.line + 1, tok.end_mark.line + 1, tok.style
                return start, (f"the quote {quote} opened on this line is not closed on it, so YAML reads "
                               f"on to the next {quote} (line {end}): end the text with {quote} on line {start}")
            if tok.end_mark.line + 1 < self.pline - 1:
                break
        return None

    def tab(self) -> tuple[int, str] | None:
        if "'\\t'" not in self.problem:
            return None
        where = "in its indentation" if self.row(self.pline).startswith((" ", "\t")) and self.at_line_start() else ""
        return self.pline, (f"line {self.pline} has a tab character {where}".rstrip() +
                            ": YAML indents with spaces only; replace the tab with spaces")

    def bad_start(self) -> tuple[int, str] | None:
        if "cannot start any token" not in self.problem or self.pmark is None:
            return None
        char = self.row(self.pline)[self.pmark.column : self.pmark.column + 1]
        return self.pline, (f"a value cannot start with {char}: {_QUOTE_IT}, "
                            f'e.g. "{self.rest(self.pline, self.pmark.column)}"')

    def alias_or_anchor(self) -> tuple[int, str] | None:
        for word, char, means in (("alias", "*", "repeats the text named &name"),
                                  ("anchor", "&", "names a text for repeating with *name")):
            if f"while scanning an {word}" in self.context and self.cmark is not None:
                value = self.rest(self.cline, self.cmark.column)
                value = value.split(":")[0].strip() if value.endswith(":") or ": " in value else value
                return self.cline, (f"a key or value starting with {char} must be quoted: "
                                    f'"{value}" (unquoted, {char}name {means})')
        return None

    def block_scalar(self) -> tuple[int, str] | None:
        if "while scanning a block scalar" not in self.context:
            return None
        column = self.cmark.column if self.cmark else 0
        char = self.row(self.cline)[column : column + 1] or ">"
        return self.cline, (f"a value starting with {char} begins a text on the following, "
                            f"further indented lines; if {char} is part of the text, {_QUOTE_IT}: "
                            f'"{self.rest(self.cline, column)}"')

    def escape(self) -> tuple[int, str] | None:
        if "unknown escape character" not in self.problem:
            return None
        return self.pline, ("inside double quotes a backslash starts a special character; "
                            "write \\\\ for a backslash, or use single quotes ' ' around the text")

    def tag(self) -> tuple[int, str] | None:
        if "could not determine a constructor for the tag" not in self.problem:
            return None
        name = self.problem.split("'")[1] if "'" in self.problem else "!"
        return self.pline, (f"YAML tags such as {name} are not used in these files: remove it, "
                            "or put the value in quotes if the ! is part of the text")

    def undefined_alias(self) -> tuple[int, str] | None:
        if "found undefined alias" not in self.problem:
            return None
        name = self.problem.split("'")[1] if "'" in self.problem else "name"
        return self.pline, (f"*{name} repeats the text named &{name}, but no &{name} comes before "
                            f"it: write &{name} where the text first appears (above this line), or put the value in "
                            'quotes if the * belongs to it: "*..."')

    def duplicate_anchor(self) -> tuple[int, str] | None:
        if "duplicate anchor" not in self.context + self.problem:
            return None
        name = (self.context + self.problem).split("'")[1] if "'" in self.context + self.problem else "name"
        first = self.cline
        return self.pline, (f"&{name} is already the name of the text at line {first}: "
                            "give each &name its own name")

    def documents(self) -> tuple[int, str] | None:
        if "expected a single document" not in self.context + self.problem:
            return None
        return self.pline, ("the file goes on after a '---' line, as a second document; "
                            "a menu is one document: remove the '---'")

    def text_indentation(self) -> tuple[int, str] | None:
        """A line of a >- or | text indented less than the lines before it."""
        line = self.pline if self.at_line_start() and "simple key" not in self.context else self.cline
        scalars = [t for t in self.tokens if isinstance(t, yaml.ScalarToken) and t.start_mark.line + 1 < line]
        last = scalars[-1] if scalars else None
        if last is None or last.style not in (">", "|") or last.end_mark.line + 1 < line - 1:
            return None
        if _KEY_LINE.match(self.row(line)):  # a key after the text, not a line of it: see indentation()
            return None
        start = last.start_mark.line + 1
        return line, (f"line {line} is indented less than the text above it (the {self.row(start).strip()[-2:]} "
                      f"text of line {start}), so YAML ends the text there: indent every line of the text "
                      "the same, further than its key")

    def missing_colon(self) -> tuple[int, str] | None:
        if "while scanning a simple key" in self.context and "expected ':'" in self.problem:
            return self.cline, (f"line {self.cline} has no colon after its key ({self.rest(self.cline, 0)}): write "
                                "key: value, with a space after the colon")
        if "mapping values are not allowed" not in self.problem:
            return None
        last = self.last_scalar()
        if last is None or last.style is not None or last.start_mark.line + 1 >= self.pline:
            return None
        start = last.start_mark.line + 1
        if not self.row(start)[: last.start_mark.column].strip():  # the line begins with it: a key without ':'
            return start, (f"line {start} has no colon after its key ({self.rest(start, 0)}): write "
                           "key: value, with a space after the colon")
        # It is the value of a key, and the next line is indented under it as if it were a block.
        return self.pline, (f"line {self.pline} is indented further than line {start}, whose key already has a "
                            "value: line up keys at the same level (a key with keys under it has nothing after "
                            "its colon)")

    def colon_in_value(self) -> tuple[int, str] | None:
        if "mapping values are not allowed" not in self.problem:
            return None
        return self.pline, ("the value contains a colon (': ' or ':' at the end), which YAML "
                            f"reads as a new key: {_QUOTE_IT}, or put the key on a line of its own")

    def flow(self) -> tuple[int, str] | None:
        for kind, opening, closing in (("mapping", "{", "}"), ("sequence", "[", "]")):
            if f"while parsing a flow {kind}" not in self.context:
                continue
            if self.pline != self.cline or "<stream end>" in self.problem:
                return self.cline, (f"the {opening} opened here is not closed: end it with "
                                    f"{closing} on the same line")
            return self.cline, (f"inside {opening}...{closing} a text contains ':', ',' or "
                                "another sign YAML reads itself: put that text in quotes, or write the "
                                "entries on lines of their own")
        return None

    def indentation(self) -> tuple[int, str] | None:
        if not self.at_line_start() or self.pmark is None:
            return None
        column, line = self.pmark.column, self.pline
        blocks = self.blocks()
        same = [b for b in blocks if b.column == column]
        if same:
            block = same[-1]
            here = "a list item (- ...)" if self.row(line).lstrip().startswith("-") else "a key: value line"
            there = "key: value lines" if block.kind == "keys" else "list items (- ...)"
            return line, (f"line {line} is {here}, but the lines above it at the same indentation (from line "
                          f"{block.first}) are {there}: a block holds one kind or the other; indent this line "
                          "further, or make it like the others")
        below = [b for b in blocks if b.column < column]
        above = [b for b in blocks if b.column > column]
        if self.next_level(line) == column:
            # The lines after this one agree with it: the slip is a block of one line next to it.
            for block in above[:1] + below[-1:]:
                if block.first == block.last and block.kind == "keys":
                    return block.first, (f"the indentation of line {block.first} ({_spaces(block.column)}) does not "
                                         f"match the lines around it (line {line} after it is indented "
                                         f"{_spaces(column)}): line up keys at the same level")
        levels = [f"{_spaces(b.column)} (line {b.last})" for b in (above[:1] + below[-1:])]
        if not levels:
            return None
        return line, (f"the indentation of line {line} ({_spaces(column)}) does not match the lines above it, "
                      f"which are indented {' or '.join(levels)}: line up keys at the same level")

    def next_level(self, line: int) -> int | None:
        """The indentation of the next line after `line` that is not further indented (nor blank, nor a comment)."""
        column = len(self.row(line)) - len(self.row(line).lstrip())
        for text in self.rows[line:]:
            stripped = text.lstrip()
            if stripped and not stripped.startswith("#") and len(text) - len(stripped) <= column:
                return len(text) - len(stripped)
        return None

    def after_value(self) -> tuple[int, str] | None:
        if "expected <block end>" not in self.problem or self.pmark is None:
            return None
        previous = self.tokens[-1] if self.tokens else None
        start = self.rest(self.pline, 0).split(": ", 1)[-1]
        if isinstance(previous, yaml.ScalarToken) and previous.style in ('"', "'"):
            return self.pline, ("text follows the closing quote; a quoted value must end at "
                                f"its quote: {_QUOTE_IT} (use ' ' around a text that contains \")")
        if isinstance(previous, (yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)):
            char = "{" if isinstance(previous, yaml.FlowMappingEndToken) else "["
            return self.pline, (f"a value starting with {char} is read as a {char}...{_CLOSE[char]} group, "
                                f'not as text; if {char} is part of the text, {_QUOTE_IT}: "{start}"')
        return None


def _spaces(n: int) -> str:
    return f"{n} space" + ("" if n == 1 else "s")
