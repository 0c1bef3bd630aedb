"""The version policy, in the semver spirit for data, and the files it adds to every release.

- **major**: a reader can break: a resource, field or record removed, a field renamed, a type
  changed, the primary key changed, a constraint tightened or a foreign key added;
- **minor**: additions (resources, fields, records), records closed (an end date set), a
  constraint loosened or a foreign key removed;
- **patch**: corrections of values in existing records, and of the schemas' words;
- **none**: nothing changed in the data.

`publish` refuses a declared version smaller than the changes since the newest release need.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.build import build_files
from pipeline.diff import BUMPS, Diff, diff_snapshots
from pipeline.errors import ReleaseError
from pipeline.issues import display_path
from pipeline.metadata import parse_version
from pipeline.snapshot import previous_release, release_snapshot, sources_snapshot
from pipeline.validate import Validation

SHOWN = 10


def version_bump(old: str, new: str) -> str:
    """The bump from version OLD to version NEW ("none" when NEW is not higher)."""
    before, after = parse_version(old), parse_version(new)
    if after <= before:
        return "none"
    if after[0] != before[0]:
        return "major"
    return "minor" if after[1] != before[1] else "patch"


def next_version(version: str, bump: str) -> str:
    major, minor, patch = parse_version(version)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return version


def at_least(given: str, needed: str) -> bool:
    return BUMPS.index(given) >= BUMPS.index(needed)


def reasons(diff: Diff, bump: str) -> list[str]:
    found = [c.description for c in diff.needing(bump)]
    shown = found[:SHOWN]
    if len(found) > SHOWN:
        shown.append(f"and {len(found) - SHOWN} more")
    return shown


def verdict(diff: Diff) -> str:
    """One line on the version: the bump the changes need, and whether NEW declares enough."""
    needed, old = diff.bump, diff.old.version
    if needed == "none":
        return f"No change needs a new version after {old}."
    line = f"The changes need a {needed} release: {next_version(old, needed)} after {old}."
    declared = diff.new.version
    if diff.new.label == declared:
        return line
    given = version_bump(old, declared)
    if given == "none":
        return line + f" Declared: {declared}, not higher than {old}: bump it."
    if not at_least(given, needed):
        return line + f" Declared: {declared}, a {given} release: too small."
    return line + f" Declared: {declared}, a {given} release: enough."


def check_version(diff: Diff, declared: str, where: Path) -> None:
    """Refuse DECLARED when it is a smaller bump from the old release than the changes need."""
    needed, old = diff.bump, diff.old.version
    given = version_bump(old, declared)
    if at_least(given, needed):
        return
    target = next_version(old, needed)
    raise ReleaseError(
        f"version {declared} is a {given} release after {old}, but the changes need a {needed} "
        f"release ({target}):\n" + "\n".join(f"  {line}" for line in reasons(diff, needed)),
        hint=f"set `version: {target}` in {display_path(where)}; "
        f"`ics-data diff {old} sources` lists every change",
    )


@dataclass(frozen=True)
class ReleasePlan:
    """The files of a release, and its diff against the release before it (None for the first)."""

    files: dict[str, bytes]
    diff: Diff | None


def plan_release(validation: Validation, output: Path) -> ReleasePlan:
    """Build the release the sources declare, with its change list and changelog: both compare it
    with the newest release in OUTPUT older than its version, so rebuilding a published version
    gives the same bytes."""
    from pipeline.changelog import changes_table, render_changelog

    metadata = validation.dataset.metadata
    if metadata is None or not validation.report.ok:
        raise ReleaseError("the sources are not valid", hint="run ics-data validate")
    previous = previous_release(output, metadata.version)
    new = sources_snapshot(validation, metadata.version)
    diff = diff_snapshots(release_snapshot(previous), new) if previous else None
    files = build_files(
        validation.dataset,
        metadata,
        extra_tables=[changes_table(diff, metadata.version)],
        extra_files={"CHANGELOG.md": render_changelog(diff, new).encode("utf-8")},
    )
    return ReleasePlan(files, diff)
