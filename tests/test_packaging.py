"""The built wheel carries the menu and the scenarios: `ivr lint`, `ivr sim` and `ivr test` work
from an installed copy, in a folder that is not a checkout.

The wheel is built from a copy of the source tree (a build in the checkout would reuse its build/
folder, where files removed since stay), with this environment's setuptools, and installed with
`pip --target`: no network. The installed copy runs with `python -S` and PYTHONPATH naming it
and this environment's site-packages, so the dependencies are found but not the editable install
of the checkout."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

LEFT_OUT = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the wheel was installed into."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", work / "dist", source, cwd=work)
    (wheel,) = (work / "dist").glob("ivr_toolkit-*.whl")
    run(*pip, "install", "--no-deps", "--no-index", "--target", work / "site", wheel, cwd=work)
    return work / "site"


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with no menus/ and no tests/scenarios/."""
    return tmp_path_factory.mktemp("elsewhere")


def python(installed: Path, elsewhere: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env["PYTHONPATH"] = os.pathsep.join([str(installed), *site.getsitepackages(), site.getusersitepackages()])
    return run(sys.executable, "-S", *args, cwd=elsewhere, env=env)


def ivr(installed: Path, elsewhere: Path, *args: str) -> str:
    return python(installed, elsewhere, "-m", "ivr", *args)


def test_the_wheel_ships_the_menus_the_line_mapping_and_the_scenarios(installed: Path) -> None:
    data = installed / "ivr" / "data"
    for name in ("free_dial.yaml", "city.yaml", "lines.yaml"):
        assert (data / "menus" / name).read_bytes() == (ROOT / "menus" / name).read_bytes()
    shipped = sorted(p.relative_to(data / "scenarios") for p in (data / "scenarios").rglob("*.yaml"))
    assert shipped == sorted(p.relative_to(ROOT / "tests" / "scenarios") for p in (ROOT / "tests" / "scenarios").rglob("*.yaml"))
    assert Path("city", "lang_ko.yaml") in shipped
    assert not (installed / "menus").exists() and not (installed / "tests").exists()


def test_pytest_is_a_test_dependency_only(installed: Path, elsewhere: Path) -> None:
    (metadata,) = installed.glob("ivr_toolkit-*.dist-info/METADATA")
    requires = [line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist: pytest")]
    assert requires and all('extra == "test"' in line for line in requires)
    every_module = ("import importlib, pkgutil, sys; sys.modules['pytest'] = None; import ivr; "  # import pytest fails
                    "names = [m.name for m in pkgutil.walk_packages(ivr.__path__, 'ivr.') if m.name != 'ivr.__main__']; "
                    "[importlib.import_module(name) for name in names]; print(ivr.__file__, len(names))")
    where, count = python(installed, elsewhere, "-c", every_module).split()
    assert Path(where) == installed / "ivr" / "__init__.py" and int(count) > 20


def test_lint_finds_the_installed_menu(installed: Path, elsewhere: Path) -> None:
    out = ivr(installed, elsewhere, "lint")
    assert out.splitlines()[-1] == f"{installed / 'ivr' / 'data' / 'menus' / 'free_dial.yaml'}: OK"


def test_sim_plays_the_installed_menu(installed: Path, elsewhere: Path) -> None:
    out = ivr(installed, elsewhere, "sim", "--script", "2 1", "--at", "2026-12-07T10:00+09:00")
    assert out.startswith("Call to My Number free dial")
    assert out.splitlines()[-2:] == ["-> TRANSFER to +81120950178 (card_desk)",
                                     "-> staff answered: the call is theirs; end of the simulation"]


def test_test_plays_the_installed_scenarios(installed: Path, elsewhere: Path) -> None:
    out = ivr(installed, elsewhere, "test")
    scenarios = installed / "ivr" / "data" / "scenarios"
    files = [Path(line) for line in out.splitlines() if line.endswith(".yaml")]
    assert sorted(files) == sorted(scenarios / p.name for p in (ROOT / "tests" / "scenarios").glob("*.yaml"))
    summary = re.search(r"^(\d+) scenario\(s\) in (\d+) file\(s\): (\d+) passed, 0 failed", out, re.MULTILINE)
    assert summary is not None, out
    assert int(summary[1]) == int(summary[3]) > 0 and int(summary[2]) == len(files)


def test_test_plays_the_installed_city_scenarios_against_the_installed_city_menu(installed: Path, elsewhere: Path) -> None:
    city = installed / "ivr" / "data" / "menus" / "city.yaml"
    out = ivr(installed, elsewhere, "test", "--menu", str(city))
    files = [Path(line) for line in out.splitlines() if line.endswith(".yaml")]
    assert files and all(f.parent == installed / "ivr" / "data" / "scenarios" / "city" for f in files)
    assert re.search(r"^(\d+) scenario\(s\) in 7 file\(s\): \1 passed, 0 failed", out, re.MULTILINE), out
