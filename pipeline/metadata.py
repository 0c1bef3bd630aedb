"""The package metadata in `sources/package.yaml`: the one place where the version is declared."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.issues import Issue, display_path
from pipeline.sources import load_yaml_mapping

VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
REQUIRED = ("name", "title", "description", "version", "release_date", "licenses", "sources")


@dataclass(frozen=True)
class Metadata:
    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def version(self) -> str:
        return str(self.data["version"])

    @property
    def release_date(self) -> date:
        value = self.data["release_date"]
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    @property
    def source_ids(self) -> frozenset[str]:
        return frozenset(str(s["id"]) for s in self.data.get("sources", []))


def parse_version(text: str) -> tuple[int, int, int]:
    match = VERSION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a version X.Y.Z")
    return int(match[1]), int(match[2]), int(match[3])


def load_metadata(sources: Path) -> tuple[Metadata | None, list[Issue]]:
    path = sources / "package.yaml"
    file = display_path(path)
    if not path.exists():
        return None, [
            Issue(
                file,
                0,
                "missing-file",
                "no package.yaml: it declares the release version and the package metadata",
            )
        ]
    data, issues = load_yaml_mapping(path)
    if data is None:
        return None, issues
    for key in REQUIRED:
        if key not in data or data[key] in (None, "", []):
            issues.append(
                Issue(file, 0, "missing-value", f"package.yaml needs {key!r}", "package", key)
            )
    if issues:
        return None, issues
    if not VERSION.match(str(data["version"])):
        issues.append(
            Issue(
                file,
                0,
                "pattern",
                f"version {str(data['version'])!r} must be X.Y.Z, e.g. 1.0.0",
                "package",
                "version",
                str(data["version"]),
            )
        )
    if not NAME.match(str(data["name"])):
        issues.append(
            Issue(
                file,
                0,
                "pattern",
                f"name {data['name']!r} must be lower-case letters, digits, -._",
                "package",
                "name",
                str(data["name"]),
            )
        )
    release = data["release_date"]
    if not isinstance(release, date):
        try:
            date.fromisoformat(str(release))
        except ValueError:
            issues.append(
                Issue(
                    file,
                    0,
                    "type-error",
                    f"release_date {str(release)!r} is not a date YYYY-MM-DD",
                    "package",
                    "release_date",
                    str(release),
                )
            )
    seen: set[str] = set()
    entries = data.get("sources")
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("title"):
            issues.append(
                Issue(
                    file,
                    0,
                    "missing-value",
                    "every entry under sources needs an id and a title",
                    "package",
                    "sources",
                )
            )
            continue
        if entry["id"] in seen:
            issues.append(
                Issue(
                    file,
                    0,
                    "duplicate-key",
                    f"source id {entry['id']!r} is declared twice",
                    "package",
                    "sources",
                    str(entry["id"]),
                )
            )
        seen.add(str(entry["id"]))
    return (None if issues else Metadata(path, data)), issues
