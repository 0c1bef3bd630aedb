"""The committed public archive in output/: every release verifies, and the shipped sources
either equal the newest release's content or declare a new version."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.archive import find_releases
from pipeline.check.validate import validate_project
from pipeline.core.versions import parse_version
from pipeline.release.plan import build_package
from pipeline.release.publish import same_content
from pipeline.release.verify import verify

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "output"
RELEASES = find_releases(OUTPUT)


def test_shipped_sources_are_valid() -> None:
    report = validate_project(ROOT / "sources", ROOT / "schemas").report
    assert report.ok, "\n".join(f"{i.location()} {i.message}" for i in report.issues)


@pytest.mark.skipif(not RELEASES, reason="no release committed in output/ yet")
@pytest.mark.parametrize("version", [r.version for r in RELEASES])
def test_committed_release_verifies(version: str) -> None:
    problems = verify(OUTPUT, version)[version]
    assert problems == [], "\n".join(f"{p.location()} {p.code} {p.message}" for p in problems)


@pytest.mark.skipif(not RELEASES, reason="no release committed in output/ yet")
def test_sources_equal_newest_release_or_declare_new_version() -> None:
    validation = validate_project(ROOT / "sources", ROOT / "schemas")
    metadata = validation.dataset.metadata
    assert metadata is not None
    newest = RELEASES[-1]
    declared = parse_version(metadata.version)
    if declared == parse_version(newest.version):
        files = build_package(validation, OUTPUT).files  # with its change list and changelog
        assert same_content(files, newest.path), (
            f"the sources differ from release {newest.version} but declare the same version: "
            "bump `version` in sources/package.yaml"
        )
    else:
        assert declared > parse_version(newest.version), (
            f"sources/package.yaml declares {metadata.version}, lower than the newest "
            f"release {newest.version}"
        )
