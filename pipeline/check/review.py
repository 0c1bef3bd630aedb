"""The review gate: what someone must look at before a release, listed by `validate` as warnings
and refused by `publish` until cleared.

- `review-pending`: a record marked for review (a `*_review` field set to true, such as the
  partnership `ics-data refresh` proposes for a new PCN);
- `placeholder-path`: a registry entry under `sources:` in package.yaml whose `path` is given but
  is not a web address (refresh writes the file's name there until someone puts the download
  address).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import yaml

from pipeline.check.tables import row_issue
from pipeline.core.files import display_path
from pipeline.core.issues import PLACEHOLDER_PATH, REVIEW_PENDING, WARNING, Issue, quote
from pipeline.core.model import Dataset, Metadata
from pipeline.sources.load import FAST_LOADER

WEB = ("https://", "http://")


def check_review(dataset: Dataset, metadata: Metadata | None) -> list[Issue]:
    issues = list(marked_for_review(dataset))
    if metadata is not None:
        issues.extend(placeholder_paths(metadata))
    return [replace(issue, severity=WARNING) for issue in issues]


def review_fields(dataset: Dataset) -> Iterable[tuple[str, str]]:
    for name, table in dataset.tables.items():
        for field in table.schema.descriptor.get("fields", []):
            if field["name"].endswith("_review") and field.get("type") == "boolean":
                yield name, field["name"]


def marked_for_review(dataset: Dataset) -> Iterable[Issue]:
    for resource, column in review_fields(dataset):
        table = dataset.tables[resource]
        key = table.schema.primary_key
        for row in table.rows:
            if row.values.get(column) is not True:
                continue
            what = ", ".join(str(row.values.get(k)) for k in key)
            subject = column.removesuffix("_review")
            proposed = row.values.get(subject)
            said = f" {quote(proposed)}" if proposed is not None else ""
            yield row_issue(
                table,
                row,
                column,
                REVIEW_PENDING,
                f"{resource} {what}: the {subject}{said} awaits review; confirm or correct "
                f"it, then set {column} to false",
                "true",
            )


def placeholder_paths(metadata: Metadata) -> Iterable[Issue]:
    lines = registry_path_lines(metadata.path)
    for entry in metadata.data.get("sources", []) or []:
        if not isinstance(entry, dict):
            continue
        path = str(entry.get("path") or "")
        if not path or path.startswith(WEB):  # no path: not a file (DERIVED), nothing to fetch
            continue
        ident = str(entry.get("id", ""))
        yield Issue(
            display_path(metadata.path),
            lines.get(ident, 0),
            PLACEHOLDER_PATH,
            f"source {ident} has the placeholder path {quote(path)}: put the address the file "
            "was downloaded from (https://...) in path",
            "package",
            "sources.path",
            path,
        )


def registry_path_lines(path: Path) -> dict[str, int]:
    """The 1-based line of each registry entry's `path` (else of its `id`), by id."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=FAST_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(root, yaml.MappingNode):
        return {}
    found: dict[str, int] = {}
    for key, value in root.value:
        if key.value != "sources" or not isinstance(value, yaml.SequenceNode):
            continue
        for item in value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            fields = {k.value: v for k, v in item.value}
            ident = fields.get("id")
            if isinstance(ident, yaml.ScalarNode):
                at = fields.get("path", ident)
                found[str(ident.value)] = at.start_mark.line + 1
    return found
