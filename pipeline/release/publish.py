"""The fourth stage: publish a built package into OUTPUT atomically, never rewriting a published
version, then rebuild the catalogue beside the releases.

A release is staged in `OUTPUT/.staging-*`, its zip is moved into place, then the folder is
renamed to `OUTPUT/<version>`: that rename is the moment of publication. A publish killed before
it leaves no release folder (a stray zip without its folder is replaced by the next run); an
exclusive lock on the OUTPUT folder keeps two publishes from interleaving.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pipeline.archive import STAGING_PREFIX, find_releases, previous_release, zip_name
from pipeline.build.package import write_files
from pipeline.changes.changelog import write_changelog
from pipeline.core.errors import CatalogueNotUpdated, ReleaseError
from pipeline.core.files import display_path, file_sha256, fsync_folder
from pipeline.core.filestore import sha256_of, size_of
from pipeline.core.versions import parse_version
from pipeline.release.bundle import write_zip
from pipeline.release.catalog import write_catalog
from pipeline.release.plan import BuiltPackage
from pipeline.release.planning import check_new_version, check_release_target, check_review_gate
from pipeline.release.result import PublishResult
from pipeline.site.pages import write_site


@contextmanager
def publish_lock(output: Path) -> Iterator[None]:
    """An exclusive lock on the OUTPUT folder itself: a lock file would be left behind in the
    committed archive by every no-op publish."""
    output.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(output, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def clean_staging(output: Path, name: str) -> None:
    """Remove what a killed publish left behind (only ever called under the lock): staging
    files and folders, and a zip of this package (NAME-X.Y.Z.zip) whose release folder is absent.
    Nothing else: `my-backup-2.0.0.zip` or another package's zip is not ours to remove."""
    for path in output.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
    prefix = f"{name}-"
    for zip_path in output.glob(f"{glob.escape(prefix)}*.zip"):
        version = zip_path.name[len(prefix) : -len(".zip")]
        try:
            parse_version(version)
        except ValueError:
            continue
        if zip_path.name == zip_name(name, version) and not (output / version).is_dir():
            zip_path.unlink()  # moved into place by a publish killed before its rename


def same_content(files: Mapping[str, bytes], release: Path) -> bool:
    """The release folder holds exactly these files with these bytes (compared by size, then
    SHA-256: a large built file is never read back into memory)."""
    on_disk = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    if on_disk != set(files):
        return False
    return all(
        (release / path).stat().st_size == size_of(files, path)
        and file_sha256(release / path) == sha256_of(files, path)
        for path in files
    )


def publish(
    package: BuiltPackage, output: Path, *, check: bool = False, allow_skip: bool = False
) -> PublishResult:
    """Publish a built package into OUTPUT as the version its metadata declares, then rebuild
    the catalogue (catalog.json, CHANGELOG.md, the site). With `check`, only say whether it
    could be published: the refusals and the version policy, nothing written. A new version
    must be dated after the newest release and must not skip a version (unless ALLOW_SKIP)."""
    metadata, files = package.metadata, package.files
    version = metadata.version
    check_review_gate(package.review)  # a first release too, and with --check
    if check and not output.is_dir():  # nothing there can refuse it; --check writes nothing
        return PublishResult(version, output / version, "checked", len(files))
    with publish_lock(output):
        if not check:
            clean_staging(output, metadata.name)
        if previous_release(output, version) != package.previous:
            raise ReleaseError(
                f"a release was published in {display_path(output)} while {version} was built",
                hint="run the command again: the change list must compare with the newest release",
            )
        target = output / version
        check_release_target(target)
        releases = find_releases(output)
        if target.exists():
            if same_content(files, target):
                if not check:  # a publish killed after its rename never wrote these
                    complete_catalogue(output, metadata.name, version)
                return PublishResult(version, target, "unchanged", len(files))
            raise ReleaseError(
                f"version {version} is already published in {display_path(target)} with "
                "different content; a published version never changes",
                hint=f"bump `version` in {display_path(metadata.path)} (newest release: "
                f"{releases[-1].version}) and set a later `release_date`: `ics-data release "
                "--date YYYY-MM-DD` sets both as the changes need (`ics-data diff latest "
                "sources` lists them)",
            )
        check_new_version(metadata, output, package.diff, allow_skip=allow_skip)
        if check:
            return PublishResult(version, target, "checked", len(files))
        staging = output / f"{STAGING_PREFIX}{version}-{os.getpid()}"
        staging.mkdir()
        try:
            write_files(files, staging / version)
            with (staging / "release.zip").open("wb") as stream:  # written, not held in memory
                write_zip(files, f"{metadata.name}-{version}", stream)
            fsync_tree(staging)
            os.replace(staging / "release.zip", output / zip_name(metadata.name, version))
            os.replace(staging / version, target)  # the moment of publication
            fsync_folder(output)  # the renames themselves reach the disk before "published"
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        complete_catalogue(output, metadata.name, version)
    return PublishResult(version, target, "published", len(files))


def complete_catalogue(output: Path, name: str, version: str) -> None:
    """Rewrite the catalogue after VERSION is in place. The release is published whatever
    happens here: a fault (a full disk, Ctrl-C) says so, and how to complete the catalogue."""
    try:
        write_catalogue(output, name)
    except (OSError, ReleaseError, KeyboardInterrupt) as exc:
        raise CatalogueNotUpdated(version, display_path(output), exc) from exc


def write_catalogue(output: Path, name: str) -> list[Path]:
    """Everything beside the releases, rebuilt from them: catalog.json, the cumulative
    CHANGELOG.md and the site (release pages before the index that links them, dcat.jsonld).
    Returns the files written (a no-op run writes none)."""
    try:
        written = write_catalog(output, name)
        written += write_changelog(output)
        written += write_site(output)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a damaged descriptor
        raise ReleaseError(
            f"the catalogue cannot be rebuilt from the releases in {display_path(output)} "
            f"({type(exc).__name__}: {exc})",
            hint="run ics-data verify: it names the release that is damaged; restore it",
        ) from exc
    fsync_folder(output)
    return written


def fsync_tree(folder: Path) -> None:
    """Every file and folder under FOLDER (and FOLDER) on disk: a rename of it is then durable."""
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            fsync_folder(path)
    fsync_folder(folder)


# --- verify -----------------------------------------------------------------------------------
