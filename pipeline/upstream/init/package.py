"""The new project's `package.yaml`: its metadata and the registry of the sources its records cite.

Each national file given to init gets an entry (the ePCN and mapping files EPCN-<vintage> and
MAP-<vintage>, as refresh names them), with its vintage and sha256, and its file name in place of
the address it came from, for a person to put there; two public references (the four purposes
of every ICS, the statutory day) and DERIVED follow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.core.scope import Scope
from pipeline.upstream.boundary import keep_epcn, keep_gp_map
from pipeline.upstream.editable import Stamp
from pipeline.upstream.init.inputs import InitError, InitInputs, NationalFile
from pipeline.upstream.readers import EpcnExtract, GpMapExtract
from pipeline.upstream.registry import EPCN, GP_MAP, SourceEntry, new_entry

# Source ids of the national reference files.
EPCMEM_ID, ECCG_ID, ICB_NAMES_ID = "EPCMEM", "ECCG", "ICB-NAMES"
PURPOSES_ID, STATUTORY_ID, DERIVED_ID = "ICS-PURPOSES", "ICS-STATUTORY", "DERIVED"
REFERENCE_SOURCES = (
    SourceEntry(
        PURPOSES_ID,
        "The four purposes of every integrated care system (NHS England, Integrating Care: "
        "Next Steps, November 2020), as listed by the NHS Confederation",
        "https://www.openaccessgovernment.org/moving-to-integrated-care-systems-for-"
        "healthcare-in-england/189696",
        None,
        None,
        None,
    ),
    SourceEntry(
        STATUTORY_ID,
        "The Health Foundation, written evidence ICS0063 to the House of Commons: on 1 July 2022 "
        "England was formally divided into 42 ICSs (Health and Care Act 2022)",
        "https://committees.parliament.uk/writtenevidence/110487/html/",
        None,
        None,
        None,
    ),
)
REFERENCE_TITLES = {
    EPCMEM_ID: "NHS ODS epcmem.csv (GP practice to CCG membership history)",
    ECCG_ID: "NHS ODS eccg.csv (CCGs and sub-ICB locations, including closed ones)",
    ICB_NAMES_ID: "ONS, Integrated Care Boards names and codes (ICB24CD, ICB24CDH, ICB24NM)",
}

Upstream = tuple[Stamp, EpcnExtract | GpMapExtract]


@dataclass(frozen=True)
class Registry:
    """The sources of the new project: `entries` in the order package.yaml lists them; the
    upstream files to merge (`stamps`: the ePCN files, then the newest mapping file) with each
    one's rows of the ICS; the older mapping files, which only fill gaps (`older`)."""

    entries: tuple[SourceEntry, ...]
    stamps: tuple[Upstream, ...]
    older: tuple[tuple[Stamp, GpMapExtract], ...]
    map_id: str  # the newest mapping file's id

    @property
    def release_date(self) -> date:
        """The newest file's vintage: the first release's date."""
        return max(stamp.vintage for stamp, _ in self.stamps)

    def stamp(self, ident: str) -> Stamp:
        return next(stamp for stamp, _ in self.stamps if stamp.id == ident)

    def newest(self) -> Stamp:
        return max((stamp for stamp, _ in self.stamps), key=lambda stamp: stamp.vintage)

    def declared(self, *ids: str) -> tuple[str, ...]:
        """IDS that the registry declares, each once, in order (else DERIVED alone)."""
        known = {e.id for e in self.entries} | {DERIVED_ID} | {e.id for e in REFERENCE_SOURCES}
        out: list[str] = []
        for ident in ids:
            if ident and ident in known and ident not in out:
                out.append(ident)
        return tuple(out) or (DERIVED_ID,)

    def cite(self, *ids: str) -> str:
        """A record's `source`: the declared ids among IDS."""
        return "; ".join(self.declared(*ids))


def register_sources(inputs: InitInputs, scope: Scope) -> Registry:
    """An entry for every national file, and the ICS's rows of each upstream file."""
    taken: list[SourceEntry] = []  # the upstream files' entries, named as refresh names them
    entries: list[SourceEntry] = []
    stamps: list[Upstream] = []
    older: list[tuple[Stamp, GpMapExtract]] = []
    map_file, mapping = inputs.gp_map
    kept_map = keep_gp_map(mapping, scope.codes)
    practices = frozenset(row.practice_code for row in kept_map.rows)
    for file, extract in inputs.epcn:
        if file.vintage is None:
            raise InitError(f"{file.path.name}: the workbook's vintage is unknown")
        taken.append(new_entry(taken, EPCN, file.vintage, file.sha256, file.path.name))
        entries.append(_entry(taken[-1].id, taken[-1].title, file))
        kept = keep_epcn(extract, scope.codes, practices)
        stamps.append((Stamp(taken[-1].id, file.vintage, file.path.name), kept))
    for file, extract_map in inputs.older_maps:
        taken.append(new_entry(taken, GP_MAP, extract_map.vintage, file.sha256, file.path.name))
        entries.append(_entry(taken[-1].id, taken[-1].title, file))
        stamp = Stamp(taken[-1].id, extract_map.vintage, file.path.name)
        older.append((stamp, keep_gp_map(extract_map, scope.codes)))
    taken.append(new_entry(taken, GP_MAP, mapping.vintage, map_file.sha256, map_file.path.name))
    entries.append(_entry(taken[-1].id, taken[-1].title, map_file))
    stamps.append((Stamp(taken[-1].id, mapping.vintage, map_file.path.name), kept_map))
    references = (
        (EPCMEM_ID, inputs.epcmem[0] if inputs.epcmem else None),
        (ECCG_ID, inputs.eccg[0] if inputs.eccg else None),
        (ICB_NAMES_ID, inputs.icb_names[0] if inputs.icb_names else None),
    )
    for ident, reference in references:
        if reference is not None:
            title = f"{REFERENCE_TITLES[ident]}, file {reference.path.name}"
            entries.append(_entry(ident, title, reference))
    return Registry(tuple(entries), tuple(stamps), tuple(older), taken[-1].id)


def _entry(ident: str, title: str, file: NationalFile) -> SourceEntry:
    # Init cannot know where the file was downloaded from (the title names it, the sha256
    # identifies it): its name stands in the path, as refresh writes it, a review item
    # (placeholder-path) until a person puts the address there.
    return SourceEntry(ident, title, file.path.name, file.vintage, file.sha256, None)


def package_yaml(registry: Registry, icb: str, system: str, slug: str, place: str) -> str:
    """package.yaml of the ICS named SYSTEM (package name SLUG; PLACE as a keyword)."""
    lines = [
        f"# Package metadata of the {system} sources, made by ics-data init.",
        "# Every record names its provenance by the id of an entry under `sources`.",
        f"name: {slug}",
        f"title: {json.dumps(system + ' - structure and facts')}",
        "description: >-",
        f"  The structure of the {system} ({icb}): its integrated care board,",
        "  sub-ICB locations and former CCGs, its partnerships, every primary care network",
        "  (PCN) of the ICS with its member GP practices over time, England's integrated care",
        "  boards, and the figures the ICS states about itself with the figure the records",
        "  give.",
        "version: 1.0.0",
        "# The release date: `created` in datapackage.json comes from here, not the clock.",
        f"release_date: {registry.release_date.isoformat()}",
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
        f"  - {json.dumps(place)}",
        "  - primary care networks",
        "  - GP practices",
        "sources:",
        *_entry_lines([*registry.entries, *REFERENCE_SOURCES]),
        f"  - id: {DERIVED_ID}",
        "    title: Derived by ics-data from the sources named beside it in the record; the "
        "record says how",
    ]
    return "\n".join(lines) + "\n"


def _entry_lines(entries: Sequence[SourceEntry]) -> list[str]:
    lines = []
    for entry in entries:
        lines.append(f"  - id: {entry.id}")
        lines.append(f"    title: {json.dumps(entry.title, ensure_ascii=False)}")
        if entry.path:
            lines.append(f"    path: {json.dumps(entry.path, ensure_ascii=False)}")
        if entry.vintage:
            lines.append(f'    vintage: "{entry.vintage.isoformat()}"')
        if entry.sha256:
            lines.append(f"    sha256: {entry.sha256}")
    return lines
