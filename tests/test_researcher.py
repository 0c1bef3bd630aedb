"""A researcher's first five minutes, from the zip: in a fresh Python environment with nothing
else, the release README's first command installs what it needs and validates the release as
written (exit 0). The package index is the machine's configured one, as `make install` uses."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from conftest import copy_small_project

from pipeline.sources.release_fields import set_release_fields
from pipeline.stages import publish_release

# a fresh venv installing from the index: an acceptance run (make test-repository)
pytestmark = [pytest.mark.slow, pytest.mark.repository]

FIRST_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def first_commands(readme: Path) -> list[str]:
    found = FIRST_BLOCK.search(readme.read_text(encoding="utf-8"))
    assert found, "the release README has a shell block"
    return [line for line in found[1].splitlines() if line.strip()]


def run(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)


def test_the_readme_first_command_validates_the_unzipped_release(tmp_path: Path) -> None:
    # The golden project's release, dated in the current edition (`build.edition`): the files a
    # new release carries.
    project = copy_small_project(tmp_path / "project")
    set_release_fields(project.path("package.yaml"), "1.0.0", date(2026, 12, 4))
    output = tmp_path / "output"
    publish_release(project.sources, project.schemas, output)
    with zipfile.ZipFile(output / "kent-medway-ics-1.0.0.zip") as archive:
        archive.extractall(tmp_path / "download")
    release = tmp_path / "download" / "kent-medway-ics-1.0.0"

    commands = first_commands(release / "README.md")
    assert commands == [
        'pip install "frictionless[json]"',
        "frictionless validate datapackage.json",
    ]
    venv = tmp_path / "venv"  # nothing in it, not even pip: the outer pip installs into it
    created = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    assert created.returncode == 0, created.stderr
    for command in commands:
        words = shlex.split(command)
        if words[0] == "pip":  # what it installs, as written; quietly and without byte-compiling
            target = ["--python", str(venv / "bin" / "python")]
            quiet = ["--quiet", "--no-compile"]
            done = run([sys.executable, "-m", "pip", *target, *words[1:], *quiet], release)
        else:
            done = run([str(venv / "bin" / words[0]), *words[1:]], release)
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    assert "INVALID" not in done.stdout and "VALID" in done.stdout
