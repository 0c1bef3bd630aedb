"""The national files `ics-data init` starts from, read once, and the ICS's codes they give.

    inputs = read_init_inputs(Path("map.zip"), [Path("ePCN.xlsx")], epcmem, eccg, icb_names)
    scope = ics_scope("QOP", inputs, "sub-icb-location")

The ICB's practices are those the newest mapping file gives it; its sub-ICB locations are theirs;
its former CCGs are the CCGs and retired sub-ICB locations (ODS eccg, epcmem, ePCN parents) most
of whose practices are now the ICB's (derived).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.core.errors import PipelineError
from pipeline.core.files import file_sha256
from pipeline.core.progress import SILENT, Progress
from pipeline.core.scope import PARTNERSHIP_RULES, Scope
from pipeline.upstream.national import (
    EccgRow,
    Epcmem,
    IcbName,
    eccg_vintage,
    read_eccg,
    read_epcmem,
    read_icb_names,
)
from pipeline.upstream.readers import EpcnExtract, GpMapExtract, GpMapRow, read_epcn, read_gp_map


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


def ics_scope(icb: str, inputs: InitInputs, rule: str) -> Scope:
    """The ICS's codes: the ICB, its sub-ICB locations now, its former codes; and RULE."""
    check_rule(rule)
    own_rows = own_map_rows(icb, inputs)
    sub_icbs = tuple(sorted({row.sub_icb_code for row in own_rows}))
    all_sub_icbs = {row.sub_icb_code for row in inputs.gp_map[1].rows}
    return Scope(icb, sub_icbs, former_codes(icb, inputs, sub_icbs, all_sub_icbs), rule)


def check_rule(rule: str) -> None:
    if rule not in PARTNERSHIP_RULES:
        raise InitError(
            f"unknown partnership rule {rule!r}",
            hint=f"Choose one of {', '.join(PARTNERSHIP_RULES)}.",
        )


def own_map_rows(icb: str, inputs: InitInputs) -> tuple[GpMapRow, ...]:
    """The newest mapping file's rows of ICB's practices; refused when it has none."""
    map_file, mapping = inputs.gp_map
    rows = tuple(row for row in mapping.rows if row.icb_code == icb)
    if not rows:
        raise InitError(
            f"{map_file.path.name} has no practice of ICB {icb!r}",
            hint=f"The ICBs in it are {', '.join(inputs.icbs_in_map())}.",
        )
    return rows


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
