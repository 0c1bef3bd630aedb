"""The project `ics-data init` writes around the sources: its version of the tool, its Makefile,
README, CI workflow and git attributes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import pipeline
from pipeline.cli import cli
from pipeline.upstream.init.scaffold import ProjectFacts, ReviewItem, make_targets, project_files
from tests.national import ECCG, EPCMEM, EPCNS, ICB_NAMES, MAP26, settle_review

REPO = Path(__file__).resolve().parent.parent


def test_the_version_has_one_source_read_at_run_time() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pipeline.__version__ == declared["project"]["version"]
    said = CliRunner().invoke(cli, ["--version"])
    assert said.exit_code == 0 and said.output.split()[-1] == pipeline.__version__


def facts(**changes: object) -> ProjectFacts:
    """A small system's facts, as init would give them (the values are only carried through)."""
    values: dict[str, Any] = {
        "ics_name": "Somerset Integrated Care System",
        "icb": "QSL",
        "icb_name": "NHS Somerset Integrated Care Board",
        "sub_icb_locations": ("11X",),
        "former_ccgs": (),
        "partnership_rule": "sub-icb-location",
        "release_date": date(2026, 8, 1),
        "pcns_open": 13,
        "practices_open": 55,
        "memberships": 66,
        "version": pipeline.__version__,
        "review": (
            ReviewItem(
                "sources/partnerships.yaml:7",
                'partnerships sub-icb-11x: the name "NHS SOMERSET ICB - 11X" awaits review; '
                "confirm or correct it, then set name_review to false",
            ),
        ),
    }
    return ProjectFacts(**{**values, **changes})


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return project_files(facts())


def test_the_makefile_has_the_targets_a_month_needs(files: dict[str, str]) -> None:
    makefile = files["Makefile"]
    targets = {name for name, _ in make_targets(makefile)}
    assert {
        "publish",
        "test",
        "validate",
        "diff",
        "release",
        "refresh",
        "verify",
        "help",
    } <= targets
    assert f"ICS_DATA_SPEC ?= ics-data=={pipeline.__version__}\n" in makefile
    assert '-m pip install --quiet "$(ICS_DATA_SPEC)"' in makefile
    # make needs a tab before every line of a recipe
    recipes = [line for line in makefile.splitlines() if line.startswith(("\t", "    $", "  $"))]
    assert recipes and all(line.startswith("\t") for line in recipes)
    # make test runs the data checks, and no test suite of the tool
    test = makefile[makefile.index("\ntest:") :].split("\n\n")[0]
    assert "validate" in test and "publish --check" in test and "verify" in test
    assert "pytest" not in makefile


def test_the_readme_names_the_system_and_what_awaits_review(files: dict[str, str]) -> None:
    readme = files["README.md"]
    assert readme.startswith("# Somerset Integrated Care System")
    assert "NHS Somerset Integrated Care Board (`QSL`)" in readme.replace("\n", " ")
    for command in ("make publish", "make test", "make refresh", "make diff", "make release"):
        assert command in readme
    assert "`sources/partnerships.yaml:7`: partnerships sub-icb-11x" in readme
    assert "13 PCNs open with 55 member" in readme.replace("\n", " ")
    # the table of targets is the Makefile's own help
    for name, text in make_targets(files["Makefile"]):
        assert f"| `make {name}` | {text} |" in readme
    # every command of the tool it names is one
    assert "`.venv/bin/ics-data move`" in readme and "move" in cli.commands
    for command in ("rename", "close", "open", "add-source"):
        assert f"`{command}`" in readme and command in cli.commands


def test_the_workflow_runs_makefile_targets(files: dict[str, str]) -> None:
    workflow = yaml.safe_load(files[".github/workflows/data.yml"])
    targets = {name for name, _ in make_targets(files["Makefile"])}
    runs = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]
    assert runs == ["make test", "make diff-summary"]
    assert all(run.split()[1] in targets for run in runs)
    assert "${{ github.base_ref }}" not in files[".github/workflows/data.yml"]  # rendered raw
    assert "format('origin/{0}', github.base_ref)" in files[".github/workflows/data.yml"]


def test_only_the_formats_that_are_not_text_are_binary_in_git(files: dict[str, str]) -> None:
    rules = [line.split() for line in files[".gitattributes"].splitlines() if line[:1] not in "#"]
    binary = {pattern.rsplit(".", 1)[1] for pattern, *attributes in rules if "binary" in attributes}
    assert binary == {"zip", "sqlite", "xlsx", "parquet"}
    assert ["output/**", "-text"] in rules  # bytes as written; CSV, JSON, Markdown, YAML diff
    assert ".venv/" in files[".gitignore"].splitlines()


# --- a new project, with nothing but the wheel --------------------------------------------------


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ics-data built as a wheel, once per session, from a copy of the package: a build in the
    repository would write build/ and an egg-info into it."""
    source = tmp_path_factory.mktemp("ics-data-source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "pipeline", source / "pipeline", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source]
    built = subprocess.run(
        command, env=a_shell(), capture_output=True, text=True, timeout=600, check=False
    )
    assert built.returncode == 0, built.stderr
    (found,) = dist.glob("ics_data-*.whl")
    return found


def a_shell() -> dict[str, str]:
    """The environment of a person's shell: no virtual environment active (its bin folder off
    PATH), no make of ours around it; pip compiles nothing at install (PIP_COMPILE=0: each
    module compiles when first imported, and the install takes half the CPU)."""
    outer = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    env = {key: value for key, value in os.environ.items() if key not in outer}
    path = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in path if not (Path(p) / "activate").exists())
    env["PIP_COMPILE"] = "0"
    return env


def make(folder: Path, target: str, wheel: Path) -> subprocess.CompletedProcess[str]:
    command = ["make", "--no-print-directory", target, f"ICS_DATA_SPEC={wheel}"]
    return subprocess.run(
        command, cwd=folder, env=a_shell(), capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
@pytest.mark.repository  # builds the wheel: an acceptance run (make test-repository)
def test_the_wheel_carries_its_templates_and_schemas(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    package = REPO / "pipeline"
    data = [
        path.relative_to(REPO).as_posix()
        for folder in ("templates", "schemas", "derived_schemas")
        for path in (package / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert "pipeline/templates/project/Makefile.j2" in data
    assert set(data) <= names


@pytest.mark.slow
@pytest.mark.repository  # a fresh .venv from the wheel: an acceptance run (make test-repository)
def test_a_new_project_publishes_and_tests_with_nothing_but_the_wheel(
    wheel: Path, tmp_path: Path
) -> None:
    """`ics-data init` for Somerset (QSL), then its own Makefile in a fresh .venv with the wheel
    alone: publish is refused until the review items are settled as its README says; then make
    publish and make test pass, and a second publish says it is already published."""
    folder = tmp_path / "somerset"
    made = CliRunner().invoke(
        cli,
        [
            "init",
            str(folder),
            "--icb",
            "QSL",
            "--gp-map",
            str(MAP26),
            "--epcn",
            str(EPCNS[-1]),
            "--epcmem",
            str(EPCMEM),
            "--eccg",
            str(ECCG),
            "--icb-names",
            str(ICB_NAMES),
        ],  # fmt: skip
    )
    assert made.exit_code == 0, made.output
    refused = make(folder, "publish", wheel)
    assert refused.returncode != 0 and "await review before a release" in refused.stderr
    assert "include-system-site-packages = false" in (folder / ".venv" / "pyvenv.cfg").read_text()
    settle_review(folder / "sources")
    published = make(folder, "publish", wheel)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "published 1.0.0" in published.stdout
    tested = make(folder, "test", wheel)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1.0.0: ok" in tested.stdout and "Sources are valid." in tested.stdout
    again = make(folder, "publish", wheel)
    assert again.returncode == 0 and "already published as 1.0.0" in again.stdout
