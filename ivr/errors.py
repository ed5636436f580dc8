"""Every error the toolkit raises on purpose.

    IVRError                 the root: the CLI prints it as "Error: ..." and exits non-zero
    ├── MenuError            a menu file that cannot be served (carries every Problem found)
    ├── ScriptError          a simulator script or option that cannot be understood
    └── GraphError           a diagram that cannot be drawn (Graphviz missing or failing)

Front ends catch IVRError; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about a menu file, pointing at the line to fix."""

    file: str
    line: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


class IVRError(Exception):
    """Root of the toolkit's own errors."""


class MenuError(IVRError):
    """The menu file has errors; `problems` lists all of them, each with file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "invalid menu")


class ScriptError(IVRError):
    """A simulator script token, date or option that cannot be understood."""


class GraphError(IVRError):
    """A menu diagram cannot be drawn: Graphviz (the package or its programs) is missing or failed."""
