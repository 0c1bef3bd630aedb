"""The committed public archive in output/: every release verifies, and the shipped sources
either equal the newest release's content or declare a new version."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.archive import find_releases
from pipeline.changes.diff import diff_snapshots
from pipeline.changes.snapshot import release_snapshot, sources_snapshot
from pipeline.check.validate import validate_project
from pipeline.core.errors import ReleaseError
from pipeline.core.versions import parse_version
from pipeline.release.plan import build_package
from pipeline.release.publish import publish, same_content
from pipeline.release.verify import verify, verify_catalogue

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
def test_committed_catalogue_is_what_the_releases_regenerate() -> None:
    """catalog.json, CHANGELOG.md and the site in output/ are what this code makes of the
    releases: a change to the pages' templates is committed with the regenerated site."""
    problems = verify_catalogue(OUTPUT)
    assert problems == [], "\n".join(f"{p.location()} {p.code} {p.message}" for p in problems)


@pytest.mark.skipif(not RELEASES, reason="no release committed in output/ yet")
def test_sources_equal_newest_release_or_declare_new_version() -> None:
    validation = validate_project(ROOT / "sources", ROOT / "schemas")
    metadata = validation.dataset.metadata
    assert metadata is not None
    newest = RELEASES[-1]
    declared = parse_version(metadata.version)
    if declared == parse_version(newest.version):
        package = build_package(validation, OUTPUT)  # with its change list and changelog
        if same_content(package.files, newest.path):
            return
        # Unreleased work under the released version (the version is bumped when the next
        # release is cut): it can never be published as that version, and the diff names it.
        with pytest.raises(ReleaseError, match="a published version never changes"):
            publish(package, OUTPUT, check=True)
        diff = diff_snapshots(release_snapshot(newest.path), sources_snapshot(validation))
        assert diff.bump in ("major", "minor", "patch"), diff.bump
    else:
        assert declared > parse_version(newest.version), (
            f"sources/package.yaml declares {metadata.version}, lower than the newest "
            f"release {newest.version}"
        )
