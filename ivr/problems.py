"""Pydantic's ValidationError as file:line Problems, in the words of the file's reader.

Both file formats (menus, `ivr.loader`; scenarios, `ivr.scenario_file`) validate with pydantic
and report through `schema_problems`. Pydantic's locations hold more than the path in the
file (the union tag `menu` in nodes.main.menu.choices, validator names such as
function-plain[...], `[key]` for a mapping key); those are dropped, each caller words the
path that is left (`where`), and the common error types are said plainly with the fix,
with "did you mean" for a misspelt field, node type or choice (`did_you_mean`).
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Callable, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import Problem
from .menu import Key, Text
from .source import Path, Source

Where = Callable[[Path], str]
_TAG = re.compile(r"^[\w-]+\[.*\]$")  # function-plain[_text()], function-after[...]
_QUOTED = re.compile(r"'([^']*)'")


def did_you_mean(word: object, options: Any, prefix: str = "; ") -> str:
    """'; did you mean "main"?' when `word` is close to one of `options`, else ''."""
    close = closest(word, options)
    return f'{prefix}did you mean "{close}"?' if close else ""


def closest(word: object, options: Any) -> str | None:
    """The option `word` is most likely a misspelling of, if any is close enough."""
    word, names = str(word), [str(o) for o in options]
    top = [n for n in names if n.lower() == word.lower()]
    if not top:
        scored = [(difflib.SequenceMatcher(None, word, n).ratio(), n) for n in names]
        best = max((score for score, _ in scored), default=0.0)
        # One letter off in a two-letter language code (jp for ja) is as close as two in a longer name.
        if best < (0.5 if len(word) <= 3 else 0.6):
            return None
        top = [n for score, n in scored if score == best]
        top = [n for n in top if n[:1] == word[:1]] or top  # a tie: the one that starts the same
    return top[0]


def schema_problems(source: Source, exc: ValidationError, root: Any, where: Where) -> list[Problem]:
    """Every error in `exc` (from validating `source.data` as `root`) as a Problem at its line."""
    errors = [_Error(source, err, root) for err in exc.errors()]
    # A misspelt required field is both unknown and missing: say it once, where it is written.
    fixed = {e.parent + (e.suggestion,) for e in errors if e.kind == "extra_forbidden" and e.suggestion}
    return [Problem(source.file, e.line, e.message(where)) for e in errors
            if not (e.kind == "missing" and e.path in fixed)]


class _Error:
    def __init__(self, source: Source, err: Any, root: Any) -> None:
        self.err = err
        self.kind: str = err["type"]
        self.loc = tuple(err["loc"])
        self.input = err.get("input")
        self.ctx = err.get("ctx") or {}
        self.path = _data_path(source.data, self.loc)
        self.parent = self.path[:-1]
        self.name = str(self.path[-1]) if self.path else ""
        self.tp = _type_at(root, self.loc)
        self.model = _model_at(root, self.loc[:-1]) if self.kind in ("extra_forbidden", "missing") else None
        self.fields = list(self.model.model_fields) if self.model is not None else []
        self.suggestion = (closest(self.name, self.fields) or "") if self.kind == "extra_forbidden" else ""
        at = self.path + ("type",) if self.kind == "union_tag_invalid" else self.path
        self.line = source.line(self.parent if self.kind == "missing" else at)

    def message(self, where: Where) -> str:
        kind, value, name = self.kind, self.input, self.name
        here = where(self.path)
        if kind == "extra_forbidden":
            hint = (f'did you mean "{self.suggestion}"?' if self.suggestion
                    else f"remove it, or use one of: {', '.join(self.fields)}" if self.fields else "remove it")
            return f'unknown field "{name}" in {where(self.parent)}; {hint}'
        if kind == "missing":
            return f'{where(self.parent)} has no "{name}"; add it'
        if kind == "union_tag_invalid":
            tags = _QUOTED.findall(str(self.ctx.get("expected_tags", "")))
            return (f"{here}: unknown node type {self.ctx.get('tag')!r}{did_you_mean(self.ctx.get('tag'), tags)} "
                    f"(use one of: {', '.join(tags)})")
        if kind == "union_tag_not_found":
            return f"{here} has no type; add type: (one of {', '.join(_union_tags(self.tp))})"
        if kind == "string_pattern_mismatch":
            return _pattern(here, name, value, str(self.ctx.get("pattern", "")))
        if kind == "string_type":
            return _not_text(here, name, value)
        if kind == "literal_error":
            options = _QUOTED.findall(str(self.ctx.get("expected", "")))
            return f"{here} must be {self.ctx.get('expected')}, not {value!r}{did_you_mean(value, options)}"
        if kind in ("dict_type", "model_type", "model_attributes_type"):
            return f"{here} must be a block of lines indented under it ({_example(self)}), not {_describe(value)}"
        if kind == "list_type":
            return f"{here} must be a list: [a, b] on one line, or one '- item' per line under it"
        if kind == "too_short":
            return f'{where(self.parent)} has nothing under "{name}"; give at least {self.ctx.get("min_length", 1)}'
        if kind in ("int_parsing", "int_type", "int_from_float"):
            return f"{here} must be a whole number, not {value!r}"
        if kind in ("bool_parsing", "bool_type"):
            return f"{here} must be true or false, not {value!r}"
        for bound, words in (("le", "at most"), ("ge", "at least"), ("lt", "less than"), ("gt", "more than")):
            if bound in self.ctx and kind.endswith(("_equal", "_than")):
                return f"{here} must be {words} {self.ctx[bound]}, not {value!r}"
        if kind.startswith("date_"):
            return f"{here}: {value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-07"
        if kind == "value_error" and isinstance(value, dict) and value and all(v is None for v in value.values()):
            text = "{" + ", ".join(value) + "}"
            return f'{here}: YAML read {text} as a {{...}} group, not as text; put the whole text in quotes: "{text}"'
        message = str(self.err["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
        return f"{here}: {message}"


# -- locations -----------------------------------------------------------------------------
def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """`loc` without pydantic's own parts: the path as it is written in the file."""
    path: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(data, dict) and str(part) in data:
            data = data[str(part)]
            path.append(str(part))
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
            path.append(part)
        elif i == len(loc) - 1 and isinstance(part, str) and part != "[key]" and not _TAG.match(part):
            path.append(part)  # a field that is missing from the file
        # anything else is a union tag (menu in nodes.main.menu), a validator's name or [key]
    return tuple(path)


def _inner(tp: Any) -> Any:
    """`tp` without Annotated[...] and without | None."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def _tag_of(model: Any) -> str | None:
    field = model.model_fields.get("type") if isinstance(model, type) and issubclass(model, BaseModel) else None
    if field is not None and get_origin(field.annotation) is Literal:
        return str(get_args(field.annotation)[0])
    return None


def _type_at(root: Any, loc: tuple[Any, ...]) -> Any:
    """The type pydantic validated at `loc` (following union tags), or None if it cannot be told."""
    tp = root
    for part in loc:
        tp = _inner(tp)
        if isinstance(part, str) and _TAG.match(part):
            continue
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[0] if part == "[key]" else get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if _tag_of(_inner(m)) == part]
            if not members:
                return None
            tp = members[0]
        else:
            return None
    return _inner(tp)


def _model_at(root: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    tp = _type_at(root, loc)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _union_tags(tp: Any) -> list[str]:
    members = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else ()
    return [tag for tag in (_tag_of(_inner(m)) for m in members) if tag]


# -- wording -------------------------------------------------------------------------------
_PATTERNS = {
    r"^[0-9*#]$": ("is not a key", 'use one key: 0-9, * or #, in quotes (e.g. "1")'),
    r"^[0-9*#]+$": ("is not a key", '{name} takes keys 0-9, * and # in quotes, e.g. {name}: "1"'),
    r"^[A-Za-z_][A-Za-z0-9_]*$": ("is not a node name", "node names are letters, digits and _, not starting with a digit"),
    r"^(\+\d{6,15}|sip:\S+|client:\S+)$": ("is not a number to dial",
                                            'write + and 6 to 15 digits in quotes (e.g. "+81120950178"), '
                                            "or sip:... or client:..."),
    r"^\+[1-9][0-9]{5,14}$": ("is not a number as Twilio sends it in To",
                              ("write + and the country code, then the number without its leading 0 or dashes, in "
                               'quotes (e.g. 0191-21-8633 is "+81191218633")')),
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.ya?ml$": ("is not a menu file in this folder",
                                             "name a .yaml file beside this one, without a folder (e.g. city.yaml)"),
}


def _pattern(here: str, name: str, value: Any, pattern: str) -> str:
    what, fix = _PATTERNS.get(pattern, ("is not allowed here", "it must match {pattern}"))
    fix = fix.format(name=name, pattern=pattern)  # the pattern itself may hold braces: {6,15}
    if "node name" in what:
        tidy = re.sub(r"\W+", "_", str(value)).strip("_")
        if tidy and re.match(pattern, tidy) and tidy != value:
            fix += f', e.g. "{tidy}"'
    return f"{here}: {value!r} {what}; {fix}"


def _not_text(here: str, name: str, value: Any) -> str:
    if isinstance(value, bool):
        return (f"{here}: YAML read this as {str(value).lower()} (unquoted, yes, no, on, off, true and false are "
                'true or false); put the word in quotes, e.g. "yes"')
    if isinstance(value, (int, float)):
        example = f'"+{value}"' if name == "to" else f'"{value}"'
        dropped = " (unquoted, YAML drops the +)" if name == "to" else ""
        return f"{here}: YAML read {value} as a number; put it in quotes, e.g. {name}: {example}{dropped}"
    if value is None:
        return f"{here}: nothing is written after the colon; write the text, or remove the line"
    return f"{here} must be a single text, not {_describe(value)}"


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a block of lines"
    if value is None:
        return "nothing"
    return repr(value)


def _example(error: _Error) -> str:
    """What the block should look like, from the type pydantic expected there."""
    tp = error.tp
    if get_origin(tp) is dict:
        key, value = get_args(tp)
        value = _inner(value)
        if key == Key:
            return 'one choice per line, e.g. "1": ...'
        if isinstance(value, type) and issubclass(value, Text):
            return "one text per language, e.g. en: Goodbye."
        if isinstance(value, type) and issubclass(value, BaseModel):
            return "one name: per entry, with its fields indented under it"
        return "one name: value per line"
    tags = _union_tags(tp)
    if tags:
        return f"type: one of {', '.join(tags)}, then its fields"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        needed = [name for name, field in tp.model_fields.items() if field.is_required()] or list(tp.model_fields)
        return "e.g. " + ", ".join(f"{name}: ..." for name in needed[:3])
    return "name: value"
