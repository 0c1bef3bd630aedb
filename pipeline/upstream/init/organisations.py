"""What the national files say of the ICB, its organisations, and England's ICBs.

`icb_facts` reads the ICB's names, ONS code and region once; `organisations` lists the ICB, its
sub-ICB locations, its former CCGs and the other ICBs' codes the records name (from eccg);
`icbs` is the national table: ONS ICB24 from 2022-07-01 and the mapping file's ICBs, with bounds
for the 2025-2026 mergers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from pipeline.core.scope import Scope
from pipeline.upstream.editable import EditableTables
from pipeline.upstream.init.inputs import InitInputs, own_map_rows
from pipeline.upstream.init.package import (
    DERIVED_ID,
    ECCG_ID,
    ICB_NAMES_ID,
    STATUTORY_ID,
    Registry,
)
from pipeline.upstream.national import EccgRow
from pipeline.upstream.readers import GpMapRow

# The day the 42 ICBs became statutory (Health and Care Act 2022).
STATUTORY_DAY = date(2022, 7, 1)
# After the ONS ICB list of December 2024: the earliest day a later ICB (or ONS code) can start.
AFTER_ICB24 = date(2025, 1, 1)
LAST_IN_ICB24 = date(2024, 12, 31)


@dataclass(frozen=True)
class IcbFacts:
    """The ICB as the national files give it, and the names of its ICS made from its name.

    `legal`: "NHS Kent and Medway Integrated Care Board"; `short`: without "Integrated Care
    Board"; `place`: without "NHS" either; `system`: "<place> Integrated Care System"; `slug`:
    the package name, "<place>-ics". `statutory`: the ONS list of the 42 ICBs of 2022 has it.
    """

    code: str
    map_rows: tuple[GpMapRow, ...]  # the newest mapping file's rows of its practices
    ons_code: str
    region: tuple[str, str, str]  # ODS code, name, ONS code
    legal: str
    short: str
    place: str
    system: str
    slug: str
    statutory: bool


def icb_facts(icb: str, inputs: InitInputs) -> IcbFacts:
    rows = own_map_rows(icb, inputs)
    ons = _icb_ons_code(icb, rows, inputs)
    legal = _icb_name(icb, ons, rows, inputs)
    short = re.sub(r"\s+Integrated Care Board$", "", legal).strip() or legal
    place = re.sub(r"^NHS\s+", "", short).strip() or short
    listed = inputs.icb_names is not None and any(r.ods_code == icb for r in inputs.icb_names[1])
    return IcbFacts(
        code=icb,
        map_rows=rows,
        ons_code=ons,
        region=(rows[0].region_code, rows[0].region_name, rows[0].region_ons_code),
        legal=legal,
        short=short,
        place=place,
        system=f"{place} Integrated Care System",
        slug=re.sub(r"[^a-z0-9]+", "-", place.casefold()).strip("-") + "-ics",
        statutory=listed,
    )


def _icb_ons_code(icb: str, rows: tuple[GpMapRow, ...], inputs: InitInputs) -> str:
    """The ICB's ONS code: the mapping file's, unless the file is older than the ONS ICB list
    and pairs the code with an STP's ONS code (E54000052 for QXU in 2022-01): then ONS's."""
    mapped = rows[0].icb_ons_code
    if inputs.icb_names is None or inputs.gp_map[1].vintage > LAST_IN_ICB24:
        return mapped
    listed = [row.ons_code for row in inputs.icb_names[1] if row.ods_code == icb]
    return mapped if mapped in listed or len(listed) != 1 else listed[0]


def _icb_name(icb: str, ons: str, rows: tuple[GpMapRow, ...], inputs: InitInputs) -> str:
    if inputs.icb_names is not None:
        for row in inputs.icb_names[1]:
            if row.ods_code == icb and row.ons_code == ons:
                return row.name
        for row in inputs.icb_names[1]:
            if row.ods_code == icb:
                return row.name
    return rows[0].icb_name


def eccg_rows(inputs: InitInputs) -> dict[str, EccgRow]:
    return inputs.eccg[1] if inputs.eccg is not None else {}


def sub_icb_names(facts: IcbFacts, inputs: InitInputs) -> dict[str, str]:
    """The ICB's sub-ICB locations' names: eccg's, else the mapping file's."""
    names = {row.sub_icb_code: row.sub_icb_name for row in facts.map_rows}
    names.update({code: row.name for code, row in eccg_rows(inputs).items() if code in names})
    return names


def org_names(inputs: InitInputs) -> dict[str, str]:
    """Every commissioner's name the files give: ePCN's, the mapping file's, eccg's (last wins)."""
    names: dict[str, str] = {}
    for _, extract in inputs.epcn:
        for pcn in extract.pcns:
            names.setdefault(pcn.commissioner_code, pcn.commissioner_name)
    names.update({row.sub_icb_code: row.sub_icb_name for row in inputs.gp_map[1].rows})
    names.update({code: row.name for code, row in eccg_rows(inputs).items()})
    return names


def organisations(
    facts: IcbFacts, scope: Scope, inputs: InitInputs, records: EditableTables, registry: Registry
) -> list[dict[str, str]]:
    """The ICB, its sub-ICB locations, its former CCGs, and the other ICBs' commissioners and
    CCGs the ICS's records name."""
    eccg, names, icb = eccg_rows(inputs), org_names(inputs), facts.code
    rows = [
        {
            "code": icb,
            "org_type": "icb",
            "ods_code": icb,
            "ons_code": facts.ons_code,
            "name": facts.legal,
            "region_ods_code": facts.region[0],
            "source": registry.cite(registry.map_id, ICB_NAMES_ID),
        }
    ]
    ons = {row.sub_icb_code: row.sub_icb_ons_code for row in facts.map_rows}
    organisation = _Organisation(eccg, names, registry)
    for code in scope.sub_icb_locations:
        rows.append(
            organisation.row(code, "sub-icb-location", ons.get(code, ""), icb, "", registry.map_id)
        )
    for code in scope.former_ccgs:
        note = f"derived: a former code of {icb}, most of whose practices are the ICB's now"
        rows.append(organisation.row(code, "former-ccg", "", icb, note, DERIVED_ID))
    cited: dict[str, str] = {}
    for row in records.pcns.rows:
        cited.setdefault(row.get("sub_icb_code"), "the commissioner of a PCN")
    for row in records.practices.rows:
        cited.setdefault(row.get("ccg_2019_code"), "the 2019 CCG of a practice")
    map_icb = {row.sub_icb_code: row.icb_code for row in inputs.gp_map[1].rows}
    for code, why in sorted(cited.items()):
        if not code or code in scope.codes:
            continue
        other = eccg[code].icb_code if code in eccg else map_icb.get(code, "")
        closed = code in eccg and eccg[code].close_date
        note = f"another ICB's ({other or 'ICB not known'}): {why} in the ICS's records"
        kind = "former-ccg" if closed else "sub-icb-location"
        rows.append(organisation.row(code, kind, "", other, note, ""))
    return rows


@dataclass(frozen=True)
class _Organisation:
    """How a commissioner's row is made: eccg's facts, else the names the files give."""

    eccg: Mapping[str, EccgRow]
    names: Mapping[str, str]
    registry: Registry

    def row(
        self, code: str, kind: str, ons: str, icb: str, note: str, extra: str
    ) -> dict[str, str]:
        row = self.eccg.get(code)
        map_id = self.registry.map_id
        ids = [ECCG_ID] if row is not None else [map_id if code in self.names else DERIVED_ID]
        if extra and extra not in ids:
            ids.append(extra)
        return {
            "code": code,
            "org_type": kind,
            "ods_code": code,
            "ons_code": ons,
            "name": row.name if row is not None else self.names.get(code, code),
            "open_date": _iso(row.open_date) if row else "",
            "close_date": _iso(row.close_date) if row else "",
            "region_ods_code": row.region_code if row else "",
            "icb_ods_code": icb,
            "notes": note,
            "source": self.registry.cite(*ids),
        }


def icbs(inputs: InitInputs, registry: Registry) -> list[dict[str, str]]:
    """ICB24's pairs, valid from 2022-07-01, and the mapping file's: a pair only in the mapping
    file (newer than ICB24) starts between 2025-01-01 and its extract date; an ICB24 pair gone
    from it ends between 2024-12-31 and the day before. Regions from the mapping file, else
    from eccg's region of the ICB's sub-ICB locations."""
    mapping = inputs.gp_map[1]
    extract = mapping.vintage
    regions: dict[str, tuple[str, str]] = {}
    in_map: dict[tuple[str, str], GpMapRow] = {}
    for row in mapping.rows:
        regions.setdefault(row.region_code, (row.region_name, row.region_ons_code))
        in_map.setdefault((row.icb_code, row.icb_ons_code), row)
    eccg_region: dict[str, str] = {}
    for eccg_row in eccg_rows(inputs).values():
        if eccg_row.close_date is None:
            eccg_region.setdefault(eccg_row.icb_code, eccg_row.region_code)
    rows: list[dict[str, str]] = []
    listed = set()
    for name in inputs.icb_names[1] if inputs.icb_names is not None else ():
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
            "source": registry.cite(ICB_NAMES_ID, STATUTORY_ID),
        }
        if line is None and extract > LAST_IN_ICB24:
            out["valid_to_earliest"] = LAST_IN_ICB24.isoformat()
            out["valid_to_latest"] = date.fromordinal(extract.toordinal() - 1).isoformat()
            out["source"] = registry.cite(ICB_NAMES_ID, STATUTORY_ID, registry.map_id)
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
            "source": registry.map_id,
        }
        if listed:
            out["valid_from_earliest"] = AFTER_ICB24.isoformat()
        rows.append(out)
    return rows


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
