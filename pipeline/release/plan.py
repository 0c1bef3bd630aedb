"""The third stage: build the release package the sources declare (the files of `pipeline.build`)
with its change list and changelog (`pipeline.changes`) against the newest older release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.archive import previous_release
from pipeline.build.package import build_files, collect_tables
from pipeline.changes.changelog import changes_table, render_changelog, render_first_changelog
from pipeline.changes.diff import diff_snapshots
from pipeline.changes.model import Diff
from pipeline.changes.snapshot import GENERATED, Snapshot, release_snapshot, sources_snapshot
from pipeline.core.errors import InvalidSources, ReleaseError
from pipeline.core.files import display_path
from pipeline.core.issues import REVIEW_CODES, Issue
from pipeline.core.model import Metadata, Validation
from pipeline.core.progress import SILENT, Progress
from pipeline.release.planning import check_new_version, check_release_target, check_review_gate


@dataclass(frozen=True)
class BuiltPackage:
    """Every file of a release, by its path inside the release folder, and its diff against the
    release before it (`previous`; both None for a first release). Nothing is published yet."""

    metadata: Metadata
    files: Mapping[str, bytes]  # a FileStore: large files wait on disk
    previous: Path | None
    diff: Diff | None
    review: tuple[Issue, ...] = ()  # the review gate's warnings: publish refuses while any


def build_package(
    validation: Validation,
    output: Path,
    progress: Progress = SILENT,
    *,
    allow_skip: bool = False,
) -> BuiltPackage:
    """Build the release the sources declare, with its change list and changelog: both compare it
    with the newest release in OUTPUT older than its version, so rebuilding a published version
    gives the same bytes. Invalid sources raise `InvalidSources`, naming every problem; a new
    version that publish would refuse (awaiting review, out of order, too small a bump) raises
    its `ReleaseError` before a file is built."""
    metadata = validation.dataset.metadata
    if metadata is None or not validation.ok:
        raise InvalidSources(validation.report.issues)
    review = tuple(i for i in validation.report.issues if i.code in REVIEW_CODES)
    check_review_gate(review)
    previous = previous_release(output, metadata.version)
    tables = collect_tables(validation.dataset)  # built once: the snapshot and the files share them
    diff: Diff | None = None
    if previous:  # the snapshot (every cell as text) is made only to compare with a release
        new = sources_snapshot(validation, metadata.version, tables)
        diff = diff_snapshots(read_previous(previous), new)
        changelog = render_changelog(diff, new)
    else:
        records = {t.name: len(t.rows) for t in tables if t.name not in GENERATED}
        changelog = render_first_changelog(metadata.version, metadata.release_date, records)
    check_release_target(output / metadata.version)
    if not (output / metadata.version).exists():  # a published version: compared by its bytes
        check_new_version(metadata, output, diff, allow_skip=allow_skip)
    files = build_files(
        validation.dataset,
        metadata,
        extra_tables=[changes_table(diff, metadata.version)],
        extra_files={"CHANGELOG.md": changelog.encode("utf-8")},
        tables=tables,
        progress=progress,
    )
    return BuiltPackage(metadata, files, previous, diff, review)


def read_previous(release: Path) -> Snapshot:
    """The release a new one is compared with; a damaged one stops the publish with its name."""
    try:
        return release_snapshot(release)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ReleaseError(
            f"release {release.name}, which {display_path(release.parent)}'s next release is "
            f"compared with, cannot be read ({type(exc).__name__}: {exc})",
            hint=f"run ics-data verify {release.name}: it names what is damaged; restore it",
        ) from exc
