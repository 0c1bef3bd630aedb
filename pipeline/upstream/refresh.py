"""Keep the sources current with the NHS: merge an ePCN workbook and a GP mapping file.

    plan = plan_refresh(sources, schemas, epcn=Path("ePCN.xlsx"), gp_map=Path("map.zip"))
    print(render_refresh(plan.report, "text"))    # refresh_report: the semantic diff, the bump
    apply_refresh(plan)                            # all source files, or none

`plan_refresh` loads the sources once, reads the upstream files
(`pipeline.upstream.refresh_inputs`), keeps the rows of this ICS (its ICB and sub-ICB codes from
the `ics` record, the former CCGs in `organisations`, the commissioner codes already in `pcns`),
merges them into the records (`pipeline.reconcile`), registers the files in package.yaml, and
validates the sources before and after the merge, the second time in memory: only the files it
changes are read and checked again, and the tables of the others are passed on as the first
validation typed them. It returns the new file texts with a report. Nothing is written until
`apply_refresh`. Refusals (an unreadable upstream file, an older vintage, sources that would not
be valid) are `PipelineError`s and change nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.changes.diff import diff_snapshots
from pipeline.changes.model import Diff
from pipeline.changes.snapshot import sources_snapshot
from pipeline.check.validate import validate
from pipeline.core.files import commit_files, display_path
from pipeline.core.issues import Issue, render_text
from pipeline.core.model import Validation
from pipeline.core.progress import SILENT, Progress
from pipeline.core.scope import Scope, scope_of
from pipeline.core.versions import next_version
from pipeline.sources.project import LoadedSources, load_sources, reload_sources
from pipeline.upstream.boundary import merge_upstream
from pipeline.upstream.csvedit import CsvDocument
from pipeline.upstream.editable import EditableTables, Note, Stamp, split_ids
from pipeline.upstream.refresh_inputs import (
    RefreshError,
    UpstreamFile,
    loaded_values,
    read_inputs,
    read_patients,
)
from pipeline.upstream.registry import (
    SourceEntry,
    append_entries,
    dated_vintages,
    held_vintages,
    read_entries,
    upstream_vintages,
)

FILES = {
    "pcns": "pcns.csv",
    "practices": "practices.csv",
    "pcn_memberships": "pcn_memberships.csv",
    "pcn_names": "pcn_names.csv",
}
PACKAGE = "package.yaml"
# What the report's diff calls the two sides (see `Snapshot.describe`).
BEFORE, AFTER = "sources", "refreshed sources"


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
    if epcn is None and gp_map is None and registered_patients is None:
        raise RefreshError(
            "nothing to refresh from",
            hint="Give --epcn ePCN.xlsx, --gp-map gp-reg-pat-prac-map.zip, "
            "--registered-patients gp-reg-pat-prac-sing-age-regions.zip, or several.",
        )
    loaded = load_sources(sources, schemas)  # read once: the merge and both validations use it
    metadata = loaded.metadata
    if metadata is None:
        file = display_path(sources / PACKAGE)
        raise RefreshError(
            f"{file} cannot be read:\n" + render_text([i for i in loaded.issues if i.file == file]),
            hint="Fix package.yaml (ics-data validate shows where), then run again.",
        )
    originals = {name: _read_bytes(sources / name) for name in [*FILES.values(), PACKAGE]}
    documents = {
        resource: CsvDocument.parse(originals[name].decode("utf-8"), sources / name)
        for resource, name in FILES.items()
    }
    entries = read_entries(metadata.data)
    scope = _ics_scope(loaded, sources)
    records = _editable_tables(loaded, documents, entries, scope)
    codes = scope.codes
    progress.start(5, "reading the upstream files")
    held = held_vintages(entries, records.cited())
    inputs = read_inputs(epcn, gp_map, codes, entries, held, allow_older)
    progress.advance("merging")
    stamped = [(Stamp(u.entry.id, u.vintage, u.path.name), x) for u, x in inputs if x is not None]
    merge_upstream(records, stamped)
    texts = {
        name: text
        for resource, name in FILES.items()
        if (text := documents[resource].render()).encode("utf-8") != originals[name]
    }
    progress.advance("registered patients" if registered_patients else "merged")
    cited = records.cited()
    fresh = [u.entry for u, _ in inputs if not u.registered and u.entry.id in cited]
    removals: list[str] = []
    if registered_patients is not None:
        taken = [*entries, *(u.entry for u, _ in inputs)]
        patients, patient_texts, missing = read_patients(
            registered_patients, sources, loaded, documents["pcns"], taken, originals
        )
        for code, message in missing:
            records.note("no-registered-patients", "registered_patients", code, message)
        inputs.append((patients, None))
        texts.update(patient_texts)
        removals = _empty_placeholders(loaded, patient_texts, originals)
        if not patients.registered and patient_texts:
            fresh.append(patients.entry)
    if fresh:
        package = originals[PACKAGE].decode("utf-8")
        texts[PACKAGE] = append_entries(package, fresh, display_path(sources / PACKAGE))
    progress.advance("validating the sources before and after")
    diff, before_issues, warnings = _compare(loaded, sources, texts, removals, progress)
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


def _editable_tables(
    loaded: LoadedSources,
    documents: Mapping[str, CsvDocument],
    entries: Sequence[SourceEntry],
    scope: Scope,
) -> EditableTables:
    """The records the merge edits, with what it needs to know of the ICS."""
    return EditableTables(
        pcns=documents["pcns"],
        practices=documents["practices"],
        memberships=documents["pcn_memberships"],
        names=documents["pcn_names"],
        vintages=upstream_vintages(entries),
        dated=dated_vintages(entries),
        scope=scope,
        partnership_of_ccg=_partnership_of_ccg(loaded),
        partnership_of_sub_icb=_partnership_of_sub_icb(loaded),
        derivation_ids=_derivation_ids(documents["pcns"], upstream_vintages(entries)),
    )


def _compare(
    loaded: LoadedSources,
    sources: Path,
    texts: Mapping[str, str],
    removals: Sequence[str],
    progress: Progress,
) -> tuple[Diff | None, int, dict[str, int]]:
    """The diff of the sources before and after (None when the sources before were not valid,
    or nothing changes), the count of problems before, and the warnings after by code."""
    if not texts:
        return None, 0, {}
    before, after = _validate_both(loaded, sources, texts, removals)
    warnings = _warning_codes(after.report.warnings)
    progress.advance("comparing them")
    if not before.report.ok:
        return None, len(before.report.issues), warnings
    diff = diff_snapshots(sources_snapshot(before, BEFORE), sources_snapshot(after, AFTER))
    return diff, 0, warnings


def _empty_placeholders(
    loaded: LoadedSources, texts: Mapping[str, str], originals: dict[str, bytes]
) -> list[str]:
    """The YAML files with no records that the new CSVs of the same resource replace."""
    found = []
    for name in texts:
        table = loaded.tables.get(name.removesuffix(".csv"))
        if table is not None and table.path.suffix in (".yaml", ".yml") and not table.records:
            originals[table.path.name] = table.path.read_bytes()
            found.append(table.path.name)
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


def _ics_scope(loaded: LoadedSources, sources: Path) -> Scope:
    """What the ICS is, from its ics record only: its ICB, sub-ICB locations and former CCGs."""
    scope = scope_of(loaded_values(loaded, "ics"))
    if scope is None:
        raise RefreshError(
            f"no ICS code in {display_path(sources)}/ics.yaml",
            hint="The ics record's code (the ICB), sub_icb_locations and former_ccgs say which "
            "upstream rows belong to this ICS.",
        )
    return scope


def _partnership_of_ccg(loaded: LoadedSources) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for record in loaded_values(loaded, "partnerships"):
        for ccg in split_ids(str(record.get("ccgs_2019") or "")):
            if record.get("id"):
                mapping[ccg] = str(record["id"])
    return mapping


def _partnership_of_sub_icb(loaded: LoadedSources) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for record in loaded_values(loaded, "partnerships"):
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
    loaded: LoadedSources, sources: Path, texts: Mapping[str, str], removals: Sequence[str] = ()
) -> tuple[Validation, Validation]:
    """The sources validated before and after; refuses when the sources after are not valid.
    After: LOADED as the refresh leaves it (`reload_sources`), with the tables of the files it
    leaves alone as the validation before typed them."""
    before = validate(loaded)
    troubled = {issue.file for issue in before.report.issues}
    unchanged = {
        resource: table
        for resource, table in before.dataset.tables.items()
        if table.source.file not in troubled
    }
    validation = validate(reload_sources(loaded, sources, texts, removals), unchanged)
    conflicts = merge_conflicts(before, validation)
    if conflicts:
        raise RefreshError(
            "refresh cannot merge the upstream periods with the records below, so nothing "
            "was written. Review:\n" + "\n".join(f"  - {line}" for line in conflicts),
            hint="decide which record holds (end one membership before the other starts, "
            "citing your evidence), then run refresh again",
        )
    if not validation.report.ok:
        raise RefreshError(
            "the refreshed sources would not be valid, so nothing was written:\n"
            + render_text(validation.report.issues),
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
