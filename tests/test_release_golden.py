"""Golden files pin the format of a published release, byte for byte.

The release is built from `tests/golden/project/`, a tiny fixed project: a few records of every
resource and the schemas, copied from the shipped ones. So the goldens change when the format
changes (descriptor layout, CSV quoting, JSON typing, README template, zip, catalog), not
whenever the shipped data does. Pinned: `datapackage.json`, `README.md`, `data/pcns.csv`,
`data/pcns.json` and the `catalog.json` beside the release (which pins the zip by its hash).

A mismatch fails with a unified diff of golden against actual. When the change is intended,
refresh the goldens and review their diff before committing them:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_release_golden.py

That flag is the only way a test here writes into the repository.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from pipeline import stages
from pipeline.check.validate import validate_project
from pipeline.core.issues import render_text
from pipeline.release.verify import verify

GOLDEN = Path(__file__).resolve().parent / "golden"
PROJECT = GOLDEN / "project"
VERSION = "1.0.0"
# path in OUTPUT -> golden file name
PINNED = {
    f"{VERSION}/datapackage.json": "datapackage.json",
    f"{VERSION}/README.md": "README.md",
    f"{VERSION}/data/pcns.csv": "pcns.csv",
    f"{VERSION}/data/pcns.json": "pcns.json",
    "catalog.json": "catalog.json",
}
REFRESH = "UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_release_golden.py"


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    validation = validate_project(PROJECT / "sources", PROJECT / "schemas")
    assert validation.report.ok, render_text(validation.report.issues)
    output = tmp_path_factory.mktemp("golden") / "output"
    stages.publish_validated(validation, output)
    return output


def golden_diff(expected: bytes, actual: bytes, golden: str, path: str) -> str:
    """A unified diff of golden against actual, lines of text (UTF-8, as every pinned file)."""
    lines = difflib.unified_diff(
        expected.decode("utf-8").splitlines(keepends=True),
        actual.decode("utf-8").splitlines(keepends=True),
        fromfile=f"tests/golden/{golden} (golden)",
        tofile=f"{path} (this release)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@pytest.mark.parametrize(("path", "golden"), PINNED.items(), ids=list(PINNED.values()))
def test_release_matches_golden(output: Path, path: str, golden: str) -> None:
    actual = (output / path).read_bytes()
    target = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN") == "1":
        if not target.is_file() or target.read_bytes() != actual:
            target.write_bytes(actual)
        return
    if not target.is_file():
        pytest.fail(f"no golden file tests/golden/{golden}; create it with: {REFRESH}")
    expected = target.read_bytes()
    if actual != expected:
        diff = golden_diff(expected, actual, golden, path)
        pytest.fail(
            f"{path} differs from tests/golden/{golden}:\n{diff}\n"
            f"If the change is intended, refresh the goldens: {REFRESH}",
            pytrace=False,
        )


def test_the_golden_release_verifies(output: Path) -> None:
    assert verify(output) == {VERSION: []}


def test_a_mismatch_reads_as_a_unified_diff() -> None:
    diff = golden_diff(b"a,b\n1,2\n", b"a,b\n1,3\n", "x.csv", "1.0.0/data/x.csv")
    assert diff.splitlines() == [
        "--- tests/golden/x.csv (golden)",
        "+++ 1.0.0/data/x.csv (this release)",
        "@@ -1,2 +1,2 @@",
        " a,b",
        "-1,2",
        "+1,3",
    ]
