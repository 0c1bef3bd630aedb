"""The upstream files a refresh is given: each read, kept to the ICS and matched to its entry in
package.yaml's registry of sources (`UpstreamFile`); for a registered patients file, the new texts
of registered_patients.csv and registered_totals.csv."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.core.errors import PipelineError
from pipeline.core.files import csv_table, file_sha256
from pipeline.core.timeline import life
from pipeline.sources.project import LoadedSources
from pipeline.upstream.boundary import keep_epcn, keep_gp_map
from pipeline.upstream.csvedit import CsvDocument, CsvRow
from pipeline.upstream.editable import split_ids
from pipeline.upstream.patients import patient_records, read_registered_patients
from pipeline.upstream.readers import EpcnExtract, GpMapExtract, read_epcn, read_gp_map
from pipeline.upstream.registry import (
    AGES,
    EPCN,
    GP_MAP,
    KIND_LABELS,
    SourceEntry,
    find_entry,
    new_entry,
)

# Registered patients: rows of one extract date are replaced as a whole by a file of that date.
PATIENT_FILES = {
    "registered_patients": "registered_patients.csv",
    "registered_totals": "registered_totals.csv",
}


class RefreshError(PipelineError):
    """A refresh is refused; nothing was written."""


@dataclass(frozen=True)
class UpstreamFile:
    """An upstream file given to refresh, what was kept of it, and the source id it is cited by."""

    kind: str
    path: Path
    vintage: date
    sha256: str
    entry: SourceEntry
    registered: bool  # the entry was already in package.yaml
    rows: int  # rows read (PCNs + partner rows, or practices)
    kept: int  # rows of this ICS
    detail: str  # what was kept, in words

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.path.name,
            "vintage": self.vintage.isoformat(),
            "sha256": self.sha256,
            "source_id": self.entry.id,
            "registered": self.registered,
            "rows": self.rows,
            "kept": self.kept,
            "detail": self.detail,
        }


def read_inputs(
    epcn: Path | None,
    gp_map: Path | None,
    codes: frozenset[str],
    entries: Sequence[SourceEntry],
    held: dict[str, date],
    allow_older: bool,
) -> list[tuple[UpstreamFile, EpcnExtract | GpMapExtract | None]]:
    """The ePCN workbook and the mapping file read, each kept to the ICS's CODES and matched to
    its entry in the registry (ENTRIES); refused when older than what the sources hold (HELD),
    unless ALLOW_OLDER, or when no row is the ICS's."""
    found: list[tuple[UpstreamFile, EpcnExtract | GpMapExtract | None]] = []
    taken = list(entries)
    practices: frozenset[str] = frozenset()
    if gp_map is not None:
        mapping = read_gp_map(gp_map)
        kept_map = keep_gp_map(mapping, codes)
        practices = frozenset(row.practice_code for row in kept_map.rows)
        detail = f"{len(kept_map.rows)} of {len(mapping.rows)} practices"
        upstream = _upstream(
            GP_MAP, gp_map, mapping.vintage, taken, len(mapping.rows), len(kept_map.rows), detail
        )
        found.append((upstream, kept_map))
        taken.append(upstream.entry)
    if epcn is not None:
        extract = read_epcn(epcn)
        if extract.vintage is None:
            raise RefreshError(
                f"{epcn.name}: the workbook has no last-saved date (docProps/core.xml), so its "
                "vintage is unknown",
                hint="Give the ePCN.xlsx as downloaded from ODS.",
            )
        kept = keep_epcn(extract, codes, practices)
        detail = (
            f"{len(kept.pcns)} of {len(extract.pcns)} PCNs, {len(kept.relationships)} of "
            f"{len(extract.relationships)} practice-PCN rows"
        )
        rows = len(extract.pcns) + len(extract.relationships)
        size = len(kept.pcns) + len(kept.relationships)
        found.insert(0, (_upstream(EPCN, epcn, extract.vintage, taken, rows, size, detail), kept))
    for upstream, _ in found:
        newest = held.get(upstream.kind)
        if newest is not None and upstream.vintage < newest and not allow_older:
            label = KIND_LABELS[upstream.kind]
            raise RefreshError(
                f"{upstream.path.name} is the {label} of {upstream.vintage}; the sources already "
                f"hold the one of {newest}",
                hint="A refresh with an older file could undo newer facts. Pass --allow-older if "
                "you mean it: an older file then only fills values the records lack.",
            )
        if upstream.kept == 0:
            raise RefreshError(
                f"{upstream.path.name}: no row belongs to this ICS (codes "
                f"{', '.join(sorted(codes))})",
                hint="Check that the file is the national file or this ICS's part of it, and "
                "that the ics record in sources/ics.yaml has the right codes.",
            )
    return found


def _upstream(
    kind: str,
    path: Path,
    vintage: date,
    entries: Sequence[SourceEntry],
    rows: int,
    kept: int,
    detail: str,
) -> UpstreamFile:
    sha = file_sha256(path)
    entry = find_entry(entries, kind, vintage, sha)
    registered = entry is not None
    if entry is None:
        entry = new_entry(entries, kind, vintage, sha, path.name)
    return UpstreamFile(kind, path, vintage, sha, entry, registered, rows, kept, detail)


def loaded_values(loaded: LoadedSources, resource: str) -> list[dict[str, str | None]]:
    """The records of RESOURCE as loaded (text values), none when it has no table."""
    table = loaded.tables.get(resource)
    return [dict(record.values) for record in table.records] if table else []


def _ics_areas(loaded: LoadedSources) -> tuple[frozenset[str], frozenset[str]]:
    """The ICB codes and the sub-ICB location codes of the ICS (ics.yaml, organisations)."""
    icbs: set[str] = set()
    sub_icbs: set[str] = set()
    for record in loaded_values(loaded, "ics"):
        if record.get("code"):
            icbs.add(str(record["code"]))
        for name in ("sub_icb_locations", "sub_icb_location_code"):  # a list, or one code
            sub_icbs.update(split_ids(str(record.get(name) or "")))
    for record in loaded_values(loaded, "organisations"):
        if record.get("org_type") == "sub-icb-location" and record.get("icb_ods_code") in icbs:
            sub_icbs.add(str(record["code"]))
    return frozenset(icbs), frozenset(sub_icbs)


def read_patients(
    path: Path,
    sources: Path,
    loaded: LoadedSources,
    pcns: CsvDocument,
    entries: Sequence[SourceEntry],
    originals: dict[str, bytes],
) -> tuple[UpstreamFile, dict[str, str], list[tuple[str, str]]]:
    """Registered patients of the ICS's PCNs, ICBs and sub-ICB locations on the file's extract
    date: the new texts of registered_patients.csv and registered_totals.csv, and the PCNs
    open that day (by the records) that the file has no patients for, each with a message."""
    headers: dict[str, list[str]] = {}
    for resource in PATIENT_FILES:
        schema = loaded.schemas.get(resource)
        if schema is None:
            raise RefreshError(
                f"schemas/{resource}.schema.yaml does not exist (or is not a valid Table "
                "Schema), so registered patients have no table",
                hint="Add the schemas of registered_patients and registered_totals (as shipped); "
                "ics-data validate says what is wrong with one that is there.",
            )
        headers[resource] = list(schema.field_names)
    icbs, sub_icbs = _ics_areas(loaded)
    pcn_sub_icb = {row.get("pcn_code"): row.get("sub_icb_code") for row in pcns.rows}
    extract = read_registered_patients(path, keep=set(pcn_sub_icb) | icbs | sub_icbs)
    kept = [a for a in extract.areas.values() if a.area_type in ("icb", "sub-icb-location")]
    if not kept:
        raise RefreshError(
            f"{path.name}: no row belongs to this ICS (ICB {', '.join(sorted(icbs))}, sub-ICB "
            f"locations {', '.join(sorted(sub_icbs))})",
            hint="Check that the file is the national file or this ICS's part of it, and that "
            "the ics record in sources/ics.yaml has the right codes.",
        )
    sha = file_sha256(path)
    entry = find_entry(entries, AGES, extract.vintage, sha)
    registered = entry is not None
    if entry is None:
        entry = new_entry(entries, AGES, extract.vintage, sha, path.name)
    made = patient_records(extract, pcn_sub_icb, icbs, sub_icbs, entry.id)
    texts: dict[str, str] = {}
    for resource, rows in (("registered_patients", made.pcns), ("registered_totals", made.totals)):
        name = PATIENT_FILES[resource]
        old = sources / name
        originals[name] = old.read_bytes() if old.exists() else b""
        text = _replace_date(originals[name], headers[resource], rows, extract.vintage, old)
        if text.encode("utf-8") != originals[name]:
            texts[name] = text
    icb_total = sum(a.total for a in kept if a.area_type == "icb")
    in_pcns = sum(1 for row in made.pcns if row["sex"] == "female" and row["age_from"] == "0")
    detail = (
        f"{in_pcns} PCNs, {len(kept)} ICB and sub-ICB areas of {len(extract.areas)} areas kept "
        f"on {extract.vintage} ({icb_total:,} registered patients in the ICB)"
    )
    kept_rows = len(made.pcns) + len(made.totals)
    upstream = UpstreamFile(
        AGES, path, extract.vintage, sha, entry, registered, extract.lines - 1, kept_rows, detail
    )
    day = extract.vintage.isoformat()
    missing = [
        (
            str(row.get("pcn_code")),
            f"PCN {row.get('pcn_code')} {row.get('pcn_name')} is open on {day} by the records, "
            f"but {path.name} has no registered patients for it; check its dates, or that the "
            "file is complete",
        )
        for row in pcns.rows
        if _open_on(row, extract.vintage) and extract.get("pcn", str(row.get("pcn_code"))) is None
    ]
    return upstream, texts, missing


def _open_on(row: CsvRow, day: date) -> bool:
    """Definitely open on DAY by the row's open and close dates or bounds (`core.timeline`); a
    date that is no date is left to validation, which reports it."""
    try:
        return life(row, "open_date", "close_date").definitely_on(day)
    except ValueError:
        return False


def _replace_date(
    original: bytes, header: list[str], rows: Sequence[dict[str, str]], day: date, path: Path
) -> str:
    """The CSV with the rows of `day` replaced by `rows`, every row in key order (the key starts
    with extract_date, then the columns as the schema orders them)."""
    kept: list[dict[str, str]] = []
    if original:
        document = CsvDocument.parse(original.decode("utf-8"), path)
        kept = [
            {name: row.get(name) for name in header}
            for row in document.rows
            if row.get("extract_date") != day.isoformat()
        ]
    merged = kept + [dict(row) for row in rows]
    merged.sort(key=lambda row: [row.get("extract_date", "")] + _row_key(row))
    return csv_table(header, merged)


_SEX_ORDER = {"all": 0, "female": 1, "male": 2}


def _row_key(row: dict[str, str]) -> list[object]:
    band = row.get("age_from", "")
    return [
        row.get("area_type", ""),
        row.get("area_code", ""),
        row.get("pcn_code", ""),
        _SEX_ORDER.get(row.get("sex", ""), 3),
        -1 if band == "" else int(band),
    ]
