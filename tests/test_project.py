"""The project `ics-data init` writes around the sources: its version of the tool, its Makefile,
README, CI workflow and git attributes."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

import pipeline
from pipeline.cli import cli

REPO = Path(__file__).resolve().parent.parent


def test_the_version_has_one_source_read_at_run_time() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pipeline.__version__ == declared["project"]["version"]
    said = CliRunner().invoke(cli, ["--version"])
    assert said.exit_code == 0 and said.output.split()[-1] == pipeline.__version__
