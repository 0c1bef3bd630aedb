"""Keep the sources current with the NHS: merge an ePCN workbook and a GP mapping file.

    plan = plan_refresh(sources, schemas, epcn=Path("ePCN.xlsx"), gp_map=Path("map.zip"))
    print(render_refresh(plan.report, "text"))    # refresh_report: the semantic diff, the bump
    apply_refresh(plan)                            # all source files, or none

`plan_refresh` reads the upstream files (`pipeline.upstream`), keeps the rows of this ICS (its
ICB and sub-ICB codes from the `ics` record, the former CCGs in `organisations`, the commissioner
codes already in `pcns`), merges them into the records (`pipeline.reconcile`), registers the
files in package.yaml, validates the result on a copy and returns the new file texts with a
report. Nothing is written until `apply_refresh`. Refusals (an unreadable upstream file, an
older vintage, sources that would not be valid) are `PipelineError`s and change nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipeline.changes.diff import diff_snapshots
from pipeline.changes.model import Diff
from pipeline.changes.snapshot import sources_snapshot
from pipeline.check.validate import validate_project
from pipeline.core.errors import PipelineError
from pipeline.core.files import commit_files, csv_table, display_path, file_sha256
from pipeline.core.issues import Issue, render_text
from pipeline.core.model import Validation
from pipeline.core.progress import SILENT, Progress
from pipeline.core.scope import Scope, scope_of
from pipeline.core.versions import next_version
from pipeline.sources.load import load_source_file
from pipeline.sources.metadata import load_metadata
from pipeline.sources.project import check_folders
from pipeline.upstream.boundary import keep_epcn, keep_gp_map, merge_upstream
from pipeline.upstream.csvedit import CsvDocument, CsvRow
from pipeline.upstream.editable import EditableTables, Note, Stamp, split_ids
from pipeline.upstream.patients import patient_records, read_registered_patients
from pipeline.upstream.readers import EpcnExtract, GpMapExtract, read_epcn, read_gp_map
from pipeline.upstream.registry import (
    AGES,
    EPCN,
    GP_MAP,
    KIND_LABELS,
    SourceEntry,
    append_entries,
    dated_vintages,
    find_entry,
    held_vintages,
    new_entry,
    read_entries,
    upstream_vintages,
)

FILES = {
    "pcns": "pcns.csv",
    "practices": "practices.csv",
    "pcn_memberships": "pcn_memberships.csv",
    "pcn_names": "pcn_names.csv",
}
# Registered patients: rows of one extract date are replaced as a whole by a file of that date.
PATIENT_FILES = {
    "registered_patients": "registered_patients.csv",
    "registered_totals": "registered_totals.csv",
}
PACKAGE = "package.yaml"
# What the report's diff calls the two sides (see `Snapshot.describe`).
BEFORE, AFTER = "sources", "refreshed sources"


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


@dataclass(frozen=True)
class RefreshReport:
    sources: str
    codes: tuple[str, ...]  # the ICB, sub-ICB and CCG codes the upstream rows were kept by
    inputs: tuple[UpstreamFile, ...]
    notes: tuple[Note, ...]
    # The semantic diff of the sources before and after, as `ics-data diff` makes it. None when
    # the refresh changes no source file, or when the sources before it were not valid (a first
    # import into empty tables): a diff compares valid packages only.
    diff: Diff | None
    version: str
    files: tuple[str, ...]  # source files the refresh changes
    before_issues: int = 0  # validation issues of the sources before the refresh
    # warnings of the refreshed sources by code (the publisher's anomalies, the review gate)
    warnings: dict[str, int] = field(default_factory=dict)
    written: bool = False

    @property
    def bump(self) -> str | None:
        """The version bump the change implies (see `pipeline.changes.policy`); None when not
        compared."""
        if self.diff is not None:
            return self.diff.bump
        return None if self.files else "none"

    @property
    def next_version(self) -> str | None:
        return None if self.bump is None else next_version(self.version, self.bump)

    @property
    def review(self) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.code != "stale-snapshot")

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "codes": list(self.codes),
            "inputs": [i.to_dict() for i in self.inputs],
            "diff": self.diff.to_dict() if self.diff is not None else None,
            "notes": [n.to_dict() for n in self.notes],
            "version": self.version,
            "bump": self.bump,
            "before_issues": self.before_issues,
            "warnings": dict(self.warnings),
            "next_version": self.next_version,
            "files": list(self.files),
            "written": self.written,
        }


@dataclass(frozen=True)
class RefreshPlan:
    """The new text of every source file the refresh changes, and the report. Not yet written."""

    sources: Path
    texts: dict[str, str]  # file name in sources/ -> new text
    originals: dict[str, bytes]  # file name -> bytes read, to refuse writing over later edits
    report: RefreshReport
    # Files the refresh replaces by a CSV of another name: an empty registered_patients.yaml
    # (`[]`, as init writes a table with no records yet) gives way to registered_patients.csv.
    removals: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.texts)


# ---------------------------------------------------------------------------------------------
# Plan


def plan_refresh(
    sources: Path,
    schemas: Path,
    *,
    epcn: Path | None = None,
    gp_map: Path | None = None,
    allow_older: bool = False,
    registered_patients: Path | None = None,
    progress: Progress = SILENT,
) -> RefreshPlan:
    """Read the upstream files and work out the new sources; write nothing."""
    removals: list[str] = []
    if epcn is None and gp_map is None and registered_patients is None:
        raise RefreshError(
            "nothing to refresh from",
            hint="Give --epcn ePCN.xlsx, --gp-map gp-reg-pat-prac-map.zip, "
            "--registered-patients gp-reg-pat-prac-sing-age-regions.zip, or several.",
        )
    check_folders(sources, schemas)
    metadata, problems = load_metadata(sources)
    if metadata is None:
        raise RefreshError(
            f"{display_path(sources / PACKAGE)} cannot be read:\n" + render_text(problems),
            hint="Fix package.yaml (ics-data validate shows where), then run again.",
        )
    originals = {name: _read_bytes(sources / name) for name in [*FILES.values(), PACKAGE]}
    documents = {
        resource: CsvDocument.parse(originals[name].decode("utf-8"), sources / name)
        for resource, name in FILES.items()
    }
    entries = read_entries(metadata.data)
    scope = _ics_scope(sources)
    records = EditableTables(
        pcns=documents["pcns"],
        practices=documents["practices"],
        memberships=documents["pcn_memberships"],
        names=documents["pcn_names"],
        vintages=upstream_vintages(entries),
        dated=dated_vintages(entries),
        scope=scope,
        partnership_of_ccg=_partnership_of_ccg(sources),
        partnership_of_sub_icb=_partnership_of_sub_icb(sources),
        derivation_ids=_derivation_ids(documents["pcns"], upstream_vintages(entries)),
    )
    codes = scope.codes
    held = held_vintages(entries, records.cited())
    progress.start(5, "reading the upstream files")
    inputs = _read_inputs(epcn, gp_map, codes, entries, held, allow_older)
    progress.advance("merging")
    merge_upstream(
        records,
        [
            (Stamp(u.entry.id, u.vintage, u.path.name), extract)
            for u, extract in inputs
            if extract is not None
        ],
    )

    texts: dict[str, str] = {}
    for resource, name in FILES.items():
        text = documents[resource].render()
        if text.encode("utf-8") != originals[name]:
            texts[name] = text
    progress.advance("registered patients" if registered_patients else "merged")
    cited = records.cited()
    fresh = [u.entry for u, _ in inputs if not u.registered and u.entry.id in cited]
    if registered_patients is not None:
        taken = [*entries, *(u.entry for u, _ in inputs)]
        patients, patient_texts, missing = _patients(
            registered_patients, sources, schemas, documents["pcns"], taken, originals
        )
        for code, message in missing:
            records.note("no-registered-patients", "registered_patients", code, message)
        inputs.append((patients, None))
        texts.update(patient_texts)
        removals = _empty_placeholders(sources, patient_texts, originals)
        if not patients.registered and patient_texts:
            fresh.append(patients.entry)
    if fresh:
        package = originals[PACKAGE].decode("utf-8")
        texts[PACKAGE] = append_entries(package, fresh, display_path(sources / PACKAGE))

    diff, before_issues = None, 0
    warnings: dict[str, int] = {}
    progress.advance("validating the sources before and after")
    if texts:
        before, after = _validate_both(sources, schemas, texts, removals)
        warnings = _warning_codes(after.report.warnings)
        progress.advance("comparing them")
        if before.report.ok:
            diff = diff_snapshots(sources_snapshot(before, BEFORE), sources_snapshot(after, AFTER))
        else:
            before_issues = len(before.report.issues)
    progress.finish()
    report = RefreshReport(
        sources=display_path(sources),
        codes=tuple(sorted(codes)),
        inputs=tuple(u for u, _ in inputs),
        notes=tuple(records.notes),
        diff=diff,
        version=metadata.version,
        files=tuple(display_path(sources / name) for name in [*texts, *removals]),
        before_issues=before_issues,
        warnings=warnings,
    )
    return RefreshPlan(sources, texts, originals, report, tuple(removals))


def _empty_placeholders(
    sources: Path, texts: Mapping[str, str], originals: dict[str, bytes]
) -> list[str]:
    """The YAML files with no records that the new CSVs of the same resource replace."""
    found = []
    for name in texts:
        resource = name.removesuffix(".csv")
        for suffix in (".yaml", ".yml"):
            path = sources / f"{resource}{suffix}"
            if path.is_file():
                table, _ = load_source_file(path, resource)
                if table is not None and not table.records:
                    originals[path.name] = path.read_bytes()
                    found.append(path.name)
    return found


def _warning_codes(issues: Sequence[Issue]) -> dict[str, int]:
    """The warnings of the refreshed sources by code: the publisher's anomalies, kept as
    published (`ics-data validate` lists each), and the review gate's."""
    return dict(sorted(Counter(issue.code for issue in issues).items()))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RefreshError(
            f"{display_path(path)} does not exist",
            hint="refresh edits pcns.csv, practices.csv, pcn_memberships.csv and package.yaml "
            "in the sources folder; restore the file (a header line is enough).",
        ) from None
    except OSError as exc:
        raise RefreshError(f"cannot read {display_path(path)}: {exc.strerror}") from None


def _values(sources: Path, resource: str) -> list[dict[str, str | None]]:
    for suffix in (".yaml", ".yml", ".csv"):
        path = sources / f"{resource}{suffix}"
        if path.exists():
            table, _ = load_source_file(path, resource)
            return [dict(record.values) for record in table.records] if table else []
    return []


def _ics_scope(sources: Path) -> Scope:
    """What the ICS is, from its ics record only: its ICB, sub-ICB locations and former CCGs."""
    scope = scope_of(_values(sources, "ics"))
    if scope is None:
        raise RefreshError(
            f"no ICS code in {display_path(sources)}/ics.yaml",
            hint="The ics record's code (the ICB), sub_icb_locations and former_ccgs say which "
            "upstream rows belong to this ICS.",
        )
    return scope


def _partnership_of_ccg(sources: Path) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for record in _values(sources, "partnerships"):
        for ccg in split_ids(str(record.get("ccgs_2019") or "")):
            if record.get("id"):
                mapping[ccg] = str(record["id"])
    return mapping


def _partnership_of_sub_icb(sources: Path) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for record in _values(sources, "partnerships"):
        for code in split_ids(str(record.get("sub_icb_locations") or "")):
            if record.get("id"):
                mapping[code] = str(record["id"])
    return mapping


def _derivation_ids(pcns: CsvDocument, upstream: dict[str, date]) -> tuple[str, ...]:
    """The ids every PCN with a partnership cites besides upstream files (EPCMEM; KM-HCP; ...)."""
    common: list[str] | None = None
    for row in pcns.rows:
        if not row.get("partnership"):
            continue
        ids = [i for i in split_ids(row.get("source")) if i not in upstream]
        common = ids if common is None else [i for i in common if i in ids]
    return tuple(common) if common else ("DERIVED",)


def _ics_areas(sources: Path) -> tuple[frozenset[str], frozenset[str]]:
    """The ICB codes and the sub-ICB location codes of the ICS (ics.yaml, organisations)."""
    icbs: set[str] = set()
    sub_icbs: set[str] = set()
    for record in _values(sources, "ics"):
        if record.get("code"):
            icbs.add(str(record["code"]))
        for name in ("sub_icb_locations", "sub_icb_location_code"):  # a list, or one code
            sub_icbs.update(split_ids(str(record.get(name) or "")))
    for record in _values(sources, "organisations"):
        if record.get("org_type") == "sub-icb-location" and record.get("icb_ods_code") in icbs:
            sub_icbs.add(str(record["code"]))
    return frozenset(icbs), frozenset(sub_icbs)


def _patients(
    path: Path,
    sources: Path,
    schemas: Path,
    pcns: CsvDocument,
    entries: Sequence[SourceEntry],
    originals: dict[str, bytes],
) -> tuple[UpstreamFile, dict[str, str], list[tuple[str, str]]]:
    """Registered patients of the ICS's PCNs, ICBs and sub-ICB locations on the file's extract
    date: the new texts of registered_patients.csv and registered_totals.csv, and the PCNs
    open that day (by the records) that the file has no patients for, each with a message."""
    headers: dict[str, list[str]] = {}
    for resource in PATIENT_FILES:
        schema = schemas / f"{resource}.schema.yaml"
        if not schema.is_file():
            raise RefreshError(
                f"{display_path(schema)} does not exist, so registered patients have no table",
                hint="Add the schemas of registered_patients and registered_totals (as shipped).",
            )
        headers[resource] = _schema_fields(schema)
    icbs, sub_icbs = _ics_areas(sources)
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
        if _open_on(row, day) and extract.get("pcn", str(row.get("pcn_code"))) is None
    ]
    return upstream, texts, missing


def _open_on(row: CsvRow, day: str) -> bool:
    """Definitely open on `day` (ISO text), by the row's open and close dates or bounds."""
    opened = row.get("open_date") or row.get("open_date_latest")
    closed = [row.get(f"close_date{s}") for s in ("", "_earliest", "_latest")]
    if not opened or opened > day:
        return False
    if not any(closed):
        return True
    last = closed[0] or closed[1]
    return bool(last) and last >= day


def _schema_fields(path: Path) -> list[str]:
    try:
        descriptor = yaml.safe_load(path.read_text(encoding="utf-8"))
        return [str(f["name"]) for f in descriptor["fields"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise RefreshError(
            f"{display_path(path)} cannot be read ({exc})", hint="Run ics-data validate."
        ) from None


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


def _read_inputs(
    epcn: Path | None,
    gp_map: Path | None,
    codes: frozenset[str],
    entries: Sequence[SourceEntry],
    held: dict[str, date],
    allow_older: bool,
) -> list[tuple[UpstreamFile, EpcnExtract | GpMapExtract | None]]:
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


LINE_REF = re.compile(r"\(line ([0-9]+)\)")


def merge_conflicts(before: Validation, after: Validation) -> list[str]:
    """Overlaps the merge would make in sources that had none: each names both memberships
    and their sources, for a person to decide (`validate` would report the same overlap)."""
    if not before.report.ok:
        return []
    table = after.dataset.tables.get("pcn_memberships")
    if table is None:
        return []
    by_line = {row.record.line: row.values for row in table.rows}

    def record(line: int) -> str:
        values = by_line.get(line, {})
        ident = values.get("membership_id") or f"line {line}"
        return f"{ident} (line {line}, source {values.get('source') or '-'})"

    found = []
    for issue in after.report.errors:
        if issue.code != "overlap" or issue.resource != "pcn_memberships":
            continue
        other = LINE_REF.search(issue.message)
        both = record(issue.line) + (f" and {record(int(other[1]))}" if other else "")
        found.append(f"{both}: {issue.message}")
    return found


def _validate_both(
    sources: Path, schemas: Path, texts: dict[str, str], removals: Sequence[str] = ()
) -> tuple[Validation, Validation]:
    """The sources validated before and after; refuses when the sources after are not valid."""
    before = validate_project(sources, schemas)
    with tempfile.TemporaryDirectory(prefix="ics-data-refresh-") as folder:
        copy = Path(folder) / sources.name
        shutil.copytree(sources, copy)
        for name, text in texts.items():
            (copy / name).write_bytes(text.encode("utf-8"))
        for name in removals:
            (copy / name).unlink()
        validation = validate_project(copy, schemas)
        conflicts = merge_conflicts(before, validation)
        if conflicts:
            raise RefreshError(
                "refresh cannot merge the upstream periods with the records below, so nothing "
                "was written. Review:\n" + "\n".join(f"  - {line}" for line in conflicts),
                hint="decide which record holds (end one membership before the other starts, "
                "citing your evidence), then run refresh again",
            )
        if not validation.report.ok:
            shown = render_text(validation.report.issues)
            shown = shown.replace(display_path(copy), display_path(sources))
            raise RefreshError(
                "the refreshed sources would not be valid, so nothing was written:\n" + shown,
                hint="Fix what the messages name in the sources (for a new practice, its "
                "ccg_2019_code; for a new PCN, its partnership), then run refresh again.",
            )
        return before, validation


# ---------------------------------------------------------------------------------------------
# Apply


def apply_refresh(plan: RefreshPlan) -> RefreshReport:
    """Write every changed source file, or none (`core.files.commit_files`), even if killed.

    Refuses if a file changed on disk since the plan was made.
    """
    if not plan.texts:
        return replace(plan.report, written=False)
    for name in [*plan.texts, *plan.removals]:
        path = plan.sources / name
        if (path.read_bytes() if path.exists() else b"") != plan.originals[name]:
            raise RefreshError(
                f"{display_path(path)} changed since the refresh was planned; nothing was written",
                hint="Run ics-data refresh again.",
            )
    try:
        # staged and synced, then one journal renamed into place, then the renames: a run
        # killed between two of them is completed by the next (all files or none)
        commit_files(plan.sources, {n: t.encode("utf-8") for n, t in plan.texts.items()})
        for name in plan.removals:  # after the CSVs are in place: never neither file
            (plan.sources / name).unlink()
    except OSError as exc:
        raise RefreshError(
            f"cannot write {display_path(plan.sources)}: {exc.strerror}; nothing was written",
            hint="free some space or fix the folder's permissions, then run it again",
        ) from None
    return replace(plan.report, written=True)
