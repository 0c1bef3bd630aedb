"""Start the sources of any ICS in England from the national files: `ics-data init`.

    inputs = read_init_inputs(Path("map.zip"), [Path("ePCN.xlsx")], epcmem, eccg, icb_names)
    result = init_project(Path("greater-manchester"), "QOP", inputs, schemas=Path("schemas"))

The ICB's practices are those the newest mapping file gives it; its sub-ICB locations are theirs;
its former CCGs are the CCGs and retired sub-ICB locations (ODS eccg, epcmem, ePCN parents) most
of whose practices are now the ICB's (derived). From those codes, as `refresh` does, the ePCN files
are merged in vintage order, then the mapping file (`pipeline.upstream.boundary`); practices get
their 2019 CCG from epcmem; organisations, the national icbs table, the four statutory purposes of
every ICS, a claim of the PCN count on the newest date and the package metadata are written beside
them, with partnerships as the partnership rule says (one per sub-ICB location by default, derived
and for review). The folder is built aside, validated, and moved into place only when valid:
nothing is written otherwise.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipeline.check.validate import validate_project
from pipeline.core.errors import PipelineError
from pipeline.core.files import display_path, file_sha256
from pipeline.core.issues import render_text
from pipeline.core.progress import SILENT, Progress
from pipeline.core.scope import (
    BY_CCG_2019,
    BY_SUB_ICB,
    NO_PARTNERSHIPS,
    PARTNERSHIP_RULES,
    Scope,
)
from pipeline.core.timeline import life, moment
from pipeline.upstream.boundary import keep_epcn, keep_gp_map, merge_upstream
from pipeline.upstream.csvedit import CsvRow
from pipeline.upstream.editable import (
    EditableTables,
    Note,
    Stamp,
)
from pipeline.upstream.national import (
    EccgRow,
    Epcmem,
    IcbName,
    eccg_vintage,
    read_eccg,
    read_epcmem,
    read_icb_names,
)
from pipeline.upstream.proposals import propose_partnership
from pipeline.upstream.readers import EpcnExtract, GpMapExtract, GpMapRow, read_epcn, read_gp_map
from pipeline.upstream.reconcile import apply_gp_map
from pipeline.upstream.registry import EPCN, GP_MAP, new_entry

# Source ids of the national reference files (the ePCN and mapping files get EPCN-<vintage> and
# MAP-<vintage>, as refresh names them).
EPCMEM_ID, ECCG_ID, ICB_NAMES_ID = "EPCMEM", "ECCG", "ICB-NAMES"
PURPOSES_ID, STATUTORY_ID, DERIVED_ID = "ICS-PURPOSES", "ICS-STATUTORY", "DERIVED"
# The day the 42 ICBs became statutory (Health and Care Act 2022).
STATUTORY_DAY = date(2022, 7, 1)
# After the ONS ICB list of December 2024: the earliest day a later ICB (or ONS code) can start.
AFTER_ICB24 = date(2025, 1, 1)
LAST_IN_ICB24 = date(2024, 12, 31)
# The four purposes every ICS has (NHS England, "Integrating care: next steps", 2020), as the
# source registered under PURPOSES_ID lists them.
PURPOSES = (
    "Improving population health and healthcare outcomes",
    "Tackling inequalities in outcomes, experience and access",
    "Enhancing productivity and value for money",
    "Helping the NHS to support broader social and economic development",
)
REFERENCE_SOURCES = (
    {
        "id": PURPOSES_ID,
        "title": "The four purposes of every integrated care system (NHS England, Integrating "
        "Care: Next Steps, November 2020), as listed by the NHS Confederation",
        "path": "https://www.openaccessgovernment.org/moving-to-integrated-care-systems-for-"
        "healthcare-in-england/189696",
    },
    {
        "id": STATUTORY_ID,
        "title": "The Health Foundation, written evidence ICS0063 to the House of Commons: on "
        "1 July 2022 England was formally divided into 42 ICSs (Health and Care Act 2022)",
        "path": "https://committees.parliament.uk/writtenevidence/110487/html/",
    },
)


class InitError(PipelineError):
    """`ics-data init` is refused; nothing was written."""


@dataclass(frozen=True)
class NationalFile:
    """One file given to init: where it is, its bytes' sha256 and its vintage."""

    path: Path
    sha256: str
    vintage: date | None


@dataclass(frozen=True)
class InitInputs:
    """The national files, read once (a benchmark or a test inits many ICBs from one read)."""

    gp_map: tuple[NationalFile, GpMapExtract]  # the newest mapping file: it says what the ICB is
    epcn: tuple[tuple[NationalFile, EpcnExtract], ...] = ()
    # Older mapping files: they only fill gaps (a postcode, a former name), as refresh
    # --allow-older does, never add or end anything.
    older_maps: tuple[tuple[NationalFile, GpMapExtract], ...] = ()
    epcmem: tuple[NationalFile, Epcmem] | None = None
    eccg: tuple[NationalFile, dict[str, EccgRow]] | None = None
    icb_names: tuple[NationalFile, tuple[IcbName, ...]] | None = None

    def icbs_in_map(self) -> tuple[str, ...]:
        return tuple(sorted({row.icb_code for row in self.gp_map[1].rows}))


def read_init_inputs(
    gp_map: Path | Sequence[Path],
    epcn: Sequence[Path] = (),
    epcmem: Path | None = None,
    eccg: Path | None = None,
    icb_names: Path | None = None,
    progress: Progress = SILENT,
) -> InitInputs:
    paths = [gp_map] if isinstance(gp_map, Path) else list(gp_map)
    if not paths:
        raise InitError("no mapping file", hint="Give --gp-map gp-reg-pat-prac-map.zip.")
    others = [f for f in (epcmem, eccg, icb_names) if f is not None]
    progress.start(len(paths) + len(epcn) + len(others), "reading the national files")
    read_maps = []
    for path in paths:
        extract_map = read_gp_map(path)
        read_maps.append((NationalFile(path, file_sha256(path), extract_map.vintage), extract_map))
        progress.advance(path.name)
    maps = sorted(read_maps, key=lambda item: item[1].vintage)
    workbooks = []
    for path in epcn:
        extract = read_epcn(path)
        progress.advance(path.name)
        if extract.vintage is None:
            raise InitError(
                f"{path.name}: the workbook has no last-saved date (docProps/core.xml), so its "
                "vintage is unknown",
                hint="Give the ePCN.xlsx as downloaded from ODS.",
            )
        workbooks.append((NationalFile(path, file_sha256(path), extract.vintage), extract))
    members = read_epcmem(epcmem) if epcmem else None
    eccg_rows = read_eccg(eccg) if eccg else None
    names = read_icb_names(icb_names) if icb_names else None
    for path in others:
        progress.advance(path.name)
    progress.finish()
    return InitInputs(
        maps[-1],
        tuple(workbooks),
        tuple(maps[:-1]),
        (NationalFile(epcmem, file_sha256(epcmem), members.vintage), members)
        if epcmem and members
        else None,
        (NationalFile(eccg, file_sha256(eccg), eccg_vintage(eccg_rows)), eccg_rows)
        if eccg and eccg_rows
        else None,
        (NationalFile(icb_names, file_sha256(icb_names), None), names)
        if icb_names and names is not None
        else None,
    )


@dataclass(frozen=True)
class InitResult:
    folder: Path
    icb: str
    name: str  # the package name
    scope: Scope
    release_date: date
    pcns_open: int  # the ICS's PCNs open on the release date
    practices_open: int  # member practices of those PCNs that day
    memberships: int
    warnings: dict[str, int]
    notes: tuple[Note, ...] = ()
    ics_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": display_path(self.folder),
            "icb": self.icb,
            "name": self.name,
            "ics_name": self.ics_name,
            "sub_icb_locations": list(self.scope.sub_icb_locations),
            "former_ccgs": list(self.scope.former_ccgs),
            "partnership_rule": self.scope.partnership_rule,
            "release_date": self.release_date.isoformat(),
            "pcns_open": self.pcns_open,
            "practices_open": self.practices_open,
            "memberships": self.memberships,
            "warnings": self.warnings,
            "notes": [note.to_dict() for note in self.notes],
        }


# ---------------------------------------------------------------------------------------------
# The ICS's codes


def former_codes(
    icb: str, inputs: InitInputs, current: Iterable[str], sub_icbs_now: Iterable[str]
) -> tuple[str, ...]:
    """The CCGs and retired sub-ICB locations most of whose practices are now the ICB's.

    A code's practices: those whose 2019 CCG it was (epcmem) and those whose parent it was in an
    ePCN period. A code still in use by any ICB (a sub-ICB location in the mapping file) is that
    ICB's, never a former code; a code with no practice left is its ICB's in eccg if closed.
    """
    mapping = inputs.gp_map[1]
    icb_of = {row.practice_code: row.icb_code for row in mapping.rows}
    in_use = set(sub_icbs_now) | set(current)
    practices_of: dict[str, set[str]] = defaultdict(set)
    if inputs.epcmem is not None:
        for practice, ccg in inputs.epcmem[1].ccg_of.items():
            practices_of[ccg].add(practice)
    for _, extract in inputs.epcn:
        for rel in extract.relationships:
            practices_of[rel.practice_parent_code].add(rel.practice_code)
            practices_of[rel.pcn_parent_code].add(rel.practice_code)
    found = set()
    for code, practices in practices_of.items():
        if code in in_use or not code:
            continue
        votes = Counter(icb_of[p] for p in practices if p in icb_of)
        if votes:
            top = sorted(votes.items(), key=lambda item: (-item[1], item[0]))[0][0]
            if top == icb:
                found.add(code)
    if inputs.eccg is not None:
        for row in inputs.eccg[1].values():
            if row.icb_code == icb and row.close_date and row.code not in in_use:
                if not any(p in icb_of for p in practices_of.get(row.code, ())):
                    found.add(row.code)
    return tuple(sorted(found))


# ---------------------------------------------------------------------------------------------
# Init


def init_project(
    folder: Path,
    icb: str,
    inputs: InitInputs,
    schemas: Path,
    *,
    rule: str = BY_SUB_ICB,
) -> InitResult:
    """Write FOLDER/sources and FOLDER/schemas for ICB, or nothing (see the module)."""
    if rule not in PARTNERSHIP_RULES:
        raise InitError(
            f"unknown partnership rule {rule!r}",
            hint=f"Choose one of {', '.join(PARTNERSHIP_RULES)}.",
        )
    for part in ("sources", "schemas"):
        target = folder / part
        if target.exists() and any(target.iterdir()):
            raise InitError(
                f"{display_path(target)} already holds files; init writes a new project",
                hint="Choose a new folder, or keep the sources you have and run ics-data refresh.",
            )
    if not schemas.is_dir() or not any(schemas.glob("*.schema.yaml")):
        raise InitError(
            f"{display_path(schemas)} holds no Table Schemas to start from",
            hint="Pass --schemas DIR: the generic schemas (the repository's schemas/ folder).",
        )
    map_file, mapping = inputs.gp_map
    own_rows = [row for row in mapping.rows if row.icb_code == icb]
    if not own_rows:
        raise InitError(
            f"{map_file.path.name} has no practice of ICB {icb!r}",
            hint=f"The ICBs in it are {', '.join(inputs.icbs_in_map())}.",
        )
    sub_icbs = tuple(sorted({row.sub_icb_code for row in own_rows}))
    all_sub_icbs = {row.sub_icb_code for row in mapping.rows}
    former = former_codes(icb, inputs, sub_icbs, all_sub_icbs)
    scope = Scope(icb, sub_icbs, former, rule)
    builder = _Builder(icb, inputs, scope, schemas)
    project = builder.build()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ics-data-init-", dir=folder) as temp:
        staged = Path(temp)
        project.write(staged, schemas)
        validation = validate_project(staged / "sources", staged / "schemas")
        if not validation.report.ok:
            shown = render_text(validation.report.errors[:40])
            raise InitError(
                f"the sources made for {icb} would not be valid, so nothing was written:\n"
                + shown.replace(display_path(staged), display_path(folder)),
                hint="This is a gap in ics-data init for this ICB's data; the messages say where.",
            )
        for part in ("sources", "schemas"):
            (folder / part).mkdir(exist_ok=True)
            for path in sorted((staged / part).iterdir()):
                shutil.move(str(path), folder / part / path.name)
    warnings = dict(validation.report.summary.get("warnings", {}))
    return InitResult(
        folder,
        icb,
        project.name,
        scope,
        project.release_date,
        project.pcns_open,
        project.practices_open,
        len(builder.records.memberships.rows),
        warnings,
        tuple(builder.records.notes),
        project.title,
    )


@dataclass
class _Project:
    """Every file of the new project, as text."""

    name: str
    title: str
    release_date: date
    pcns_open: int
    practices_open: int
    texts: dict[str, str] = field(default_factory=dict)

    def write(self, folder: Path, schemas: Path) -> None:
        (folder / "sources").mkdir()
        (folder / "schemas").mkdir()
        for name, text in self.texts.items():
            (folder / "sources" / name).write_bytes(text.encode("utf-8"))
        written = {name.rsplit(".", 1)[0] for name in self.texts}
        for path in sorted(schemas.glob("*.schema.yaml")):
            shutil.copyfile(path, folder / "schemas" / path.name)
            resource = path.name.removesuffix(".schema.yaml")
            if resource not in written:  # a resource init has no data for yet: no records
                text = _yaml_records(f"No {resource} records yet (see its schema).", [])
                (folder / "sources" / f"{resource}.yaml").write_bytes(text.encode("utf-8"))


class _Builder:
    """Builds the records of one ICB from the national files."""

    def __init__(self, icb: str, inputs: InitInputs, scope: Scope, schemas: Path) -> None:
        self.icb = icb
        self.inputs = inputs
        self.scope = scope
        self.schemas = schemas
        self.entries: list[dict[str, Any]] = []
        self.stamps: list[tuple[Stamp, EpcnExtract | GpMapExtract]] = []
        self.older: list[tuple[Stamp, GpMapExtract]] = []
        self.records = EditableTables.empty(scope=None, dated={}, derivation_ids=(DERIVED_ID,))
        map_file, mapping = inputs.gp_map
        self.map_rows = [row for row in mapping.rows if row.icb_code == icb]
        self.map_id = ""

    # --- the upstream files -----------------------------------------------------------------

    def _register_upstream(self) -> None:
        taken: list[Any] = []
        map_file, mapping = self.inputs.gp_map
        kept_map = keep_gp_map(mapping, self.scope.codes)
        practices = frozenset(row.practice_code for row in kept_map.rows)
        for file, extract in self.inputs.epcn:
            if file.vintage is None:
                raise InitError(f"{file.path.name}: the workbook's vintage is unknown")
            entry = new_entry(taken, EPCN, file.vintage, file.sha256, file.path.name)
            taken.append(entry)
            kept = keep_epcn(extract, self.scope.codes, practices)
            self.stamps.append((Stamp(entry.id, file.vintage, file.path.name), kept))
            self.entries.append(_entry(entry.id, entry.title, file))
        for file, older in self.inputs.older_maps:
            entry = new_entry(taken, GP_MAP, older.vintage, file.sha256, file.path.name)
            taken.append(entry)
            self.older.append(
                (
                    Stamp(entry.id, older.vintage, file.path.name),
                    keep_gp_map(older, self.scope.codes),
                )
            )
            self.entries.append(_entry(entry.id, entry.title, file))
        entry = new_entry(taken, GP_MAP, mapping.vintage, map_file.sha256, map_file.path.name)
        self.map_id = entry.id
        self.stamps.append((Stamp(entry.id, mapping.vintage, map_file.path.name), kept_map))
        self.entries.append(_entry(entry.id, entry.title, map_file))
        if self.inputs.epcmem is not None:
            file = self.inputs.epcmem[0]
            title = "NHS ODS epcmem.csv (GP practice to CCG membership history)"
            self.entries.append(_entry(EPCMEM_ID, f"{title}, file {file.path.name}", file))
        if self.inputs.eccg is not None:
            file = self.inputs.eccg[0]
            title = "NHS ODS eccg.csv (CCGs and sub-ICB locations, including closed ones)"
            self.entries.append(_entry(ECCG_ID, f"{title}, file {file.path.name}", file))
        if self.inputs.icb_names is not None:
            file = self.inputs.icb_names[0]
            title = "ONS, Integrated Care Boards names and codes (ICB24CD, ICB24CDH, ICB24NM)"
            self.entries.append(_entry(ICB_NAMES_ID, f"{title}, file {file.path.name}", file))

    @property
    def release_date(self) -> date:
        return max(stamp.vintage for stamp, _ in self.stamps)

    def build(self) -> _Project:
        self._register_upstream()
        # Merged with no partnership layer first: partnerships need the practices' 2019 CCGs,
        # which epcmem gives after the merge.
        rule = self.scope.partnership_rule
        self.records.scope = Scope(
            self.scope.icb, self.scope.sub_icb_locations, self.scope.former_ccgs, NO_PARTNERSHIPS
        )
        for stamp, _ in [*self.stamps, *self.older]:
            self.records.dated[stamp.id] = stamp.vintage
        merge_upstream(self.records, self.stamps)
        newest = self.release_date
        for stamp, extract in self.older:
            self.records.vintages[stamp.id] = stamp.vintage
            apply_gp_map(self.records, extract, stamp, newest)  # fills gaps only
        self.records.scope = self.scope
        self.records.notes = [
            n
            for n in self.records.notes
            if n.code not in ("practice-without-ccg", "partnership-to-set")
        ]
        self._fill_ccgs()
        partnerships = self._partnerships(rule)
        organisations = self._organisations()
        day = self.release_date
        pcns_open, practices_open = self._open_on(day)
        texts = {
            "pcns.csv": self.records.pcns.render(),
            "practices.csv": self.records.practices.render(),
            "pcn_memberships.csv": self.records.memberships.render(),
            "pcn_names.csv": self._names_text(),
            "organisations.csv": self._csv("organisations", organisations),
            "icbs.csv": self._csv("icbs", self._icbs()),
            "ics.yaml": _yaml_records("The integrated care system (one record).", [self._ics()]),
            "partnerships.yaml": _yaml_records(
                f"The ICS's partnerships (partnership rule {rule}; derived, for review).",
                partnerships,
            ),
            "objectives.yaml": _yaml_records(
                "The four purposes every ICS has; replace them with the ICS's own words.",
                [
                    {"number": n, "objective": text, "source": PURPOSES_ID}
                    for n, text in enumerate(PURPOSES, start=1)
                ],
            ),
            "claims.yaml": _yaml_records(
                "Figures the ICS states about itself; the first was made by ics-data init.",
                [self._pcn_claim(day, pcns_open)],
            ),
            "milestones.yaml": _yaml_records("Dated milestones of the ICS, typed by hand.", []),
            "decisions.yaml": _yaml_records(
                "Decisions recorded about warnings (anomalies in the publisher's data).", []
            ),
        }
        name = self._names()
        texts["package.yaml"] = self._package(name)
        return _Project(name["slug"], name["system"], day, pcns_open, practices_open, texts)

    def _names_text(self) -> str:
        """pcn_names, each PCN's names numbered in the order they held: an older mapping file,
        merged last, adds an earlier name after the later ones."""
        names = self.records.names
        if names is None:
            return ""
        by_pcn: dict[str, list[CsvRow]] = defaultdict(list)
        for row in names.rows:
            by_pcn[row.get("pcn_code")].append(row)
        ordered: list[CsvRow] = []
        for code in sorted(by_pcn):
            rows = sorted(
                by_pcn[code],
                key=lambda r: (
                    moment(r, "valid_to").hi or date.max,
                    moment(r, "valid_from").lo or date.min,
                ),
            )
            for number, row in enumerate(rows, start=1):
                row.set("number", str(number))
            ordered.extend(rows)
        names.rows[:] = ordered
        return names.render()

    # --- practices' 2019 CCGs ---------------------------------------------------------------

    def _fill_ccgs(self) -> None:
        if self.inputs.epcmem is None:
            return
        file, members = self.inputs.epcmem
        stamp = Stamp(EPCMEM_ID, file.vintage or self.release_date, file.path.name)
        for row in self.records.practices.rows:
            ccg = members.ccg_of.get(row.get("practice_code"))
            if ccg:
                self.records.put(row, "ccg_2019_code", ccg, stamp)

    # --- partnerships -----------------------------------------------------------------------

    def _own_pcns(self) -> list[CsvRow]:
        return [row for row in self.records.pcns.rows if self.scope.owns(row.get("sub_icb_code"))]

    def _partnerships(self, rule: str) -> list[dict[str, str]]:
        map_stamp = next(stamp for stamp, _ in self.stamps if stamp.id == self.map_id)
        for row in self.records.pcns.rows:
            self.records.put(row, "partnership_review", "false", map_stamp)
        if rule == BY_SUB_ICB:
            records = self._sub_icb_partnerships()
        elif rule == BY_CCG_2019:
            records = self._ccg_partnerships()
        else:
            return []
        for row in self._own_pcns():
            propose_partnership(self.records, row, map_stamp, self.release_date)
            # Each PCN follows the rule as it stands; what awaits review is the partnership
            # layer itself, which partnerships.note says. A split vote stays marked for review.
            if not any(
                n.code == "partnership-split" and n.key == row.get("pcn_code")
                for n in self.records.notes
            ):
                self.records.put(row, "partnership_review", "false", map_stamp)
        self.records.notes = [n for n in self.records.notes if n.code != "partnership-proposed"]
        return records

    def _sub_icb_partnerships(self) -> list[dict[str, str]]:
        names = self._sub_icb_names()
        # A former code goes with the sub-ICB location most of its practices are in now.
        now = {row.practice_code: row.sub_icb_code for row in self.map_rows}
        votes: dict[str, Counter[str]] = defaultdict(Counter)
        for row in self.records.practices.rows:
            code = row.get("practice_code")
            if code in now and row.get("ccg_2019_code") in self.scope.former_ccgs:
                votes[row.get("ccg_2019_code")][now[code]] += 1
        for row in self.records.memberships.rows:
            pcn = self.records.pcn(row.get("pcn_code"))
            practice = row.get("practice_code")
            if (
                pcn is not None
                and practice in now
                and pcn.get("sub_icb_code") in self.scope.former_ccgs
            ):
                votes[pcn.get("sub_icb_code")][now[practice]] += 1
        assigned: dict[str, list[str]] = {code: [code] for code in self.scope.sub_icb_locations}
        for code in self.scope.former_ccgs:
            ranked = sorted(votes[code].items(), key=lambda item: (-item[1], item[0]))
            if ranked:
                assigned[ranked[0][0]].append(code)
            elif len(self.scope.sub_icb_locations) == 1:
                assigned[self.scope.sub_icb_locations[0]].append(code)
        records = []
        for code in self.scope.sub_icb_locations:
            ident = f"sub-icb-{code.lower()}"
            for member in assigned[code]:
                self.records.partnership_of_sub_icb[member] = ident
            name = names.get(code, code)
            records.append(
                {
                    "id": ident,
                    "name": name,
                    "full_name": f"{name} (sub-ICB location {code})",
                    "sub_icb_locations": "; ".join(assigned[code]),
                    "note": "derived: one partnership per sub-ICB location, made by ics-data "
                    "init, with the former CCGs most of whose practices are in it now; for "
                    "review: name, merge or split the partnerships as the ICS has them",
                    "source": "; ".join(self._ids(self.map_id, ECCG_ID, DERIVED_ID)),
                }
            )
        return records

    def _ccg_partnerships(self) -> list[dict[str, str]]:
        own = {row.get("pcn_code") for row in self._own_pcns()}
        members = {
            row.get("practice_code")
            for row in self.records.memberships.rows
            if row.get("pcn_code") in own
        }
        ccgs = sorted(
            {
                row.get("ccg_2019_code")
                for row in self.records.practices.rows
                if row.get("practice_code") in members and row.get("ccg_2019_code")
            }
        )
        names = self._org_names()
        records = []
        for ccg in ccgs:
            ident = f"ccg-{ccg.lower()}"
            self.records.partnership_of_ccg[ccg] = ident
            name = names.get(ccg, ccg)
            records.append(
                {
                    "id": ident,
                    "name": name,
                    "full_name": f"{name} (former CCG {ccg})",
                    "ccgs_2019": ccg,
                    "note": "derived: one partnership per 2019 CCG of the ICS's practices, made "
                    "by ics-data init; for review: name and group them as the ICS's partnerships",
                    "source": "; ".join(self._ids(EPCMEM_ID, ECCG_ID, DERIVED_ID)),
                }
            )
        self.records.derivation_ids = tuple(self._ids(EPCMEM_ID, DERIVED_ID))
        return records

    # --- organisations ----------------------------------------------------------------------

    def _eccg(self) -> dict[str, EccgRow]:
        return self.inputs.eccg[1] if self.inputs.eccg is not None else {}

    def _sub_icb_names(self) -> dict[str, str]:
        names = {row.sub_icb_code: row.sub_icb_name for row in self.map_rows}
        names.update({code: row.name for code, row in self._eccg().items() if code in names})
        return names

    def _org_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for _, extract in self.inputs.epcn:
            for pcn in extract.pcns:
                names.setdefault(pcn.commissioner_code, pcn.commissioner_name)
        names.update({row.sub_icb_code: row.sub_icb_name for row in self.inputs.gp_map[1].rows})
        names.update({code: row.name for code, row in self._eccg().items()})
        return names

    def _organisations(self) -> list[dict[str, str]]:
        eccg = self._eccg()
        names = self._org_names()
        icb_name = self._icb_name()
        rows = [
            {
                "code": self.icb,
                "org_type": "icb",
                "ods_code": self.icb,
                "ons_code": self._icb_ons_code(),
                "name": icb_name,
                "region_ods_code": self._region()[0],
                "source": "; ".join(self._ids(self.map_id, ICB_NAMES_ID)),
            }
        ]
        ons = {row.sub_icb_code: row.sub_icb_ons_code for row in self.map_rows}
        for code in self.scope.sub_icb_locations:
            rows.append(
                self._org(
                    code,
                    "sub-icb-location",
                    eccg,
                    names,
                    ons.get(code, ""),
                    self.icb,
                    "",
                    self.map_id,
                )
            )
        for code in self.scope.former_ccgs:
            note = (
                f"derived: a former code of {self.icb}, most of whose practices are the ICB's now"
            )
            rows.append(self._org(code, "former-ccg", eccg, names, "", self.icb, note, DERIVED_ID))
        cited: dict[str, str] = {}
        for row in self.records.pcns.rows:
            cited.setdefault(row.get("sub_icb_code"), "the commissioner of a PCN")
        for row in self.records.practices.rows:
            cited.setdefault(row.get("ccg_2019_code"), "the 2019 CCG of a practice")
        map_icb = {row.sub_icb_code: row.icb_code for row in self.inputs.gp_map[1].rows}
        for code, why in sorted(cited.items()):
            if not code or code in self.scope.codes:
                continue
            other = eccg[code].icb_code if code in eccg else map_icb.get(code, "")
            kind = (
                "sub-icb-location"
                if code not in eccg or not eccg[code].close_date
                else "former-ccg"
            )
            note = f"another ICB's ({other or 'ICB not known'}): {why} in the ICS's records"
            rows.append(self._org(code, kind, eccg, names, "", other, note, ""))
        return rows

    def _org(
        self,
        code: str,
        kind: str,
        eccg: Mapping[str, EccgRow],
        names: Mapping[str, str],
        ons: str,
        icb: str,
        note: str,
        extra: str,
    ) -> dict[str, str]:
        row = eccg.get(code)
        ids = [ECCG_ID] if row is not None else [self.map_id if code in names else DERIVED_ID]
        if extra and extra not in ids:
            ids.append(extra)
        return {
            "code": code,
            "org_type": kind,
            "ods_code": code,
            "ons_code": ons,
            "name": row.name if row is not None else names.get(code, code),
            "open_date": _iso(row.open_date) if row else "",
            "close_date": _iso(row.close_date) if row else "",
            "region_ods_code": row.region_code if row else "",
            "icb_ods_code": icb,
            "notes": note,
            "source": "; ".join(self._ids(*ids)),
        }

    # --- the national icbs table ------------------------------------------------------------

    def _region(self) -> tuple[str, str, str]:
        first = self.map_rows[0]
        return first.region_code, first.region_name, first.region_ons_code

    def _icb_ons_code(self) -> str:
        """The ICB's ONS code: the mapping file's, unless the file is older than the ONS ICB list
        and pairs the code with an STP's ONS code (E54000052 for QXU in 2022-01): then ONS's."""
        mapped = self.map_rows[0].icb_ons_code
        if self.inputs.icb_names is None or self.inputs.gp_map[1].vintage > LAST_IN_ICB24:
            return mapped
        listed = [row.ons_code for row in self.inputs.icb_names[1] if row.ods_code == self.icb]
        return mapped if mapped in listed or len(listed) != 1 else listed[0]

    def _icb_name(self) -> str:
        if self.inputs.icb_names is not None:
            for row in self.inputs.icb_names[1]:
                if row.ods_code == self.icb and row.ons_code == self._icb_ons_code():
                    return row.name
            for row in self.inputs.icb_names[1]:
                if row.ods_code == self.icb:
                    return row.name
        return self.map_rows[0].icb_name

    def _icbs(self) -> list[dict[str, str]]:
        """ICB24's pairs, valid from 2022-07-01, and the mapping file's: a pair only in the mapping
        file (newer than ICB24) starts between 2025-01-01 and its extract date; an ICB24 pair gone
        from it ends between 2024-12-31 and the day before. Regions from the mapping file, else
        from eccg's region of the ICB's sub-ICB locations."""
        mapping = self.inputs.gp_map[1]
        extract = mapping.vintage
        regions: dict[str, tuple[str, str]] = {}
        in_map: dict[tuple[str, str], GpMapRow] = {}
        for row in mapping.rows:
            regions.setdefault(row.region_code, (row.region_name, row.region_ons_code))
            in_map.setdefault((row.icb_code, row.icb_ons_code), row)
        eccg_region: dict[str, str] = {}
        for eccg_row in self._eccg().values():
            if eccg_row.close_date is None:
                eccg_region.setdefault(eccg_row.icb_code, eccg_row.region_code)
        rows: list[dict[str, str]] = []
        listed = set()
        for name in self.inputs.icb_names[1] if self.inputs.icb_names is not None else ():
            pair = (name.ods_code, name.ons_code)
            listed.add(pair)
            line = in_map.get(pair)
            region = line.region_code if line else eccg_region.get(name.ods_code, "")
            region_name, region_ons = regions.get(region, ("", ""))
            out = {
                "icb_ods_code": name.ods_code,
                "icb_ons_code": name.ons_code,
                "icb_name": name.name,
                "region_ods_code": region,
                "region_name": region_name,
                "region_ons_code": region_ons,
                "valid_from": STATUTORY_DAY.isoformat(),
                "source": "; ".join(self._ids(ICB_NAMES_ID, STATUTORY_ID)),
            }
            if line is None and extract > LAST_IN_ICB24:
                out["valid_to_earliest"] = LAST_IN_ICB24.isoformat()
                out["valid_to_latest"] = date.fromordinal(extract.toordinal() - 1).isoformat()
                out["source"] = "; ".join(self._ids(ICB_NAMES_ID, STATUTORY_ID, self.map_id))
            rows.append(out)
        for pair, line in sorted(in_map.items()):
            if pair in listed:
                continue
            if listed and extract <= LAST_IN_ICB24:
                continue  # an STP's code of an older file, not an ICB's
            out = {
                "icb_ods_code": line.icb_code,
                "icb_ons_code": line.icb_ons_code,
                "icb_name": line.icb_name,
                "region_ods_code": line.region_code,
                "region_name": line.region_name,
                "region_ons_code": line.region_ons_code,
                "valid_from_latest": extract.isoformat(),
                "source": self.map_id,
            }
            if listed:
                out["valid_from_earliest"] = AFTER_ICB24.isoformat()
            rows.append(out)
        return rows

    # --- the ics record, the claim, the metadata --------------------------------------------

    def _names(self) -> dict[str, str]:
        legal = self._icb_name()
        short = re.sub(r"\s+Integrated Care Board$", "", legal).strip() or legal
        place = re.sub(r"^NHS\s+", "", short).strip() or short
        slug = re.sub(r"[^a-z0-9]+", "-", place.casefold()).strip("-") + "-ics"
        return {
            "legal": legal,
            "short": short,
            "system": f"{place} Integrated Care System",
            "place": place,
            "slug": slug,
        }

    def _ics(self) -> dict[str, str]:
        names = self._names()
        region = self._region()
        statutory = ""
        if self.inputs.icb_names is not None and any(
            row.ods_code == self.icb for row in self.inputs.icb_names[1]
        ):
            statutory = STATUTORY_DAY.isoformat()
        record = {
            "code": self.icb,
            "name": names["system"],
            "icb_name": names["short"],
            "icb_legal_name": names["legal"],
            "ons_code": self._icb_ons_code(),
            "sub_icb_locations": "; ".join(self.scope.sub_icb_locations),
            "former_ccgs": "; ".join(self.scope.former_ccgs),
            "partnership_rule": self.scope.partnership_rule,
            "region_ods_code": region[0],
            "region_name": region[1],
            "region_ons_code": region[2],
            "statutory_since": statutory,
            "source": "; ".join(
                self._ids(
                    self.map_id,
                    ICB_NAMES_ID,
                    ECCG_ID,
                    STATUTORY_ID if statutory else "",
                    DERIVED_ID,
                )
            ),
        }
        return record

    def _open_on(self, day: date) -> tuple[int, int]:
        """The ICS's PCNs definitely open on `day`, as the structure lists them, and their
        member practices that day."""
        members: dict[str, set[str]] = defaultdict(set)
        for row in self.records.memberships.rows:
            if life(row, "start_date", "end_date").definitely_on(day):
                members[row.get("pcn_code")].add(row.get("practice_code"))
        pcns = 0
        practices: set[str] = set()
        for row in self.records.pcns.rows:
            code = row.get("pcn_code")
            if not self.scope.owns(row.get("sub_icb_code")) and not members.get(code):
                continue
            if life(row, "open_date", "close_date").definitely_on(day):
                pcns += 1
                practices |= members.get(code, set())
        return pcns, len(practices)

    def _pcn_claim(self, day: date, count: int) -> dict[str, str]:
        newest = max(self.stamps, key=lambda item: item[0].vintage)[0]
        return {
            "id": f"pcns-on-{day.isoformat()}",
            "statement": f"{count} primary care networks on {day.isoformat()}.",
            "figure": str(count),
            "unit": "primary care networks",
            "as_at": day.isoformat(),
            "check": "pcns-open",
            "note": f"Made by ics-data init from the PCNs of the ICS open on the date of the "
            f"newest file ({newest.file}), not stated by the ICS: replace it with the ICS's own "
            "figures.",
            "source": "; ".join(self._ids(newest.id, DERIVED_ID)),
        }

    def _ids(self, *ids: str) -> list[str]:
        declared = (
            {entry["id"] for entry in self.entries}
            | {DERIVED_ID}
            | {entry["id"] for entry in REFERENCE_SOURCES}
        )
        out: list[str] = []
        for ident in ids:
            if ident and ident in declared and ident not in out:
                out.append(ident)
        return out or [DERIVED_ID]

    def _package(self, names: Mapping[str, str]) -> str:
        lines = [
            f"# Package metadata of the {names['system']} sources, made by ics-data init.",
            "# Every record names its provenance by the id of an entry under `sources`.",
            f"name: {names['slug']}",
            f"title: {json.dumps(names['system'] + ' - structure and facts')}",
            "description: >-",
            f"  The structure of the {names['system']} ({self.icb}): its integrated care board,",
            "  sub-ICB locations and former CCGs, its partnerships, every primary care network",
            "  (PCN) of the ICS with its member GP practices over time, England's integrated care",
            "  boards, and the figures the ICS states about itself with the figure the records",
            "  give.",
            "version: 1.0.0",
            "# The release date: `created` in datapackage.json comes from here, not the clock.",
            f"release_date: {self.release_date.isoformat()}",
            "licenses:",
            "  - name: OGL-UK-3.0",
            "    title: Open Government Licence v3.0",
            "    path: https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            "attribution: >-",
            "  Contains public sector information licensed under the Open Government Licence v3.0",
            "  (NHS England, NHS Digital, NHS Organisation Data Service, Office for National",
            "  Statistics).",
            "contributors:",
            "  - title: NHS Organisation Data Service (ODS)",
            "    role: contributor",
            "  - title: NHS England",
            "    role: contributor",
            "  - title: Office for National Statistics",
            "    role: contributor",
            "keywords:",
            "  - NHS",
            "  - integrated care system",
            f"  - {json.dumps(names['place'])}",
            "  - primary care networks",
            "  - GP practices",
            "sources:",
        ]
        for entry in [*self.entries, *REFERENCE_SOURCES]:
            lines.append(f"  - id: {entry['id']}")
            lines.append(f"    title: {json.dumps(entry['title'], ensure_ascii=False)}")
            if entry.get("path"):
                lines.append(f"    path: {json.dumps(entry['path'], ensure_ascii=False)}")
            if entry.get("vintage"):
                lines.append(f'    vintage: "{entry["vintage"]}"')
            if entry.get("sha256"):
                lines.append(f"    sha256: {entry['sha256']}")
        lines.append(f"  - id: {DERIVED_ID}")
        lines.append(
            "    title: Derived by ics-data from the sources named beside it in the record; the "
            "record says how"
        )
        return "\n".join(lines) + "\n"

    def _csv(self, resource: str, rows: Sequence[Mapping[str, str]]) -> str:
        names = _field_names(self.schemas, resource)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([row.get(name, "") for name in names])
        return out.getvalue()


def _entry(ident: str, title: str, file: NationalFile) -> dict[str, Any]:
    # No path: init cannot know where the file was downloaded from (the title names the file,
    # the sha256 identifies it); a person adds the address, as after a refresh.
    entry: dict[str, Any] = {"id": ident, "title": title}
    if file.vintage is not None:
        entry["vintage"] = file.vintage.isoformat()
    entry["sha256"] = file.sha256
    return entry


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _field_names(schemas: Path, resource: str) -> list[str]:
    descriptor = yaml.safe_load((schemas / f"{resource}.schema.yaml").read_text(encoding="utf-8"))
    return [str(f["name"]) for f in descriptor["fields"]]


def _yaml_records(comment: str, records: Sequence[Mapping[str, object]]) -> str:
    """Records as a YAML list, every value quoted, so the schema decides its type."""
    lines = [f"# {comment}"]
    if not records:
        return "\n".join([*lines, "[]"]) + "\n"
    for record in records:
        first = True
        for key, value in record.items():
            if value in ("", None):
                continue
            text = json.dumps(str(value), ensure_ascii=False)
            lines.append(f"{'- ' if first else '  '}{key}: {text}")
            first = False
        lines.append("")
    return "\n".join(lines)


def render_init(result: InitResult, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    scope = result.scope
    sources = display_path(result.folder / "sources")
    schemas = display_path(result.folder / "schemas")
    lines = [
        f"ics-data init: {result.ics_name} ({result.icb}) written to {sources} and {schemas}",
        f"  sub-ICB locations: {', '.join(scope.sub_icb_locations)}",
        f"  former CCGs (derived): {', '.join(scope.former_ccgs) or 'none'}",
        f"  partnership rule: {scope.partnership_rule}",
        f"  on {result.release_date}: {result.pcns_open} PCNs open with {result.practices_open} "
        f"member practices; {result.memberships} memberships in all",
    ]
    if result.warnings:
        shown = ", ".join(f"{code} {count}" for code, count in sorted(result.warnings.items()))
        lines.append(
            f"  warnings (the publisher's own data; ics-data validate lists them): {shown}"
        )
    review = [n for n in result.notes if n.code != "stale-snapshot"]
    if review:
        lines.append(f"Review ({len(review)}):")
        lines.extend(f"  - [{note.code}] {note.message}" for note in review[:50])
        if len(review) > 50:
            lines.append(f"  ... and {len(review) - 50} more (--format json lists them all)")
    lines += [
        "Next: check partnerships.yaml and ics.yaml, then",
        f"  ics-data validate --sources {sources} --schemas {schemas}",
        f"  ics-data publish --sources {sources} --schemas {schemas} --output "
        f"{display_path(result.folder / 'output')}",
    ]
    return "\n".join(lines)
