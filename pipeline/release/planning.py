"""The tool plans the release: the version and date the next release needs, its changelog, and
the order every new release must keep (a later date than the newest release, no skipped version).

`ics-data release` computes the bump from the diff since the newest release, writes `version` and
`release_date` into `sources/package.yaml` and prints the changelog `publish` will write;
`build_package` calls `check_new_version` before it builds a file, and `publish` again under its
lock, before anything else about a new version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from pipeline.archive import ReleaseInfo, find_releases
from pipeline.changes.changelog import render_changelog
from pipeline.changes.diff import diff_snapshots
from pipeline.changes.model import Diff
from pipeline.changes.policy import check_version
from pipeline.changes.snapshot import release_snapshot, sources_snapshot
from pipeline.core.errors import InvalidSources, ReleaseError
from pipeline.core.files import display_path
from pipeline.core.issues import Issue
from pipeline.core.model import Metadata, Validation
from pipeline.core.versions import next_version, parse_version, version_bump
from pipeline.sources.release_fields import set_release_fields


@dataclass(frozen=True)
class ReleasePlan:
    """The next release: its version and date, the bump from the newest release (`previous`,
    None before a first release), and the changelog publish will write for it."""

    version: str
    release_date: date
    bump: str
    previous: str | None
    previous_date: date | None
    changelog: str
    package_yaml: Path


def release_date_of(release: ReleaseInfo) -> date:
    return release_snapshot(release.path).released


def plan_release(validation: Validation, output: Path, day: date) -> ReleasePlan:
    """The release the sources need on DAY after the newest release in OUTPUT. Refused (a
    `ReleaseError`) when nothing changed since it or DAY is not later than its date."""
    metadata = validation.dataset.metadata
    if metadata is None or not validation.report.ok:
        raise InvalidSources(validation.report.issues)
    releases = find_releases(output)
    if not releases:  # a first release: the declared version, on DAY
        planned = with_release(validation, metadata, metadata.version, day)
        new = sources_snapshot(planned, metadata.version)
        return ReleasePlan(
            metadata.version, day, "none", None, None, render_changelog(None, new), metadata.path
        )
    newest = releases[-1]
    old = release_snapshot(newest.path)
    bump = diff_snapshots(old, sources_snapshot(validation)).bump
    if bump == "none":
        raise ReleaseError(
            f"nothing changed since {newest.version} ({old.released.isoformat()}): there is "
            "nothing to release",
            hint="`ics-data diff latest sources` compares the sources with the newest release",
        )
    if day <= old.released:  # the day is the command's (--date, or today), not package.yaml's
        said = "the same date as" if day == old.released else "earlier than"
        later = (old.released + timedelta(days=1)).isoformat()
        raise ReleaseError(
            f"the release date {day.isoformat()} (--date, or today) is {said} the newest "
            f"release {newest.version} ({old.released.isoformat()}): a new release must be "
            "dated after it",
            hint=f"give a later day: ics-data release --date {later} (or later)",
        )
    version = next_version(newest.version, bump)
    planned = with_release(validation, metadata, version, day)
    new = sources_snapshot(planned, version)
    changelog = render_changelog(diff_snapshots(old, new), new)
    return ReleasePlan(version, day, bump, newest.version, old.released, changelog, metadata.path)


def write_plan(plan: ReleasePlan) -> bool:
    """Write the plan's version and date into package.yaml; whether the file changed."""
    return set_release_fields(plan.package_yaml, plan.version, plan.release_date)


def with_release(validation: Validation, metadata: Metadata, version: str, day: date) -> Validation:
    """The same validated sources, declaring VERSION released on DAY (nothing written)."""
    data = {**metadata.data, "version": version, "release_date": day}
    dataset = replace(validation.dataset, metadata=Metadata(metadata.path, data))
    return Validation(dataset, validation.report)


def check_date(day: date, newest: str, newest_date: date, where: Path) -> None:
    if day > newest_date:
        return
    said = "the same date as" if day == newest_date else "earlier than"
    raise ReleaseError(
        f"release_date {day.isoformat()} is {said} the newest release {newest} "
        f"({newest_date.isoformat()}): a new release must be dated after it",
        hint=f"set a later `release_date` in {display_path(where)} "
        "(`ics-data release --date YYYY-MM-DD` sets it and the version)",
    )


def check_release_order(metadata: Metadata, output: Path, *, allow_skip: bool = False) -> None:
    """Refuse a new version dated on or before the newest release, or one that skips versions
    (1.0.0 to 1.3.0, or to 1.1.1) unless ALLOW_SKIP. A version already published, or lower than
    the newest, is for `publish` to judge (unchanged, or refused as lower)."""
    releases = find_releases(output)
    if not releases:
        return
    newest = releases[-1]
    version = metadata.version
    if parse_version(version) <= parse_version(newest.version):
        return
    check_date(metadata.release_date, newest.version, release_date_of(newest), metadata.path)
    bump = version_bump(newest.version, version)
    expected = next_version(newest.version, bump)
    if version != expected and not allow_skip:
        raise ReleaseError(
            f"version {version} skips versions after the newest release {newest.version}: "
            f"the next {bump} release is {expected}",
            hint=f"set `version: {expected}` in {display_path(metadata.path)} "
            "(`ics-data release` plans it), or pass --allow-skip if the gap is meant",
        )


def check_release_target(target: Path) -> None:
    """Refuse a release folder's place (OUTPUT/<version>) that holds a link, a file, or a folder
    without a datapackage.json: none is a published release, nor a free place for one."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ReleaseError(
            f"{display_path(target)} is a link or a file, not a release folder",
            hint="move it out of the output folder: each release there is a folder publish wrote",
        )
    if target.is_dir() and not (target / "datapackage.json").is_file():
        raise ReleaseError(
            f"{display_path(target)} holds no datapackage.json, so it is no release (a publish "
            "writes a release whole)",
            hint=f"`ics-data verify {target.name}` says what it lacks; restore the release from "
            "its zip, or move the folder out of the output folder",
        )


def check_new_version(
    metadata: Metadata, output: Path, diff: Diff | None, *, allow_skip: bool = False
) -> None:
    """Refuse a new version (one OUTPUT does not hold yet) that is lower than the newest
    release, out of order (`check_release_order`), or a smaller bump than its changes need.
    `publish` judges it under its lock; `build_package` judges it first, so a refusal comes
    before the files are built, not after."""
    releases = find_releases(output)
    version = metadata.version
    if releases and parse_version(version) < parse_version(releases[-1].version):
        raise ReleaseError(
            f"version {version} is lower than the newest release {releases[-1].version}",
            hint=f"bump `version` in {display_path(metadata.path)} above {releases[-1].version}",
        )
    check_release_order(metadata, output, allow_skip=allow_skip)
    if diff is not None:
        check_version(diff, version, metadata.path)


def check_review_gate(review: tuple[Issue, ...]) -> None:
    """Refuse a release while anything awaits review (`pipeline.check.review`): each item with
    its file:line and how to clear it."""
    if not review:
        return
    noun = "item awaits" if len(review) == 1 else "items await"
    raise ReleaseError(
        f"{len(review)} {noun} review before a release:\n"
        + "\n".join(f"  {i.location()}  {i.message}   [{i.code}]" for i in review),
        hint="clear each as it says, then publish again (`ics-data validate` lists them as "
        "warnings)",
    )


def render_plan(plan: ReleasePlan, written: bool, dry_run: bool) -> str:
    """What `ics-data release` prints: the plan, what was written, the changelog."""
    where = display_path(plan.package_yaml)
    if plan.previous is None:
        head = f"First release: {plan.version} ({plan.release_date.isoformat()})."
    else:
        head = (
            f"{plan.previous} ({plan.previous_date}) -> {plan.version} "
            f"({plan.release_date.isoformat()}): a {plan.bump} release."
        )
    if dry_run:
        done = f"Nothing written (--dry-run); without it, {where} gets these two values."
    elif written:
        done = f"Wrote version {plan.version} and release_date {plan.release_date} in {where}."
    else:
        done = f"{where} already declares them."
    return f"{head}\n{done}\n\nThe changelog publish will write:\n\n{plan.changelog.rstrip()}"
