"""Publish a built release into OUTPUT atomically, never rewriting a published version; verify
releases; keep `OUTPUT/catalog.json`.

A release is staged in `OUTPUT/.staging-*`, its zip is moved into place, then the folder is
renamed to `OUTPUT/<version>`: that rename is the moment of publication. A publish killed before
it leaves no release folder (a stray zip without its folder is replaced by the next run); an
exclusive lock on the OUTPUT folder keeps two publishes from interleaving.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.build import dump_json, write_files
from pipeline.errors import ReleaseError
from pipeline.issues import Issue, display_path
from pipeline.metadata import parse_version
from pipeline.validate import Validation

STAGING_PREFIX = ".staging-"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PublishResult:
    version: str
    path: Path
    status: str  # "published", "unchanged" or "checked"
    files: int = 0


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    path: Path
    descriptor: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_releases(output: Path) -> list[ReleaseInfo]:
    """Published releases in OUTPUT, oldest version first."""
    found = []
    if not output.is_dir():
        return []
    for path in output.iterdir():
        try:
            parse_version(path.name)
        except ValueError:
            continue
        if path.is_dir():
            found.append(ReleaseInfo(path.name, path))
    return sorted(found, key=lambda r: parse_version(r.version))


def read_descriptor(release: Path) -> dict[str, Any]:
    try:
        data = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(
            f"{display_path(release)} has no readable datapackage.json ({exc})",
            hint="a release folder must hold the datapackage.json it was published with",
        ) from exc
    if not isinstance(data, dict):
        raise ReleaseError(f"{display_path(release)}/datapackage.json is not a JSON object")
    return data


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


def clean_staging(output: Path) -> None:
    """Remove what a killed publish left behind (only ever called under the lock)."""
    for path in output.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
    for zip_path in output.glob("*.zip"):
        version = zip_path.stem.rsplit("-", 1)[-1]
        try:
            parse_version(version)
        except ValueError:
            continue
        if not (output / version).is_dir():
            zip_path.unlink()  # moved into place by a publish killed before its rename


def zip_name(metadata_name: str, version: str) -> str:
    return f"{metadata_name}-{version}.zip"


def build_zip(files: dict[str, bytes], top: str) -> bytes:
    """A zip whose bytes depend only on the files: fixed order, timestamps and permissions.
    Stored, not deflated, so that no zlib version can change the bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{path}", date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, files[path])
    return buffer.getvalue()


def same_content(files: dict[str, bytes], release: Path) -> bool:
    on_disk = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    if on_disk != set(files):
        return False
    return all((release / path).read_bytes() == content for path, content in files.items())


def publish(validation: Validation, output: Path, *, check: bool = False) -> PublishResult:
    """Publish the validated sources as the version declared in package.yaml."""
    # the change list, the version policy and the site read releases: imported late
    from pipeline.changelog import write_changelog
    from pipeline.site import write_site
    from pipeline.versioning import check_version, plan_release

    metadata = validation.dataset.metadata
    if metadata is None or not validation.report.ok:
        raise ReleaseError("the sources are not valid", hint="run ics-data validate")
    version = metadata.version
    if check and not output.is_dir():  # nothing there can refuse it; --check writes nothing
        files = plan_release(validation, output).files
        return PublishResult(version, output / version, "checked", len(files))
    with publish_lock(output):
        if not check:
            clean_staging(output)
        plan = plan_release(validation, output)  # compared with the release before `version`
        files = plan.files
        target = output / version
        releases = find_releases(output)
        if target.exists():
            if same_content(files, target):
                if not check:  # a publish killed after its rename never wrote these
                    write_catalog(output, metadata.name)
                    write_changelog(output)
                    write_site(output)
                return PublishResult(version, target, "unchanged", len(files))
            raise ReleaseError(
                f"version {version} is already published in {display_path(target)} with "
                "different content; a published version never changes",
                hint=f"bump `version` in {display_path(metadata.path)} (newest release: "
                f"{releases[-1].version}); `ics-data diff latest sources` says by how much",
            )
        if releases and parse_version(version) < parse_version(releases[-1].version):
            raise ReleaseError(
                f"version {version} is lower than the newest release {releases[-1].version}",
                hint=f"bump `version` in {display_path(metadata.path)} above "
                f"{releases[-1].version}",
            )
        if plan.diff is not None:
            check_version(plan.diff, version, metadata.path)
        if check:
            return PublishResult(version, target, "checked", len(files))
        staging = output / f"{STAGING_PREFIX}{version}-{os.getpid()}"
        staging.mkdir()
        try:
            write_files(files, staging / version)
            zipped = build_zip(files, f"{metadata.name}-{version}")
            (staging / "release.zip").write_bytes(zipped)
            _fsync_tree(staging)
            os.replace(staging / "release.zip", output / zip_name(metadata.name, version))
            os.replace(staging / version, target)  # the moment of publication
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        write_catalog(output, metadata.name)
        write_changelog(output)
        write_site(output)  # index.html, releases/<version>.html, dcat.jsonld
    return PublishResult(version, target, "published", len(files))


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def catalog(output: Path, name: str) -> dict[str, Any]:
    releases = []
    for info in find_releases(output):
        descriptor = read_descriptor(info.path)
        files = [
            {"path": f"{info.version}/{f['path']}", "bytes": f["bytes"], "hash": f["hash"]}
            for f in descriptor.get("files", [])
        ]
        package = info.path / "datapackage.json"
        entry: dict[str, Any] = {
            "version": info.version,
            "created": descriptor.get("created"),
            "title": descriptor.get("title"),
            "path": f"{info.version}/datapackage.json",
            "datapackage_sha256": file_sha256(package),
            "files": [
                {
                    "path": f"{info.version}/datapackage.json",
                    "bytes": package.stat().st_size,
                    "hash": f"sha256:{file_sha256(package)}",
                },
                *files,
            ],
        }
        zip_path = output / zip_name(str(descriptor.get("name", name)), info.version)
        if zip_path.exists():
            entry["zip"] = {
                "path": zip_path.name,
                "bytes": zip_path.stat().st_size,
                "hash": f"sha256:{file_sha256(zip_path)}",
            }
        releases.append(entry)
    return {
        "name": name,
        "latest": releases[-1]["version"] if releases else None,
        "releases": releases,
    }


def write_catalog(output: Path, name: str) -> None:
    """catalog.json lists every release; it is rebuilt from the release folders each time, and
    written only when that changes it."""
    data = dump_json(catalog(output, name))
    current = output / "catalog.json"
    if current.is_file() and current.read_bytes() == data:
        return
    temporary = output / f"{STAGING_PREFIX}catalog.json"
    temporary.write_bytes(data)
    os.replace(temporary, output / "catalog.json")


# --- verify -----------------------------------------------------------------------------------


def verify_release(release: Path) -> list[Issue]:
    """Every file's size and SHA-256 against datapackage.json; nothing missing or extra; then
    frictionless validates the package as a researcher's copy of frictionless would."""
    from frictionless import Package

    file = display_path(release / "datapackage.json")
    issues: list[Issue] = []
    try:
        descriptor = read_descriptor(release)
    except ReleaseError as exc:
        return [Issue(file, 0, "missing-file", exc.message)]
    listed: dict[str, dict[str, Any]] = {f["path"]: f for f in descriptor.get("files", [])}
    for resource in descriptor.get("resources", []):
        entry = listed.get(resource.get("path", ""))
        if entry is None:
            issues.append(
                Issue(
                    file,
                    0,
                    "missing-file",
                    f"resource {resource.get('name')} is not in the file list",
                )
            )
        elif resource.get("hash") != entry["hash"]:
            issues.append(
                Issue(
                    file,
                    0,
                    "hash-mismatch",
                    f"resource {resource.get('name')} hash differs from its file entry",
                )
            )
    for path, entry in sorted(listed.items()):
        target = release / path
        where = display_path(target)
        if not target.is_file():
            issues.append(Issue(where, 0, "missing-file", "listed in datapackage.json but missing"))
            continue
        size = target.stat().st_size
        if size != entry["bytes"]:
            issues.append(
                Issue(
                    where, 0, "byte-count", f"{size} bytes, datapackage.json says {entry['bytes']}"
                )
            )
        digest = f"sha256:{file_sha256(target)}"
        if digest != entry["hash"]:
            issues.append(
                Issue(
                    where,
                    0,
                    "hash-mismatch",
                    f"SHA-256 is {digest[7:19]}..., datapackage.json says "
                    f"{entry['hash'][7:19]}...; the file was changed",
                )
            )
    for target in sorted(release.rglob("*")):
        rel = target.relative_to(release).as_posix()
        if target.is_file() and rel != "datapackage.json" and rel not in listed:
            issues.append(
                Issue(
                    display_path(target),
                    0,
                    "extra-file",
                    "not part of the release (not listed in datapackage.json)",
                )
            )
    if not issues:
        report = Package(str(release / "datapackage.json")).validate()
        for task in report.tasks:
            for error in task.errors:
                row = getattr(error, "row_number", None) or 0
                issues.append(
                    Issue(
                        display_path(release / task.place) if task.place else file,
                        row,
                        error.type,
                        error.message,
                        task.name,
                    )
                )
        for error in report.errors:
            issues.append(Issue(file, 0, error.type, error.message))
    return issues


def verify(output: Path, version: str | None = None) -> dict[str, list[Issue]]:
    releases = find_releases(output)
    if version is not None:
        releases = [r for r in releases if r.version == version]
        if not releases:
            raise ReleaseError(
                f"no release {version} in {display_path(output)}",
                hint="ics-data releases lists the published versions",
            )
    results = {r.version: verify_release(r.path) for r in releases}
    zips = verify_zips(output)
    for version_name, problems in zips.items():
        if version_name in results:
            results[version_name].extend(problems)
    return results


def verify_zips(output: Path) -> dict[str, list[Issue]]:
    """Each release's zip holds exactly the release's files, byte for byte."""
    out: dict[str, list[Issue]] = {}
    for info in find_releases(output):
        try:
            descriptor = read_descriptor(info.path)
        except ReleaseError:
            continue  # verify_release reports the missing descriptor of this release
        name = str(descriptor.get("name", ""))
        path = output / zip_name(name, info.version)
        problems: list[Issue] = []
        if not path.is_file():
            problems.append(
                Issue(display_path(path), 0, "missing-file", "the release zip is missing")
            )
        else:
            expected = {
                p.relative_to(info.path).as_posix(): p.read_bytes()
                for p in info.path.rglob("*")
                if p.is_file()
            }
            if path.read_bytes() != build_zip(expected, f"{name}-{info.version}"):
                problems.append(
                    Issue(
                        display_path(path),
                        0,
                        "hash-mismatch",
                        "the zip does not hold exactly the release's files",
                    )
                )
        out[info.version] = problems
    return out


def release_rows(output: Path) -> list[dict[str, Any]]:
    rows = []
    for info in find_releases(output):
        descriptor = read_descriptor(info.path)
        size = sum(p.stat().st_size for p in info.path.rglob("*") if p.is_file())
        rows.append(
            {
                "version": info.version,
                "created": str(descriptor.get("created", ""))[:10],
                "resources": len(descriptor.get("resources", [])),
                "bytes": size,
                "path": display_path(info.path),
            }
        )
    return rows
