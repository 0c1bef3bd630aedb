"""Merge upstream facts into the records: an ePCN workbook, or a GP practice mapping file.

ePCN (`apply_epcn`) keeps history: every PCN with its open and close dates, every practice-PCN
period with exact start and end dates. The mapping file (`apply_gp_map`) is a snapshot on its
extract date M: what changed since the sources were last known current (day P) happened on a day
in P..M, so those facts get bounds: a membership that no longer holds ended in P..M-1, a new
one started in P+1..M, a PCN with no practices closed in P..M-1, a new PCN opened in P+1..M.
`U` (Unallocated) is no PCN and never a membership. Which fact wins, and how records cite their
files, is `pipeline.records`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pipeline.core.timeline import iso, moment
from pipeline.upstream.csvedit import CsvRow
from pipeline.upstream.editable import DAY, EditableTables, Stamp
from pipeline.upstream.proposals import propose_partnership
from pipeline.upstream.readers import EpcnExtract, EpcnPcn, EpcnRelationship, GpMapExtract, GpMapRow

# ---------------------------------------------------------------------------------------------
# ePCN


def apply_epcn(records: EditableTables, extract: EpcnExtract, stamp: Stamp) -> None:
    """Merge an ePCN workbook (already kept to one ICS) into the records."""
    names: dict[str, str] = {}
    for rel in sorted(extract.relationships, key=lambda r: r.start_date or date.min):
        names[rel.practice_code] = rel.practice_name  # the name on its latest period
    for code, name in names.items():
        records.practice(code, name, None, stamp)
    new: list[CsvRow] = []
    for pcn in extract.pcns:
        row = records.pcn(pcn.code)
        if row is None:
            new.append(records.add_pcn(_pcn_values(pcn), stamp))
        else:
            _update_pcn(records, row, pcn, stamp)
    for rel in extract.relationships:
        _merge_relationship(records, rel, stamp)
    for pcn in extract.pcns:
        _fit_bounds_to_pcn(records, pcn.code, stamp)
    for row in new:
        propose_partnership(records, row, stamp, stamp.vintage)


def _fit_bounds_to_pcn(records: EditableTables, code: str, stamp: Stamp) -> None:
    """Narrow membership bounds to the PCN's life, now that the ePCN gives its dates.

    A mapping file bounds a membership's start by the days between two files (2025-01-21 ..
    2026-08-01); once the PCN's open date is known (2025-04-01), no member joined before it.
    """
    pcn = records.pcn(code)
    if pcn is None:
        return
    opened, closed = moment(pcn, "open_date"), moment(pcn, "close_date")
    for row in records.members_of_pcn(code):
        start, end = moment(row, "start_date"), moment(row, "end_date")
        if start.exact is None and opened.lo and start.earliest and start.earliest < opened.lo:
            if start.latest is None or opened.lo <= start.latest:
                records.put(row, "start_date_earliest", opened.lo.isoformat(), stamp)
        if end.exact is None and closed.hi and end.latest and end.latest > closed.hi:
            if end.earliest is None or end.earliest <= closed.hi:
                records.put(row, "end_date_latest", closed.hi.isoformat(), stamp)


def _pcn_values(pcn: EpcnPcn) -> dict[str, str]:
    return {
        "pcn_code": pcn.code,
        "pcn_name": pcn.name,
        "sub_icb_code": pcn.commissioner_code,
        "open_date": iso(pcn.open_date),
        "close_date": iso(pcn.close_date),
    }


def _update_pcn(records: EditableTables, row: CsvRow, pcn: EpcnPcn, stamp: Stamp) -> None:
    records.rename(row, pcn.name, stamp)
    if pcn.commissioner_code and (not row.get("sub_icb_code") or records.may_override(row, stamp)):
        records.put(row, "sub_icb_code", pcn.commissioner_code, stamp)
    if pcn.open_date is not None:
        records.merge_date(row, "pcns", "open_date", pcn.open_date, stamp)
    records.merge_date(row, "pcns", "close_date", pcn.close_date, stamp)


def _merge_relationship(records: EditableTables, rel: EpcnRelationship, stamp: Stamp) -> None:
    pair = (rel.practice_code, rel.pcn_code)
    if rel.start_date is None:
        records.note(
            "missing-start-date",
            "pcn_memberships",
            f"{rel.practice_code} {rel.pcn_code}",
            f"{stamp.file} row {rel.row}: {rel.practice_code} in {rel.pcn_code} has no start "
            "date; not imported",
        )
        return
    start = rel.start_date.isoformat()
    rows = records.memberships_of(*pair)
    row = next((r for r in rows if r.get("start_date") == start), None)
    if row is None:
        # A membership first seen in a mapping file, with a start known only between bounds.
        row = next(
            (
                r
                for r in rows
                if not r.get("start_date")
                and moment(r, "start_date").known
                and (moment(r, "start_date").earliest or date.min) <= rel.start_date
                and rel.start_date <= (moment(r, "start_date").latest or date.max)
            ),
            None,
        )
        if row is not None:
            records.set_exact(row, "start_date", rel.start_date, stamp)
    if row is None:
        values = {
            "practice_code": rel.practice_code,
            "pcn_code": rel.pcn_code,
            "start_date": start,
            "end_date": iso(rel.end_date),
        }
        records.add_membership(values, stamp)
        return
    records.merge_date(row, "pcn_memberships", "end_date", rel.end_date, stamp)


# ---------------------------------------------------------------------------------------------
# gp-reg-pat-prac-map


def apply_gp_map(
    records: EditableTables, extract: GpMapExtract, stamp: Stamp, known: date | None
) -> None:
    """Merge a mapping snapshot (already kept to one ICS) taken on `stamp.vintage`.

    `known` is the day the sources were last known current (the newest vintage they cite, or of
    a file merged before this one): changes since then happened in known+1 .. extract date.
    """
    extract_date = stamp.vintage
    stale = known is not None and extract_date <= known
    for line in extract.rows:
        records.practice(
            line.practice_code, line.practice_name, line.postcode, stamp, add=not stale
        )
    if stale:
        records.note(
            "stale-snapshot",
            "pcn_memberships",
            stamp.id,
            f"{stamp.file} ({extract_date}) is not newer than what the sources already hold "
            f"({known}); it only fills empty values and former names, it adds, ends and "
            "starts nothing",
        )
        for line in extract.rows:
            if line.pcn_code and (row := records.pcn(line.pcn_code)) is not None:
                records.rename(row, line.pcn_name or "", stamp)
        return
    first = known + DAY if known else None
    mapped = {line.practice_code: line.pcn_code for line in extract.rows}
    in_file: dict[str, GpMapRow] = {}
    for line in extract.rows:
        if line.pcn_code:
            in_file.setdefault(line.pcn_code, line)
    new, closed = _map_pcns(records, in_file, stamp, first)
    _close_absent_pcns(records, set(in_file), stamp, known)
    _map_memberships(records, mapped, closed, stamp, known, first)
    for row in new:
        propose_partnership(records, row, stamp, extract_date)


def _map_pcns(
    records: EditableTables, in_file: Mapping[str, GpMapRow], stamp: Stamp, first: date | None
) -> tuple[list[CsvRow], set[str]]:
    new: list[CsvRow] = []
    closed: set[str] = set()
    for code, line in in_file.items():
        row = records.pcn(code)
        if row is None:
            values = {
                "pcn_code": code,
                "pcn_name": line.pcn_name or "",
                "sub_icb_code": line.sub_icb_code,
                "open_date_earliest": iso(first),
                "open_date_latest": stamp.vintage.isoformat(),
            }
            new.append(records.add_pcn(values, stamp))
            continue
        close = moment(row, "close_date")
        if close.known and close.hi is not None and close.hi < stamp.vintage:
            closed.add(code)
            records.note(
                "closed-pcn-mapped",
                "pcns",
                code,
                f"PCN {code} {row.get('pcn_name')} closed {close.describe()} but has practices "
                f"in {stamp.file}; its memberships were left as they are: check it by hand",
            )
            continue
        records.rename(row, line.pcn_name or "", stamp)
        opened = moment(row, "open_date")
        if opened.exact is None and (opened.latest is None or opened.latest > stamp.vintage):
            records.put(row, "open_date_latest", stamp.vintage.isoformat(), stamp)
    return new, closed


def _close_absent_pcns(
    records: EditableTables, in_file: set[str], stamp: Stamp, known: date | None
) -> None:
    """A PCN of the ICS with no practice in the snapshot closed after `known`, before the extract
    date."""
    for row in records.pcns.rows:
        if row.get("pcn_code") in in_file or moment(row, "close_date").known:
            continue
        if not records.owns(row):
            continue  # another ICB's PCN: the ICS's rows of the file say nothing of its life
        opened = moment(row, "open_date")
        if opened.hi is None or opened.hi >= stamp.vintage:
            continue
        earliest = max((d for d in (known, opened.lo) if d is not None), default=None)
        records.set_bounds(row, "close_date", earliest, stamp.vintage - DAY, stamp)


def _note_without_pcn(
    records: EditableTables, practice: str, pcn: str, listed: bool, stamp: Stamp
) -> None:
    if listed:
        records.note(
            "practice-unallocated",
            "pcn_memberships",
            practice,
            f"practice {practice} is Unallocated (U) in {stamp.file}: its membership of {pcn} "
            "ends, and no new one starts",
        )
    else:
        records.note(
            "practice-not-in-file",
            "pcn_memberships",
            practice,
            f"practice {practice} is not in {stamp.file} (closed, merged or moved out of this "
            f"ICS?): its membership of {pcn} ends",
        )


def _map_memberships(
    records: EditableTables,
    mapped: Mapping[str, str | None],
    closed: set[str],
    stamp: Stamp,
    known: date | None,
    first: date | None,
) -> None:
    extract_date = stamp.vintage
    practices = sorted(records.practices_with_memberships() | set(mapped))
    for practice in practices:
        target = mapped.get(practice)  # None: unallocated, or gone from the ICS
        for row in records.open_memberships(practice, extract_date):
            if row.get("pcn_code") == target:
                continue
            started = moment(row, "start_date").lo
            earliest = max((d for d in (known, started) if d is not None), default=None)
            records.set_bounds(row, "end_date", earliest, extract_date - DAY, stamp)
            if target is None:
                _note_without_pcn(records, practice, row.get("pcn_code"), practice in mapped, stamp)
    for practice, target in mapped.items():
        if not target or target in closed:
            continue
        if any(
            row.get("pcn_code") == target for row in records.memberships_on(practice, extract_date)
        ):
            continue
        pcn = records.pcn(target)
        opened = moment(pcn, "open_date").lo if pcn is not None else None
        earliest = max((d for d in (first, opened) if d is not None), default=None)
        values = {
            "practice_code": practice,
            "pcn_code": target,
            "start_date_earliest": iso(earliest),
            "start_date_latest": extract_date.isoformat(),
        }
        records.add_membership(values, stamp)
