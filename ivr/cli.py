"""The `ivr` command: one click group, each subcommand a thin adapter over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable, Iterator

import click

from .audio import PromptText, default_prompts_dir
from .check import check, format_report, report_json
from .engine import Engine
from .errors import GraphError, IVRError, MenuError
from .lint import recording_problems
from .loader import check_file, load_menu
from .menu import LanguageNode, Menu, default_menu_path
from .menu_coverage import Coverage
from .scenarios import FileRun, Outcome, Runner, default_scenario_dir, run_file, scenario_files, summary
from .simulator import EngineLine, Event, Line, Token, interactive, parse_script, parse_time, play
from .speaker import Speaker
from .voice import Voice
from .wire import WireLine, http_transport, voice_transport

MENU_HELP = "Menu file (default: $IVR_MENU or menus/free_dial.yaml)."


@click.group()
def cli() -> None:
    """Voice IVR toolkit: lint, check, simulate and serve a YAML phone menu."""


def _load(path: Path | None) -> Menu:
    try:
        return load_menu(path)
    except MenuError as exc:
        raise click.ClickException(f"the menu cannot be used:\n{exc}") from None


@cli.command()
@click.argument("menu", required=False, type=click.Path(path_type=Path))
def lint(menu: Path | None) -> None:
    """Check MENU and list every problem with file:line; exit 1 on any error."""
    path = menu or default_menu_path()
    loaded, problems = check_file(path)
    if loaded is not None:
        problems += recording_problems(loaded, default_prompts_dir(path))
    for problem in problems:
        click.echo(str(problem))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        click.echo(f"{path}: {errors} error(s), {warnings} warning(s)", err=True)
        sys.exit(1)
    click.echo(f"{path}: OK" + (f" ({warnings} warning(s))" if warnings else ""))


@cli.command()
@click.option("--menu", "menu_path", type=click.Path(path_type=Path), help=MENU_HELP)
@click.option("--script", help='Inputs to play, e.g. "2 5 wait 1 say:yes" (keys, wait, say:TEXT, busy, hangup).')
@click.option("--at", "at", help="When the call is made, e.g. 2026-12-07T10:00+09:00 (default: now, menu's time zone).")
@click.option("--lang", help="Preselect a language (skips a first language-choice node).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line for each event.")
@click.option("--url", help="Play the call against a running TwiML service, as Twilio would.")
@click.option("--in-process", is_flag=True, help="Play the call through the TwiML service, in this process.")
@click.option("--auth-token", envvar="IVR_TWILIO_AUTH_TOKEN", help="Sign --url requests like Twilio.")
@click.option("--public-url", envvar="IVR_PUBLIC_URL",
              help="The URL Twilio calls, to sign for when --url reaches the server another way.")
@click.option("--speak", is_flag=True, help="Also say each prompt aloud (pyttsx3), where the machine has audio.")
def sim(menu_path: Path | None, script: str | None, at: str | None, lang: str | None, as_json: bool,
        url: str | None, in_process: bool, auth_token: str | None, public_url: str | None, speak: bool) -> None:
    """Place a simulated call. Without --script, type keys; Enter alone is silence; words are speech; q hangs up.

    By default the call runs through the engine; --in-process and --url run it through the
    TwiML service instead (with --url, --at needs a server started with IVR_ALLOW_CLOCK_HEADER=true).
    """
    menu = _load(menu_path)
    try:
        when = parse_time(at, menu.menu.timezone)
        tokens: Iterable[Token] = parse_script(script) if script is not None else interactive(_read)
        _check_lang(menu, lang)
        line: Line
        if url:
            line = WireLine(http_transport(url, auth_token, when if at else None, public_url), menu)
        elif in_process:
            line = WireLine(voice_transport(Voice.local(menu_path or default_menu_path(), lambda: when)), menu)
        else:
            line = EngineLine(Engine(menu), when)
        if not as_json:
            click.secho(f"Call to {menu.menu.name} (menu version {menu.menu.version}) at "
                        f"{when.isoformat(timespec='minutes')}", bold=True)
        speaker = Speaker(menu, lambda text: click.secho(f"note: {text}", err=True, fg="yellow")) if speak else None
        try:
            for event in play(line, tokens, lang):
                shown = json.dumps(event, ensure_ascii=False) if as_json else _human(event, script is None)
                if shown:
                    click.echo(shown)
                if speaker:
                    speaker(event)
        finally:
            if speaker:
                speaker.close()
    except IVRError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def prompts() -> None:
    """Prompt audio: render with espeak-ng, keep studio recordings."""


@prompts.command()
@click.option("--menu", "menu_path", type=click.Path(path_type=Path), help=MENU_HELP)
@click.option("--out", "root", type=click.Path(path_type=Path), help="Prompts folder (default: prompts/).")
@click.option("--workers", type=click.IntRange(1, 32), help="Parallel renderers (default: up to 4).")
def render(menu_path: Path | None, root: Path | None, workers: int | None) -> None:
    """Render every prompt in every language into PROMPTS/<lang>/<prompt>.wav (8 kHz mu-law)."""
    from .audio import render as render_all  # loads the synthesiser only when asked

    path = menu_path or default_menu_path()
    menu = _load(path)
    root = root or default_prompts_dir(path)

    def progress(prompts: Iterable[PromptText]) -> Iterator[PromptText]:
        items = list(prompts)
        with click.progressbar(items, label=f"Rendering {len(items)} prompt(s)", file=sys.stderr,
                               item_show_func=lambda item: item.key if item else "") as bar:
            yield from bar

    try:
        report = render_all(menu, root, workers, progress)
    except (ImportError, RuntimeError, OSError) as exc:
        raise click.ClickException(f"cannot render: {exc}; is espeak-ng installed (apt-get install espeak-ng)?") from None
    click.echo(f"{root}: {len(report.rendered)} rendered, {report.unchanged} unchanged, "
               f"{len(report.recorded)} studio recording(s) kept")
    for key in report.stale_recordings:
        click.echo(f"  recording {key}.wav was made for an older text: record it again (it is not played)")
    for key in report.removed:
        click.echo(f"  {key}: no longer in the menu; its file can be deleted")


@cli.command("check")
@click.argument("menu", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def check_command(menu: Path | None, as_json: bool) -> None:
    """Play every path a caller can take in MENU, in every language, at representative times.

    Reports keys that make the engine fail, prompts said empty or with a {placeholder} left,
    nodes no caller reaches, silent callers who are never let go, and per language the
    longest call (worst case) and a silent caller's call, in seconds. Exit 1 on any problem.
    """
    report = check(_load(menu))
    click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2) if as_json else format_report(report))
    if report.problems:
        sys.exit(1)


@cli.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--menu", "menu_path", type=click.Path(path_type=Path), help=MENU_HELP)
@click.option("--coverage", "with_coverage", is_flag=True,
              help="Also list the nodes, keys and prompts that no scenario exercised (engine path).")
def test_command(paths: tuple[Path, ...], menu_path: Path | None, with_coverage: bool) -> None:
    """Play the scenarios in PATHS (YAML files or folders; default tests/scenarios) through the engine
    and through the TwiML service; exit 1 unless every scenario passes on both.

    The format is in docs/scenarios.md.
    """
    path = menu_path or default_menu_path()
    menu = _load(path)
    files = scenario_files(paths or [default_scenario_dir()])
    if not files:
        raise click.ClickException(f"no scenario files (*.yaml) in {', '.join(map(str, paths)) or 'tests/scenarios'}")
    coverage = Coverage(menu) if with_coverage else None
    runs = _run_scenarios(Runner(menu, path, coverage), files)
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
@click.argument("menu", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write, e.g. menu.svg; its suffix gives the format.")
@click.option("--format", "fmt", help="svg, png, pdf or dot (the Graphviz source), when the suffix does not say.")
@click.option("--layout", help="Graphviz layout: dot, sfdp or neato (default: dot for small menus, sfdp for large).")
def graph(menu: Path | None, output: Path, fmt: str | None, layout: str | None) -> None:
    """Draw MENU as a diagram: a shape and colour per node type, keys on the edges,
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
    loaded = _load(menu)
    try:
        drawing = diagrams.build(loaded, layout)
        output.write_bytes(diagrams.draw(drawing, fmt))
    except (GraphError, OSError) as exc:
        raise click.ClickException(f"cannot draw {output}: {exc}") from None
    click.echo(f"{output}: {len(loaded.nodes)} nodes, {fmt}, {drawing.engine} layout")


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


def _human(event: Event, typing: bool) -> str:
    kind = event["type"]
    if kind == "say":
        return f"  [{event['lang']}] {event['text']}"
    if kind == "listen":
        what = "a key or yes/no" if event["speech"] else "a key"
        hint = "; Enter = silence, q = hang up" if typing else ""
        return click.style(f"  ... waiting for {what} ({event['timeout']} s{hint})", dim=True)
    if kind == "input":
        shown = {"key": f"{event.get('value')}", "speech": f"say: {event.get('value')}",
                 "silence": "(silence)", "hangup": "(hang up)", "busy": "(no answer)"}[str(event["kind"])]
        return "" if typing else f"> {shown}"
    if kind == "transfer":
        hint = "\n  (Enter: staff answer and the call ends; busy: nobody answers)" if typing else ""
        return click.style(f"-> TRANSFER to {event['to']}{_at(event)}", fg="green", bold=True) + hint
    if kind == "hangup":
        return click.style(f"-> HANG UP{_at(event)}", fg="yellow", bold=True)
    return click.style(f"  note: {event['text']}", dim=True)


def _at(event: Event) -> str:
    """The node a call ended at, when known (the engine knows it; TwiML does not say)."""
    return f" ({event['node']})" if event.get("node") else ""


def main() -> None:
    cli(prog_name="ivr")
