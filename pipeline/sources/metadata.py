"""The package metadata in `sources/package.yaml`: the one place where the version is declared."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import yaml

from pipeline.core.files import display_path
from pipeline.core.issues import Issue
from pipeline.core.model import Metadata
from pipeline.core.versions import VERSION
from pipeline.sources.load import load_yaml_mapping

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
REQUIRED = ("name", "title", "description", "version", "release_date", "licenses", "sources")


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
    document, issues = load_yaml_mapping(path)
    if document is None:
        return None, issues
    data, lines = document.data, top_level_lines(document.root)

    def problem(code: str, key: str, message: str, value: object = "") -> None:
        issues.append(
            Issue(file, lines.get(key, 1), code, message, "package", key, str(value or ""))
        )

    for key in REQUIRED:
        if key not in data or data[key] in (None, "", []):
            problem("missing-value", key, f"package.yaml needs {key!r}")
    if issues:
        return None, issues
    version = str(data["version"])
    if not VERSION.match(version):
        problem("pattern", "version", f"version {version!r} must be X.Y.Z, e.g. 1.0.0", version)
    if not NAME.match(str(data["name"])):
        problem("pattern", "name", f"name {data['name']!r} must be lower-case letters, digits, -._")
    release = data["release_date"]
    if not isinstance(release, date):
        try:
            date.fromisoformat(str(release))
        except ValueError:
            problem(
                "type-error", "release_date", f"{str(release)!r} is not a date YYYY-MM-DD", release
            )
    seen: set[str] = set()
    entries = data.get("sources")
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("title"):
            problem("missing-value", "sources", "every entry under sources needs an id and a title")
            continue
        if entry["id"] in seen:
            problem(
                "duplicate-key",
                "sources",
                f"source id {entry['id']!r} is declared twice",
                entry["id"],
            )
        seen.add(str(entry["id"]))
    return (None if issues else Metadata(path, data)), issues


def top_level_lines(root: yaml.Node) -> dict[str, int]:
    """The 1-based line of each top-level key, so problems point where a person edits."""
    if not isinstance(root, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in root.value}
