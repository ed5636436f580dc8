"""The `ivr` command: one click group, each subcommand a thin adapter over the library."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import secrets
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from .audio import default_prompts_dir
from .describe import outcome
from .errors import GraphError, IVRError, MenuError, Problem, ScriptError
from .lint import recording_problems
from .loader import check_file, load_menu
from .menu import LanguageNode, Menu, default_menu_path

# What only some commands need is imported inside them: `ivr lint` starts without the engine
# (transitions), and neither it nor `ivr sim` loads Flask, werkzeug and twilio (the service),
# the scenario runner or the checker.
if TYPE_CHECKING:
    from .audio import PromptText
    from .scenarios import FileRun, Outcome, Runner
    from .simulator import Event, Line, Token

MENU_HELP = "Menu file (default: $IVR_MENU or menus/free_dial.yaml)."
ZONE_NAMES = {"Asia/Tokyo": "Japan time"}


class Project:
    """What every subcommand shares (`ctx.obj`): the menu file, loaded once when first asked for."""

    def __init__(self, menu_path: Path | None = None) -> None:
        self.menu_path = menu_path
        self._menu: Menu | None = None

    @property
    def path(self) -> Path:
        return self.menu_path or default_menu_path()

    def choose(self, menu_path: Path) -> None:
        self.menu_path, self._menu = menu_path, None

    def menu(self) -> Menu:
        if self._menu is None:
            try:
                self._menu = load_menu(self.path)
            except MenuError as exc:
                raise click.ClickException(f"the menu cannot be used:\n{exc}") from None
        return self._menu


def menu_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--menu` after the subcommand as well: `ivr sim --menu m.yaml` is `ivr --menu m.yaml sim`.

    Eager, so options that read the menu (such as --at, for its time zone) see the one chosen here."""

    def remember(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            ctx.ensure_object(Project).choose(value)

    return click.option("--menu", type=click.Path(path_type=Path), expose_value=False, is_eager=True,
                        callback=remember, help=MENU_HELP)(command)


def menu_argument(command: Callable[..., Any]) -> Callable[..., Any]:
    """The menu file as a plain argument too, for the commands that read only a menu
    (`ivr lint menus/x.yaml`, as operators and scripts have typed it): the same as --menu."""

    def remember(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            ctx.ensure_object(Project).choose(value)

    return click.argument("menu_file", metavar="[MENU]", required=False, type=click.Path(path_type=Path), expose_value=False,
                          is_eager=True, callback=remember)(command)


class CallTime(click.ParamType):
    """`--at`: an ISO date-time, as an aware datetime in the menu's time zone."""

    name = "datetime"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        project = ctx.find_object(Project) if ctx is not None else None
        zone = (project or Project()).menu().menu.timezone
        try:
            from .simulator import parse_time

            return parse_time(str(value), zone)
        except ScriptError as exc:
            self.fail(str(exc), param, ctx)


@click.group("ivr", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--menu", "menu_path", type=click.Path(path_type=Path), envvar="IVR_MENU", help=MENU_HELP)
@click.version_option(package_name="ivr-toolkit", prog_name="ivr", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, menu_path: Path | None) -> None:
    """Voice IVR toolkit: lint, check, simulate and serve a YAML phone menu.

    Every command works on one menu file: --menu PATH, before or after the command's name
    (default: $IVR_MENU, else menus/free_dial.yaml).
    """
    ctx.obj = Project(menu_path)


@cli.command()
@menu_argument
@menu_option
@click.pass_obj
def lint(project: Project) -> None:
    """Check the menu file and list every problem with file:line; exit 1 on any error."""
    path = project.path
    loaded, problems = check_file(path)
    if loaded is not None:
        problems += recording_problems(loaded, default_prompts_dir(path))
    for problem in problems:
        click.echo(str(problem))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        click.echo(f"{path}: {errors} error(s), {warnings} warning(s)")
        sys.exit(1)
    click.echo(f"{path}: OK" + (f" ({warnings} warning(s))" if warnings else ""))


@cli.command("lines")
@click.argument("lines_file", metavar="[LINES]", required=False, type=click.Path(path_type=Path))
@menu_option
@click.pass_obj
def lines_command(project: Project, lines_file: Path | None) -> None:
    """Check the line mapping (default: lines.yaml beside the menu) and every menu it names, with
    file:line, and say which menu answers each number; exit 1 on any error."""
    from .lines import LineMap, check_lines, default_lines_path

    path = lines_file or default_lines_path(project.path)
    problems: list[Problem] = []
    lines = LineMap()
    if path.exists():
        checked, problems = check_lines(path)
        lines = checked or lines
    for number, name in lines.numbers.items():
        problems += [p for p in check_file(path.parent / name)[1] if p.severity == "error"]
    for problem in problems:
        click.echo(str(problem))
    for number, name in lines.numbers.items():
        click.echo(f"  {number} -> {path.parent / name}")
    click.echo(f"  any other number -> {project.path}")
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        click.echo(f"{path}: {errors} error(s)")
        sys.exit(1)
    click.echo(f"{path}: OK" if path.exists() else f"{path}: no such file, so every number gets {project.path}")


@cli.command()
@menu_option
@click.option("--script", help='Inputs to play, e.g. "2 5 wait 1 say:yes" (keys, wait, say:TEXT, busy, hangup).')
@click.option("--at", "at", type=CallTime(),
              help="When the call is made, e.g. 2026-12-07T10:00 (in the menu's time zone unless an offset is "
                   "given, as in 2026-12-07T10:00+09:00; default: now).")
@click.option("--lang", help="Preselect a language (skips a first language-choice node).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line for each event.")
@click.option("--url", help="Play the call against a running TwiML service, as Twilio would.")
@click.option("--in-process", is_flag=True,
              help="Play the call through the service's webhooks and TwiML (ivr.voice), in this process.")
@click.option("--auth-token", envvar="IVR_TWILIO_AUTH_TOKEN", help="Sign --url requests like Twilio.")
@click.option("--public-url", envvar="IVR_PUBLIC_URL",
              help="The URL Twilio calls, to sign for when --url reaches the server another way.")
@click.option("--speak", is_flag=True, help="Also say each prompt aloud (pyttsx3), where the machine has audio.")
@click.pass_obj
def sim(project: Project, script: str | None, at: dt.datetime | None, lang: str | None, as_json: bool,
        url: str | None, in_process: bool, auth_token: str | None, public_url: str | None, speak: bool) -> None:
    """Place a simulated call. Without --script, type keys; Enter alone is silence; words are speech; q hangs up.

    By default the call runs through the engine; --in-process and --url run it through the
    TwiML service instead (with --url, --at needs a server started with IVR_ALLOW_CLOCK_HEADER=true).
    """
    from .engine import Engine
    from .simulator import EngineLine, interactive, parse_script, parse_time, play

    menu = project.menu()
    typing = script is None
    try:
        zone = menu.menu.timezone
        when = at or parse_time(None, zone)
        tokens: Iterable[Token] = parse_script(script) if script is not None else interactive(_read)
        _check_lang(menu, lang)
        line: Line
        if url or in_process:
            from .voice import Voice
            from .wire import WireLine, http_transport, voice_transport
        if url:
            line = WireLine(http_transport(url, auth_token, at, public_url), menu)
        elif in_process:
            line = WireLine(voice_transport(Voice.local(project.path, lambda: when)), menu)
        else:
            line = EngineLine(Engine(menu), when)
        if not as_json:
            moment = when.isoformat(timespec="minutes")
            if at is None:
                moment += f" (now, {ZONE_NAMES.get(zone, zone + ' time')}; use --at to choose)"
            _show(f"Call to {menu.menu.name} (menu version {menu.menu.version}) at {moment}", "", "  ", bold=True)
            if typing:
                _show("Type keys and Enter; Enter alone is silence, words are speech, q hangs up.", "", "  ", dim=True)
        if speak:
            from .speaker import Speaker
        speaker = Speaker(menu, lambda text: click.secho(f"note: {text}", err=True, fg="yellow")) if speak else None
        last: Event | None = None
        try:
            for event in play(line, tokens, lang):
                if as_json:
                    click.echo(json.dumps(event, ensure_ascii=False))
                else:
                    _human(event, typing)
                if event["type"] != "note":
                    last = event
                if speaker:
                    speaker(event)
        finally:
            if speaker:
                speaker.close()
        if not as_json and last is not None and last["type"] == "transfer":
            _show("-> staff answered: the call is theirs; end of the simulation", "", "   ", bold=True)
    except IVRError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def prompts() -> None:
    """Prompt audio: render with espeak-ng, keep studio recordings."""


@prompts.command()
@menu_option
@click.option("--out", "root", type=click.Path(path_type=Path), help="Prompts folder (default: prompts/).")
@click.option("--workers", type=click.IntRange(1, 32), help="Parallel renderers (default: up to 4).")
@click.pass_obj
def render(project: Project, root: Path | None, workers: int | None) -> None:
    """Render every prompt in every language into PROMPTS/<lang>/<prompt>.wav (8 kHz mu-law).

    Shows a progress bar on stderr when it is a terminal."""
    from .audio import render as render_all  # loads the synthesiser only when asked

    menu = project.menu()
    root = root or default_prompts_dir(project.path)

    def progress(prompts: Iterable[PromptText]) -> Iterator[PromptText]:
        items = list(prompts)
        with click.progressbar(items, label=f"Rendering {len(items)} prompt(s)", file=sys.stderr,
                               item_show_func=lambda item: item.key if item else "") as bar:
            yield from bar

    try:
        report = render_all(menu, root, workers, progress if _tty(sys.stderr) else None)
    except (ImportError, RuntimeError, OSError) as exc:
        raise click.ClickException(f"cannot render: {exc}; is espeak-ng installed (apt-get install espeak-ng)?") from None
    click.echo(f"{root}: {len(report.rendered)} rendered, {report.unchanged} unchanged, "
               f"{len(report.recorded)} studio recording(s) kept")
    for key in report.stale_recordings:
        click.echo(f"  recording {key}.wav was made for an older text: record it again (it is not played)")
    for key in report.removed:
        click.echo(f"  {key}: no longer in the menu; its file can be deleted")


@cli.command("check")
@menu_argument
@menu_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_obj
def check_command(project: Project, as_json: bool) -> None:
    """Play every path a caller can take, in every language, at representative times.

    Reports keys that make the engine fail, prompts said empty or with a {placeholder} left,
    nodes no caller reaches, silent callers who are never let go, and per language the
    longest call (worst case) and a silent caller's call, in seconds. Exit 1 on any problem.
    Shows its progress on stderr when it is a terminal (not with --json).
    """
    from .check import check, format_report, report_json

    menu = project.menu()
    with contextlib.ExitStack() as stack:
        bars: list[Any] = []  # the progress bar, made when check() says how many moments it explores

        def progress(done: int, total: int, label: str) -> None:
            if not bars:
                bars.append(stack.enter_context(click.progressbar(
                    length=total, label="Checking every path", file=sys.stderr, show_pos=True,
                    item_show_func=lambda item: f"at {item}" if item else "")))
            bar = bars[0]
            bar.current_item = label
            bar.make_step(done - bar.pos)
            bar.render_progress()  # also at a step of 0: the moment being explored is shown at once

        report = check(menu, progress if _tty(sys.stderr) and not as_json else None)
    click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2) if as_json else format_report(report))
    if report.problems:
        sys.exit(1)


@cli.command("test")
@menu_option
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--coverage", "with_coverage", is_flag=True,
              help="Also list the nodes, keys and prompts that no scenario exercised (engine path).")
@click.pass_obj
def test_command(project: Project, paths: tuple[Path, ...], with_coverage: bool) -> None:
    """Play the scenarios in PATHS (YAML files or folders; default tests/scenarios) through the engine
    and through the TwiML service; exit 1 unless every scenario passes on both. A folder's
    subfolder named after a menu (tests/scenarios/city/ for menus/city.yaml) is that menu's.

    The format is in docs/scenarios.md.
    """
    from .menu_coverage import Coverage
    from .scenarios import Runner, default_scenario_dir, scenario_files, summary

    menu = project.menu()
    files = scenario_files(paths or [default_scenario_dir()], project.path)
    if not files:
        raise click.ClickException(f"no scenario files (*.yaml) in {', '.join(map(str, paths)) or 'tests/scenarios'}")
    coverage = Coverage(menu) if with_coverage else None
    runs = _run_scenarios(Runner(menu, project.path, coverage), files)
    failures = [o for run in runs for by_path in run.outcomes for o in by_path.values() if not o.passed]
    if failures:
        click.secho("\nFailures", bold=True)
        for outcome in failures:
            click.echo(outcome.report() + "\n")
    passed = all(run.passed for run in runs)
    click.secho("\n" + summary(runs), fg="green" if passed else "red", bold=True)
    if coverage is not None:
        click.echo("\n" + coverage.report())
    sys.exit(0 if passed else 1)


def _run_scenarios(runner: Runner, files: list[Path]) -> list[FileRun]:
    """Play each file, printing a line per scenario as it goes."""
    from .scenarios import run_file

    menu = runner.menu
    click.secho(f"Scenarios for {menu.menu.name} (menu version {menu.menu.version}, {runner.menu_path})", bold=True)
    runs: list[FileRun] = []
    for file in files:
        runs.append(run_file(runner, file))
        click.echo(str(file))
        for problem in runs[-1].problems:
            click.secho(f"  {problem}", fg="red")
        for by_path in runs[-1].outcomes:
            marks = "  ".join(_mark(outcome) + " " + name for name, outcome in by_path.items())
            click.echo(f"  {marks}  {next(iter(by_path.values())).scenario.name}")
    return runs


def _mark(outcome: Outcome) -> str:
    return click.style("PASS", fg="green") if outcome.passed else click.style("FAIL", fg="red", bold=True)


@cli.command()
@menu_argument
@menu_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write, e.g. menu.svg; its suffix gives the format.")
@click.option("--format", "fmt", help="svg, png, pdf or dot (the Graphviz source), when the suffix does not say.")
@click.option("--layout", help="Graphviz layout: dot, sfdp or neato (default: dot for small menus, sfdp for large).")
@click.pass_obj
def graph(project: Project, output: Path, fmt: str | None, layout: str | None) -> None:
    """Draw the menu as a diagram: a shape and colour per node type, keys on the edges,
    transfers marked 24/7 or with their hours, and the keys that work everywhere in a legend.

    Needs Graphviz (apt-get install graphviz) and the graph extra (pip install -e '.[graph]').
    """
    from . import graph as diagrams  # optional: Graphviz is looked for only here

    fmt = (fmt or output.suffix.lstrip(".")).lower()
    if fmt not in diagrams.FORMATS:
        raise click.BadParameter(f"cannot draw {fmt!r}; use {', '.join(diagrams.FORMATS)} "
                                 "(a suffix of -o, or --format)", param_hint="-o/--format")
    if layout is not None and layout not in diagrams.LAYOUTS:
        raise click.BadParameter(f"{layout!r} is not one of {', '.join(diagrams.LAYOUTS)}", param_hint="--layout")
    if not output.parent.is_dir():
        raise click.ClickException(f"cannot write {output}: the folder {output.parent} does not exist; "
                                   "create it first or choose another -o")
    loaded = project.menu()
    try:
        drawing = diagrams.build(loaded, layout)
        output.write_bytes(diagrams.draw(drawing, fmt))
    except (GraphError, OSError) as exc:
        raise click.ClickException(f"cannot draw {output}: {exc}") from None
    click.echo(f"{output}: {len(loaded.nodes)} nodes, {fmt}, {drawing.engine} layout")


@cli.command()
@menu_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--allow-unsigned", is_flag=True,
              help="Take webhooks without a Twilio signature (local testing only; as IVR_ALLOW_UNSIGNED=true).")
@click.pass_obj
def serve(project: Project, host: str, port: int, allow_unsigned: bool) -> None:
    """Serve the Twilio webhooks on this machine, for local use (werkzeug's development server).

    Configured like the production service, by IVR_* environment variables (see README): without
    IVR_TWILIO_AUTH_TOKEN, start it with --allow-unsigned. Try it with
    `ivr sim --url http://127.0.0.1:8000`. Production runs the same app under gunicorn,
    behind HTTPS: `gunicorn app:app` (see README, "Serving real calls").
    """
    from werkzeug.serving import run_simple

    menu = project.menu()  # its problems with file:line, before anything starts
    _log_to_stderr()
    config: dict[str, Any] = {}
    if allow_unsigned:
        config["ALLOW_UNSIGNED"] = True
        if not os.environ.get("IVR_STATE_SECRET"):  # one process: its own key is enough (no warning about workers)
            config["STATE_SECRET"] = secrets.token_hex(16)
    try:
        from .web import create_app

        app = create_app(str(project.path), config=config)
    except IVRError as exc:
        raise click.ClickException(str(exc)) from None
    except RuntimeError as exc:  # no auth token and no --allow-unsigned
        raise click.ClickException(f"{exc} (here: ivr serve --allow-unsigned)") from None
    click.echo(f"Serving {menu.menu.name} (menu version {menu.menu.version}, {project.path}) at "
               f"http://{host}:{port}/voice for local use; production runs gunicorn app:app (see README)", err=True)
    run_simple(host, port, app, threaded=True)


def _log_to_stderr() -> None:
    """The service's own lines (each call's steps, menu changes taken or refused) on stderr, at INFO,
    unless the host configured the `ivr` logger itself."""
    ours = logging.getLogger("ivr")
    if ours.handlers or ours.level != logging.NOTSET:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)


def _check_lang(menu: Menu, lang: str | None) -> None:
    if lang is None:
        return
    if lang not in menu.languages:
        raise click.BadParameter(f"{lang!r} is not one of {', '.join(menu.languages)}", param_hint="--lang")
    if not isinstance(menu.nodes[menu.menu.start], LanguageNode):
        raise click.BadParameter("this menu does not start with a language choice", param_hint="--lang")


def _read(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


def _tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _human(event: Event, typing: bool) -> None:
    """Print one event of `ivr sim` as staff read it, wrapped to the terminal."""
    kind = event["type"]
    if kind == "say":
        first = f"  [{event['lang']}] "
        _show(str(event["text"]), first, " " * len(first))
    elif kind == "listen":
        _show(outcome(event, f"silence after {event['timeout']} s"), "  ", "      ", dim=True)
    elif kind == "input":
        shown = {"key": f"{event.get('value')}", "speech": f"say: {event.get('value')}",
                 "silence": "(silence)", "hangup": "(hang up)", "busy": "(no answer)"}[str(event["kind"])]
        if not typing:
            _show(shown, "> ", "  ")
    elif kind == "transfer":
        _show(outcome(event), "", "   ", fg="green", bold=True)
        if typing:
            _show("(Enter: staff answer and the call ends; busy: nobody answers; q: hang up)", "  ", "   ")
    elif kind == "hangup":
        _show(outcome(event), "", "   ", fg="yellow", bold=True)
    else:
        _show(f"note: {event['text']}", "  ", "        ", dim=True)


def _show(text: str, first: str, rest: str, **style: Any) -> None:
    """Echo `text` wrapped to the width of the output, `first` before its first line and `rest`
    before the others; styled line by line."""
    width = _width()
    lines = wrap(text, width, first, rest) if width else [first + text]
    for line in lines:
        click.echo(click.style(line, **style) if style else line)


def _width() -> int | None:
    """Columns to wrap to: $COLUMNS if set, else the terminal's when the output is one; else none
    (a file or a pipe gets each utterance on one line)."""
    asked = os.environ.get("COLUMNS", "")
    if asked.isdigit() and int(asked) > 0:
        return int(asked)
    return shutil.get_terminal_size().columns if _tty(sys.stdout) else None


# Characters a line may not start with (closing punctuation, small kana, the prolonged sound mark),
# and those it may not end with (opening brackets): Japanese line breaking rules, kept simple.
_NO_START = frozenset("、。，．,.:;!?・：；？！)]}）」』】〕〉》”’ーゝゞ々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ")
_NO_END = frozenset("([{（「『【〔〈《“‘")


def columns(text: str) -> int:
    """How many terminal columns `text` takes: two for each wide (CJK) character."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def _chunks(text: str) -> list[str]:
    """`text` cut where a line may break: at spaces (kept as " "), and between any two CJK
    characters, which need no spaces; never before closing or after opening punctuation."""
    chunks: list[str] = []
    for ch in text:
        if ch.isspace():
            if chunks and chunks[-1] != " ":
                chunks.append(" ")
            continue
        wide = columns(ch) == 2
        previous = chunks[-1] if chunks and chunks[-1] != " " else ""
        joins = previous and (ch in _NO_START or previous[-1] in _NO_END
                              or (not wide and columns(previous[-1]) == 1))
        if joins:
            chunks[-1] += ch
        else:
            chunks.append(ch)
    return chunks


def wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """`text` in lines of at most `width` columns (CJK characters count two), `first` before the
    first line and `rest` before the others; a word longer than a line is cut."""
    width = max(width, columns(rest) + 10, columns(first) + 10)
    lines: list[str] = []
    line, used, space = first, columns(first), False
    for chunk in _chunks(text):
        if chunk == " ":
            space = True
            continue
        gap = 1 if space and line.strip() else 0
        space = False
        size = columns(chunk)
        if used + gap + size > width and line.strip():
            lines.append(line.rstrip())
            line, used, gap = rest, columns(rest), 0
        while used + gap + size > width:  # longer than a whole line: cut it
            cut, fits = 0, width - used - gap
            while cut < len(chunk) and columns(chunk[:cut + 1]) <= fits:
                cut += 1
            lines.append(line + " " * gap + chunk[:cut])
            chunk, size = chunk[cut:], columns(chunk[cut:])
            line, used, gap = rest, columns(rest), 0
        line += " " * gap + chunk
        used += gap + size
    lines.append(line.rstrip() if line.strip() else first.rstrip())
    return lines


def main() -> None:
    cli(prog_name="ivr")


# -- call records ---------------------------------------------------------------------
DATABASE_HELP = "Records database URL (default: $IVR_DATABASE_URL, else an SQLite file of this user's)."
_AGE_UNITS = {"d": 86400, "h": 3600, "w": 7 * 86400}


@cli.command("report")
@menu_option
@click.option("--since", type=CallTime(), help="Calls that started at or after this (e.g. 2022-06-30; menu time).")
@click.option("--until", type=CallTime(), help="... and before this (e.g. 2022-07-09: up to the end of July 8).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--section", "sections", multiple=True,
              help="Only this table (repeatable): summary, days, hours, main_menu, funnel, transfers, points, revisions.")
@click.option("--database", envvar="IVR_DATABASE_URL", help=DATABASE_HELP)
@click.pass_obj
def report_command(project: Project, since: dt.datetime | None, until: dt.datetime | None, fmt: str,
                   sections: tuple[str, ...], database: str | None) -> None:
    """What callers did: calls per day and hour by language, the main menu's choices, node by
    node where callers leave or give up, transfers per desk, the points check, menu revisions."""
    from .database import Database, shown
    from .report import render, report

    menu = project.menu()
    zone = ZoneInfo(menu.menu.timezone)
    start = since or dt.datetime(1970, 1, 1, tzinfo=zone)
    end = until or dt.datetime.now(zone) + dt.timedelta(days=1)
    db = Database(database)
    try:
        result = report(db, menu, start, end)
    except Exception as exc:  # noqa: BLE001 - a database that cannot be read: say which and why
        raise click.ClickException(f"cannot read the records in {shown(str(db.url))}: {type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    unknown = set(sections) - {t.name for t in result.tables}
    if unknown:
        raise click.BadParameter(f"no section {', '.join(sorted(unknown))}", param_hint="--section")
    click.echo(render(result, fmt, sections), nl=False)


@cli.group()
def records() -> None:
    """Call records: make a simulated surge, prune old ones, migrate the database."""


@records.command("simulate")
@menu_option
@click.option("--calls", default=1000, show_default=True, type=click.IntRange(1, 10_000_000))
@click.option("--since", type=CallTime(), help="First day of the surge (default: a week before --until).")
@click.option("--until", type=CallTime(), help="End of the surge (default: now).")
@click.option("--seed", default=1, show_default=True, help="The same seed plays the same calls.")
@click.option("--database", envvar="IVR_DATABASE_URL", help=DATABASE_HELP)
@click.pass_obj
def records_simulate(project: Project, calls: int, since: dt.datetime | None, until: dt.datetime | None, seed: int,
                     database: str | None) -> None:
    """Play CALLS simulated calls through the real service into the records database: a surge
    that fades over the days, six languages, silences, wrong keys, hang-ups, busy desks."""
    from .database import Database, shown
    from .recorder import Recorder
    from .surge import simulate

    zone = ZoneInfo(project.menu().menu.timezone)
    end = until or dt.datetime.now(zone)
    start = since or end - dt.timedelta(days=7)
    if start >= end:
        raise click.BadParameter("--since must come before --until", param_hint="--since")
    db = Database(database)
    recorder = Recorder(db, background=False)
    tally = simulate(project.path, recorder, calls, start, end, seed)
    recorder.flush()
    if recorder.lost:
        raise click.ClickException(f"{recorder.lost} records could not be written to {shown(str(db.url))}: "
                                   f"{recorder.last_error}")
    answered, offered = sum(tally.answered.values()), sum(tally.offered.values())
    click.echo(f"{tally.calls} calls from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({zone.key}) into "
               f"{shown(str(db.url))}: {offered} transfers ({answered} answered), {tally.hung_up} hung up; "
               "see `ivr report`")


@records.command("prune")
@click.option("--older-than", "age", required=True, help="e.g. 90d (days), 12w (weeks) or 48h (hours).")
@click.option("--database", envvar="IVR_DATABASE_URL", help=DATABASE_HELP)
def records_prune(age: str, database: str | None) -> None:
    """Delete calls that started, and steps taken, longer ago than --older-than (retention)."""
    from .database import Database
    from .recorder import prune

    unit = age[-1:].lower()
    if unit not in _AGE_UNITS or not age[:-1].isdigit():
        raise click.BadParameter(f"{age!r}: write a number and d, w or h, e.g. 90d", param_hint="--older-than")
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=int(age[:-1]) * _AGE_UNITS[unit])
    calls, steps = prune(Database(database), cutoff)
    click.echo(f"deleted {calls} calls and {steps} steps from before {cutoff:%Y-%m-%d %H:%M} UTC")


@records.command("migrate")
@click.option("--database", envvar="IVR_DATABASE_URL", help=DATABASE_HELP)
def records_migrate(database: str | None) -> None:
    """Create or upgrade the records tables (the service also does it when it first writes)."""
    from .database import Database, shown

    db = Database(database)
    db.migrate()
    click.echo(f"{shown(str(db.url))}: tables up to date")


# -- the dashboard ----------------------------------------------------------------------
@cli.group("dashboard", invoke_without_command=True)
@menu_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--password", envvar="IVR_DASHBOARD_PASSWORD",
              help="The password for this run (default: IVR_DASHBOARD_PASSWORD_HASH's, else asked for).")
@click.option("--simulate", "calls", type=click.IntRange(1, 1_000_000),
              help="First play this many simulated calls of the surge of 2022-06-30 to 07-09 into the database.")
@click.option("--database", envvar="IVR_DATABASE_URL", help=DATABASE_HELP)
@click.pass_context
def dashboard(ctx: click.Context, host: str, port: int, password: str | None, calls: int | None,
              database: str | None) -> None:
    """Open the operator's dashboard on this machine, over the call records (default: the SQLite
    file of `ivr records simulate`), and print its URL. `ivr dashboard --simulate 5000` shows a
    surge on an empty database. Production serves it from the app itself (README, "Dashboard")."""
    if ctx.invoked_subcommand is not None:
        return
    from werkzeug.security import generate_password_hash
    from werkzeug.serving import run_simple

    from .web import create_app

    project: Project = ctx.obj
    menu = project.menu()
    config: dict[str, Any] = {"DATABASE_URL": database}
    if password or not os.environ.get("IVR_DASHBOARD_PASSWORD_HASH"):
        password = password or click.prompt("A password for this dashboard", hide_input=True, confirmation_prompt=True)
        config["DASHBOARD_PASSWORD_HASH"] = generate_password_hash(password)
    if not (os.environ.get("IVR_TWILIO_AUTH_TOKEN") or os.environ.get("IVR_TWILIO_SHARED_KEY")):
        config["ALLOW_UNSIGNED"] = True  # webhooks on 127.0.0.1 only, as `ivr serve --allow-unsigned`
        config.setdefault("STATE_SECRET", os.environ.get("IVR_STATE_SECRET") or secrets.token_hex(16))
    query = ""
    if calls:
        ctx.invoke(records_simulate, calls=calls, since=dt.datetime(2022, 6, 30, tzinfo=ZoneInfo(menu.menu.timezone)),
                   until=dt.datetime(2022, 7, 9, tzinfo=ZoneInfo(menu.menu.timezone)), seed=1, database=database)
        query = "?since=2022-06-30&until=2022-07-09"
    _log_to_stderr()
    try:
        app = create_app(str(project.path), config=config)
    except IVRError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"The dashboard: http://{host}:{port}/dashboard/{query} (Ctrl-C stops it)", err=True)
    run_simple(host, port, app, threaded=True)


@dashboard.command("hash-password")
@click.password_option("--password", help="The password (asked for, twice, when not given).")
def hash_password(password: str) -> None:
    """Print a password's hash for IVR_DASHBOARD_PASSWORD_HASH (werkzeug's scrypt)."""
    from werkzeug.security import generate_password_hash

    click.echo(generate_password_hash(password))
