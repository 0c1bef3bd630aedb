"""The PCN, practice, membership and PCN name records of a new project, merged from the files.

The ePCN files are merged in vintage order, then the newest mapping file, exactly as `refresh`
merges them (`pipeline.upstream.boundary`); an older mapping file only fills gaps. Practices get
their 2019 CCG from epcmem. The merge runs with no partnership layer: partnerships need the
practices' 2019 CCGs, which come after it (`pipeline.upstream.init.partnerships`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from pipeline.core.scope import NO_PARTNERSHIPS, Scope
from pipeline.core.timeline import life, moment
from pipeline.upstream.boundary import merge_upstream
from pipeline.upstream.csvedit import CsvRow
from pipeline.upstream.editable import EditableTables, Stamp
from pipeline.upstream.init.inputs import InitInputs
from pipeline.upstream.init.package import DERIVED_ID, EPCMEM_ID, Registry
from pipeline.upstream.reconcile import apply_gp_map

# Notes of a refresh that say nothing to the maker of a new project: every practice is new, and
# the partnerships are made after the merge.
NOT_FOR_INIT = ("practice-without-ccg", "partnership-to-set")


def merge_records(inputs: InitInputs, scope: Scope, registry: Registry) -> EditableTables:
    """The ICS's records from the registered files, its practices' 2019 CCGs filled in."""
    flat = Scope(scope.icb, scope.sub_icb_locations, scope.former_ccgs, NO_PARTNERSHIPS)
    dated = {stamp.id: stamp.vintage for stamp, _ in [*registry.stamps, *registry.older]}
    records = EditableTables.empty(scope=flat, dated=dated, derivation_ids=(DERIVED_ID,))
    merge_upstream(records, registry.stamps)
    newest = registry.release_date
    for stamp, extract in registry.older:
        records.vintages[stamp.id] = stamp.vintage
        apply_gp_map(records, extract, stamp, newest)  # fills gaps only
    records.notes[:] = [n for n in records.notes if n.code not in NOT_FOR_INIT]
    if inputs.epcmem is not None:
        file, members = inputs.epcmem
        stamp = Stamp(EPCMEM_ID, file.vintage or newest, file.path.name)
        for row in records.practices.rows:
            ccg = members.ccg_of.get(row.get("practice_code"))
            if ccg:
                records.put(row, "ccg_2019_code", ccg, stamp)
    return records


def names_text(records: EditableTables) -> str:
    """pcn_names, each PCN's names numbered in the order they held: an older mapping file,
    merged last, adds an earlier name after the later ones."""
    names = records.names
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


def open_on(records: EditableTables, scope: Scope, day: date) -> tuple[int, int]:
    """The ICS's PCNs definitely open on DAY, as the structure lists them, and their member
    practices that day."""
    members: dict[str, set[str]] = defaultdict(set)
    for row in records.memberships.rows:
        if life(row, "start_date", "end_date").definitely_on(day):
            members[row.get("pcn_code")].add(row.get("practice_code"))
    pcns = 0
    practices: set[str] = set()
    for row in records.pcns.rows:
        code = row.get("pcn_code")
        if not scope.owns(row.get("sub_icb_code")) and not members.get(code):
            continue
        if life(row, "open_date", "close_date").definitely_on(day):
            pcns += 1
            practices |= members.get(code, set())
    return pcns, len(practices)
