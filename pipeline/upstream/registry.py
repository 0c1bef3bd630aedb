"""The registry of public sources in `sources/package.yaml`: which upstream files the records cite.

Every record names its provenance by source ids (`EPCN25; MAP26`), declared under `sources:` with
a title, a path, a vintage and a sha256. A refresh reuses the entry of a file it has seen (same
sha256, or the same publication and vintage) and appends an entry for a new one, as text, so the
file's comments and layout stay as the maintainers wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from pipeline.core.errors import PipelineError

EPCN = "epcn"
GP_MAP = "gp-map"
AGES = "patients-by-age"
KIND_LABELS = {
    EPCN: "ePCN workbook",
    GP_MAP: "GP practice mapping",
    AGES: "registered patients by sex and age",
}
# New entries are named after their publication and vintage, e.g. EPCN-2026-10-01.
ID_PREFIXES = {EPCN: "EPCN", GP_MAP: "MAP", AGES: "AGE"}
TITLES = {
    EPCN: "NHS ODS ePCN.xlsx (sheets PCNDetails, PCN Core Partner Details)",
    GP_MAP: "NHS England, Patients Registered at a GP Practice, gp-reg-pat-prac-map.csv",
    AGES: "NHS England, Patients Registered at a GP Practice, gp-reg-pat-prac-sing-age-regions.csv",
}


class RegistryError(PipelineError):
    """package.yaml's `sources:` list cannot be read or extended."""


@dataclass(frozen=True)
class SourceEntry:
    """One entry under `sources:`. `kind` is EPCN, GP_MAP or AGES for the upstream publications."""

    id: str
    title: str
    path: str
    vintage: date | None
    sha256: str | None
    kind: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "path": self.path,
            "vintage": self.vintage.isoformat() if self.vintage else None,
            "sha256": self.sha256,
            "kind": self.kind,
        }


def entry_kind(title: str) -> str | None:
    """The upstream publication an entry is, from its title (ids are the maintainers' choice)."""
    folded = title.casefold()
    if "epcn" in folded:
        return EPCN
    if "gp-reg-pat-prac-map" in folded:
        return GP_MAP
    if "gp-reg-pat-prac-sing-age" in folded:
        return AGES
    return None


def _vintage(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None  # "2019-20", "2024-12": not a day, never an upstream vintage


def read_entries(metadata: Mapping[str, Any]) -> tuple[SourceEntry, ...]:
    entries = metadata.get("sources")
    if not isinstance(entries, list):
        return ()
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or "id" not in entry:
            continue
        title = str(entry.get("title") or "")
        sha = entry.get("sha256")
        found.append(
            SourceEntry(
                id=str(entry["id"]),
                title=title,
                path=str(entry.get("path") or ""),
                vintage=_vintage(entry.get("vintage")),
                sha256=str(sha).lower() if sha else None,
                kind=entry_kind(title),
            )
        )
    return tuple(found)


def upstream_vintages(entries: Iterable[SourceEntry]) -> dict[str, date]:
    """Source id -> vintage, for the entries that are upstream publications with a dated vintage."""
    return {e.id: e.vintage for e in entries if e.kind is not None and e.vintage is not None}


def dated_vintages(entries: Iterable[SourceEntry]) -> dict[str, date]:
    """Source id -> vintage, for every entry with a dated vintage: upstream files and the
    entries people add for their own evidence (a hand edit is a source with its date)."""
    return {e.id: e.vintage for e in entries if e.vintage is not None}


def held_vintages(entries: Iterable[SourceEntry], cited: Iterable[str]) -> dict[str, date]:
    """The newest vintage of each publication that some record cites."""
    cited = set(cited)
    held: dict[str, date] = {}
    for entry in entries:
        if entry.id in cited and entry.kind is not None and entry.vintage is not None:
            held[entry.kind] = max(held.get(entry.kind, entry.vintage), entry.vintage)
    return held


def find_entry(
    entries: Sequence[SourceEntry], kind: str, vintage: date, sha256: str
) -> SourceEntry | None:
    """The entry of this file: same bytes, else the same publication and vintage.

    The second rule matters for subsets and re-downloads: one ICS's extract of the
    ePCN of 2025-01-20 is the same publication as the national file registered as EPCN25.
    """
    for entry in entries:
        if entry.sha256 == sha256:
            return entry
    for entry in entries:
        if entry.kind == kind and entry.vintage == vintage:
            return entry
    return None


def new_entry(
    entries: Sequence[SourceEntry], kind: str, vintage: date, sha256: str, file: str
) -> SourceEntry:
    taken = {entry.id for entry in entries}
    base = f"{ID_PREFIXES[kind]}-{vintage.isoformat()}"
    ident, number = base, 2
    while ident in taken:
        ident, number = f"{base}-{number}", number + 1
    return SourceEntry(ident, f"{TITLES[kind]}, file {file}", file, vintage, sha256, kind)


REFRESH_NOTE = "added by ics-data refresh; put the download address in path"


def append_entries(
    text: str, entries: Sequence[SourceEntry], file: str, note: str | None = REFRESH_NOTE
) -> str:
    """package.yaml's text with `entries` added at the end of its `sources:` list, each with
    NOTE as a comment under its id (none when None) and its sha256 when it has one."""
    if not entries:
        return text
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise RegistryError(
            f"{file} cannot be read: {exc}", hint="Run ics-data validate."
        ) from None
    node = None
    if isinstance(root, yaml.MappingNode):
        node = next((v for k, v in root.value if str(k.value) == "sources"), None)
    if not isinstance(node, yaml.SequenceNode) or not node.value or node.flow_style:
        raise RegistryError(
            f"{file} has no block list under 'sources:' to add the upstream file to",
            hint="Declare sources as a list of '- id: ...' entries, as in the shipped file.",
        )
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
    first = node.value[0]
    dash = lines[first.start_mark.line][: first.start_mark.column]  # "  - "
    indent = " " * len(dash)
    last = node.value[-1]
    # The last item ends where its last value does; a folded value ends at column 0 of the
    # next line, which is where the new entry then goes.
    end = _last_value(last).end_mark
    at = end.line if end.column == 0 else end.line + 1
    if at > 0 and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += newline
    block = []
    for entry in entries:
        block.append(f"{dash}id: {entry.id}{newline}")
        if note:
            block.append(f"{indent}# {note}{newline}")
        block.append(f"{indent}title: {json.dumps(entry.title, ensure_ascii=False)}{newline}")
        block.append(f"{indent}path: {json.dumps(entry.path, ensure_ascii=False)}{newline}")
        vintage = entry.vintage.isoformat() if entry.vintage else ""
        block.append(f'{indent}vintage: "{vintage}"{newline}')
        if entry.sha256:
            block.append(f"{indent}sha256: {entry.sha256}{newline}")
    return "".join(lines[:at] + block + lines[at:])


def _last_value(node: yaml.Node) -> yaml.Node:
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value:
        item = node.value[-1]
        node = item[1] if isinstance(node, yaml.MappingNode) else item
    return node
