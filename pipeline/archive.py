"""Reading the archive of published releases in OUTPUT: which versions exist, their descriptors,
and the release a new version is compared with. Reads only; writing is `pipeline.release`'s."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.errors import ReleaseError
from pipeline.core.files import display_path
from pipeline.core.versions import parse_version

STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    path: Path
    descriptor: dict[str, Any] = field(default_factory=dict)


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


def zip_name(metadata_name: str, version: str) -> str:
    return f"{metadata_name}-{version}.zip"


def previous_release(output: Path, version: str) -> Path | None:
    """The newest release in OUTPUT older than `version`: what a release of it is compared with."""
    older = [r for r in find_releases(output) if parse_version(r.version) < parse_version(version)]
    return older[-1].path if older else None


def package_name(output: Path) -> str | None:
    """The package's name: catalog.json's, else the newest readable descriptor's."""
    try:
        data = json.loads((output / "catalog.json").read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            return str(data["name"])
    except (OSError, ValueError):
        pass
    for info in reversed(find_releases(output)):
        try:
            name = read_descriptor(info.path).get("name")
        except ReleaseError:
            continue
        if isinstance(name, str):
            return name
    return None
