"""Verify published releases: every file's size and SHA-256 against its descriptor, nothing
missing or extra, each zip exactly its release, and frictionless's own validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.archive import find_releases, read_descriptor, zip_name
from pipeline.core.errors import ReleaseError
from pipeline.core.files import display_path, file_sha256
from pipeline.core.issues import Issue
from pipeline.release.bundle import build_zip


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
