"""Merge upstream facts into the PCN, practice and membership records, cell by cell.

The records are edited in place (`CsvDocument`), so a fact that does not change leaves its line
as it was. Which fact wins when two files disagree:

- a value from a file at least as new as everything the record already cites replaces the
  record's value (ODS corrects history in later ePCN files: G82671 left U37339 on 2022-03-31,
  a date first published in 2023);
- an older file only fills what is empty, or narrows bounds to an exact date inside them;
- a date known exactly is never replaced by bounds.

ePCN (`apply_epcn`) keeps history: every PCN with its open and close dates, every practice-PCN
period with exact start and end dates. The mapping file (`apply_gp_map`) is a snapshot on its
extract date M: what changed since the sources were last known current (day P) happened on a day
in P..M, so those facts get bounds: a membership that no longer holds ended in P..M-1, a new
one started in P+1..M, a PCN with no practices closed in P..M-1, a new PCN opened in P+1..M.
`U` (Unallocated) is no PCN and never a membership.

Every record a file changes cites that file in its `source` field; hand-curated fields (a PCN's
partnership and its basis, notes, a practice's 2019 CCG) are never overwritten. A new PCN gets a
proposed partnership with `partnership_review` = true and a note saying so.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.csvedit import CsvDocument, CsvRow
from pipeline.timeline import Life, Moment
from pipeline.upstream import EpcnExtract, EpcnPcn, EpcnRelationship, GpMapExtract, GpMapRow

PCN_COLUMNS = (
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "open_date",
    "open_date_earliest",
    "open_date_latest",
    "close_date",
    "close_date_earliest",
    "close_date_latest",
    "partnership",
    "partnership_basis",
    "partnership_review",
    "former_names",
    "source",
)
PRACTICE_COLUMNS = ("practice_code", "practice_name", "postcode", "ccg_2019_code", "source")
MEMBERSHIP_COLUMNS = (
    "practice_code",
    "pcn_code",
    "start_date",
    "start_date_earliest",
    "start_date_latest",
    "end_date",
    "end_date_earliest",
    "end_date_latest",
    "source",
)
DAY = timedelta(days=1)
# How a proposed partnership is derived, in the words of partnership_basis.
CCG_BASIS = "derived: member practices' 2019 CCG (EPCMEM)"
HISTORY_BASIS = "derived: member practices' earlier PCNs"


@dataclass(frozen=True)
class Stamp:
    """The upstream file a change comes from: its registry id, vintage and file name."""

    id: str
    vintage: date
    file: str


@dataclass(frozen=True)
class Note:
    """Something the reviewer of a refresh must read: a proposal, a conflict, a gap.

    Codes: `partnership-proposed`, `partnership-split`, `no-partnership`, `practice-without-ccg`,
    `kept-newer`, `corrected`, `reopened`, `closed-pcn-mapped`, `stale-snapshot`,
    `missing-start-date`, `unnamed-former-name`.
    """

    code: str
    resource: str
    key: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "resource": self.resource,
            "key": self.key,
            "message": self.message,
        }


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _moment(row: CsvRow, column: str) -> Moment:
    return Moment(
        _day(row.get(column)),
        _day(row.get(f"{column}_earliest")),
        _day(row.get(f"{column}_latest")),
    )


def _life(row: CsvRow, start: str, end: str) -> Life:
    return Life(_moment(row, start), _moment(row, end))


def split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def pcn_key(row: CsvRow) -> tuple[str, ...]:
    return (row.get("pcn_code"),)


def practice_key(row: CsvRow) -> tuple[str, ...]:
    return (row.get("practice_code"),)


def membership_key(row: CsvRow) -> tuple[str, ...]:
    return (row.get("practice_code"), row.get("pcn_code"), row.get("start_date"))


@dataclass
class Records:
    """The three editable resources, indexed, with what is needed to judge and stamp changes.

    `vintages`: registry id -> vintage of every upstream publication in the registry;
    `partnership_of_ccg`: 2019 CCG code -> partnership id (from partnerships.ccgs_2019);
    `derivation_ids`: the ids a proposed partnership cites besides the upstream file.
    """

    pcns: CsvDocument
    practices: CsvDocument
    memberships: CsvDocument
    vintages: dict[str, date]
    partnership_of_ccg: dict[str, str]
    derivation_ids: tuple[str, ...] = ("DERIVED",)
    notes: list[Note] = field(default_factory=list)
    proposed: list[str] = field(default_factory=list)  # PCN codes given a proposed partnership

    def __post_init__(self) -> None:
        self.pcns.require(PCN_COLUMNS)
        self.practices.require(PRACTICE_COLUMNS)
        self.memberships.require(MEMBERSHIP_COLUMNS)
        self._pcn = {row.get("pcn_code"): row for row in self.pcns.rows}
        self._practice = {row.get("practice_code"): row for row in self.practices.rows}
        self._members: dict[tuple[str, str], list[CsvRow]] = defaultdict(list)
        self._by_practice: dict[str, list[CsvRow]] = defaultdict(list)
        self._by_pcn: dict[str, list[CsvRow]] = defaultdict(list)
        for row in self.memberships.rows:
            self._index_membership(row)

    def _index_membership(self, row: CsvRow) -> None:
        self._members[(row.get("practice_code"), row.get("pcn_code"))].append(row)
        self._by_practice[row.get("practice_code")].append(row)
        self._by_pcn[row.get("pcn_code")].append(row)

    # --- provenance ------------------------------------------------------------------------

    def cited(self) -> set[str]:
        ids: set[str] = set()
        for document in (self.pcns, self.practices, self.memberships):
            for row in document.rows:
                ids.update(split_ids(row.get("source")))
        return ids

    def newest_known(self) -> date | None:
        """The newest vintage any record cites: the day the sources were last known current."""
        days = [self.vintages[i] for i in self.cited() if i in self.vintages]
        return max(days) if days else None

    def record_vintage(self, row: CsvRow) -> date | None:
        days = [self.vintages[i] for i in split_ids(row.get("source")) if i in self.vintages]
        return max(days) if days else None

    def may_override(self, row: CsvRow, stamp: Stamp) -> bool:
        known = self.record_vintage(row)
        return known is None or stamp.vintage >= known

    def stamp(self, row: CsvRow, stamp: Stamp, extra: Iterable[str] = ()) -> None:
        """Cite the file (after the upstream ids already cited, before the others)."""
        ids = split_ids(row.get("source"))
        for ident in [stamp.id, *extra]:
            if ident in ids:
                continue
            if ident in self.vintages:
                upstream = [n for n, i in enumerate(ids) if i in self.vintages]
                ids.insert(upstream[-1] + 1 if upstream else 0, ident)
            else:
                ids.append(ident)
        row.set("source", "; ".join(ids))

    def put(self, row: CsvRow, column: str, value: str, stamp: Stamp) -> bool:
        if row.set(column, value):
            self.stamp(row, stamp)
            return True
        return False

    def note(self, code: str, resource: str, key: str, message: str) -> None:
        self.notes.append(Note(code, resource, key, message))

    # --- practices -------------------------------------------------------------------------

    def practice(
        self, code: str, name: str, postcode: str | None, stamp: Stamp, *, add: bool = True
    ) -> None:
        row = self._practice.get(code)
        if row is None and not add:
            return
        if row is None:
            values = {"practice_code": code, "practice_name": name, "postcode": postcode or ""}
            values["source"] = stamp.id
            self._practice[code] = self.practices.insert(values, practice_key)
            self.note(
                "practice-without-ccg",
                "practices",
                code,
                f"practice {code} {name} is new; its 2019 CCG (ccg_2019_code) is not in the "
                "upstream files: fill it from ODS epcmem if the practice existed in 2019",
            )
            return
        override = self.may_override(row, stamp)
        if name and (not row.get("practice_name") or override):
            self.put(row, "practice_name", name, stamp)
        if postcode and (not row.get("postcode") or override):
            self.put(row, "postcode", postcode, stamp)

    # --- PCNs ------------------------------------------------------------------------------

    def add_pcn(self, values: dict[str, str], stamp: Stamp) -> CsvRow:
        values = {**values, "partnership_review": "true", "source": stamp.id}
        row = self.pcns.insert(values, pcn_key)
        self._pcn[values["pcn_code"]] = row
        return row

    def rename(self, row: CsvRow, name: str, stamp: Stamp) -> None:
        """Take a newer file's name, keeping the old one in former_names.

        An older file's different name is a former name too (MAP22's ASHFORD STOUR PCN for
        U87442, MID KENT PCN since 2022-04): it is added to former_names, the name stays.
        """
        current = row.get("pcn_name")
        if not name or name == current:
            return
        if not current:
            self.put(row, "pcn_name", name, stamp)
            return
        # Case alone is not a new name (QOF title-cases what ODS capitalises).
        if name.casefold() == current.casefold():
            return
        former = split_ids(row.get("former_names"))
        if not self.may_override(row, stamp):
            if name not in (_former_name(entry) for entry in former):
                self.put(row, "former_names", "; ".join([*former, f"{name} ({stamp.id})"]), stamp)
            return
        code = row.get("pcn_code")
        cited = [i for i in split_ids(row.get("source")) if i in self.vintages]
        kept = [entry for entry in former if _former_name(entry) != name]
        if cited:
            newest = max(cited, key=lambda i: self.vintages[i])
            if current not in (_former_name(entry) for entry in kept):
                kept.append(f"{current} ({newest})")
        else:
            self.note(
                "unnamed-former-name",
                "pcns",
                code,
                f"PCN {code} renamed from {current} to {name}; no upstream file is cited for "
                "the old name, so it is not kept in former_names",
            )
        self.put(row, "former_names", "; ".join(kept), stamp)
        self.put(row, "pcn_name", name, stamp)

    def merge_date(
        self, row: CsvRow, resource: str, column: str, value: date | None, stamp: Stamp
    ) -> None:
        """Merge one dated fact (exact or absent) from an ePCN into a date column and its bounds.

        `value` None for an end or close date means "still holds on the file's date".
        """
        current = _moment(row, column)
        key = _describe_key(resource, row)
        if value is not None:
            if current.exact == value and current.earliest is None and current.latest is None:
                return
            inside = (current.earliest is None or current.earliest <= value) and (
                current.latest is None or value <= current.latest
            )
            if current.exact is None and inside:
                self._set_exact(row, column, value, stamp)  # fills a gap or narrows bounds
                return
            if not self.may_override(row, stamp):
                self.note(
                    "kept-newer",
                    resource,
                    key,
                    f"{key}: {stamp.file} gives {column} {value}; the record has "
                    f"{current.describe()} from a newer file, kept",
                )
                return
            self.note(
                "corrected",
                resource,
                key,
                f"{key}: {column} {current.describe()} corrected to {value} by {stamp.file}",
            )
            self._set_exact(row, column, value, stamp)
            return
        if not current.known or not column.startswith(("end", "close")):
            return
        if not self.may_override(row, stamp):
            return  # an older file saw it still open; the newer record knows better
        self.note(
            "reopened",
            resource,
            key,
            f"{key}: {stamp.file} ({stamp.vintage}) shows no {column}; the record had "
            f"{current.describe()}, cleared",
        )
        self._set_exact(row, column, None, stamp)

    def _set_exact(self, row: CsvRow, column: str, value: date | None, stamp: Stamp) -> None:
        self.put(row, column, _iso(value), stamp)
        self.put(row, f"{column}_earliest", "", stamp)
        self.put(row, f"{column}_latest", "", stamp)

    def _set_bounds(
        self, row: CsvRow, column: str, earliest: date | None, latest: date | None, stamp: Stamp
    ) -> None:
        self.put(row, f"{column}_earliest", _iso(earliest), stamp)
        self.put(row, f"{column}_latest", _iso(latest), stamp)

    # --- memberships -----------------------------------------------------------------------

    def add_membership(self, values: dict[str, str], stamp: Stamp) -> CsvRow:
        row = self.memberships.insert({**values, "source": stamp.id}, membership_key)
        self._index_membership(row)
        return row

    def open_memberships(self, practice: str, day: date) -> list[CsvRow]:
        """Memberships with no end known that may have started by `day`."""
        found = []
        for row in self._by_practice.get(practice, []):
            life = _life(row, "start_date", "end_date")
            if life.end.known:
                continue
            if life.start.lo is not None and life.start.lo > day:
                continue
            found.append(row)
        return found

    # --- partnerships ----------------------------------------------------------------------

    def propose_partnership(self, row: CsvRow, stamp: Stamp, as_at: date) -> None:
        """Propose a new PCN's partnership from its members' 2019 CCG, else their earlier PCNs."""
        code = row.get("pcn_code")
        name = row.get("pcn_name")
        closed = _moment(row, "close_date")
        members = self._members_of(code, as_at, closed.known)
        label = f"as at {closed.hi}: " if closed.known and closed.hi else ""
        ccgs = Counter(
            ccg
            for practice in members
            if (ccg := self._practice_ccg(practice)) and ccg in self.partnership_of_ccg
        )
        history = Counter(pcn for practice in members if (pcn := self._earlier_pcn(practice, code)))
        votes: Counter[str] = Counter()
        if ccgs:
            for ccg, count in ccgs.items():
                votes[self.partnership_of_ccg[ccg]] += count
            evidence = "; ".join(f"{ccg}:{count}" for ccg, count in sorted(ccgs.items()))
            basis = f"{CCG_BASIS} {label}{evidence}"
        elif history:
            for pcn, count in history.items():
                votes[self._pcn[pcn].get("partnership")] += count
            evidence = "; ".join(f"{pcn}:{count}" for pcn, count in sorted(history.items()))
            basis = f"{HISTORY_BASIS} {label}{evidence}"
        self.put(row, "partnership_review", "true", stamp)
        if not votes:
            self.note(
                "no-partnership",
                "pcns",
                code,
                f"PCN {code} {name}: no member practice has a 2019 CCG or an earlier PCN, so no "
                "partnership can be proposed; set partnership and partnership_basis in "
                "sources/pcns.csv by hand",
            )
            return
        ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
        chosen = ranked[0][0]
        self.put(row, "partnership", chosen, stamp)
        self.put(row, "partnership_basis", basis, stamp)
        self.stamp(row, stamp, self.derivation_ids)
        self.proposed.append(code)
        message = (
            f"PCN {code} {name} is new: partnership {chosen} proposed from {basis[9:]}; "
            "partnership_review = true until someone confirms it"
        )
        self.note("partnership-proposed", "pcns", code, message)
        if len(ranked) > 1:
            split = ", ".join(f"{part} {count}" for part, count in ranked)
            self.note(
                "partnership-split",
                "pcns",
                code,
                f"PCN {code} {name}: its members point to more than one partnership ({split})",
            )

    def _members_of(self, pcn: str, day: date, closed: bool) -> list[str]:
        rows = self._by_pcn.get(pcn, [])
        current = [
            row.get("practice_code")
            for row in rows
            if _life(row, "start_date", "end_date").possibly_on(day)
        ]
        chosen = current if current and not closed else [row.get("practice_code") for row in rows]
        return sorted(set(chosen))

    def _practice_ccg(self, practice: str) -> str:
        row = self._practice.get(practice)
        return row.get("ccg_2019_code") if row else ""

    def _earlier_pcn(self, practice: str, pcn: str) -> str | None:
        """The practice's most recent other PCN that has a partnership."""
        earlier = [
            row
            for row in self._by_practice.get(practice, [])
            if row.get("pcn_code") != pcn
            and (other := self._pcn.get(row.get("pcn_code"))) is not None
            and other.get("partnership")
        ]
        if not earlier:
            return None
        latest = max(earlier, key=lambda row: _moment(row, "start_date").lo or date.min)
        return latest.get("pcn_code")


def _former_name(entry: str) -> str:
    """The name in a former_names entry "NAME (SOURCEID)"."""
    return entry.rsplit(" (", 1)[0]


def _describe_key(resource: str, row: CsvRow) -> str:
    if resource == "pcn_memberships":
        start = _moment(row, "start_date").describe()
        return f"{row.get('practice_code')} in {row.get('pcn_code')} from {start}"
    return f"PCN {row.get('pcn_code')}"


# ---------------------------------------------------------------------------------------------
# ePCN


def apply_epcn(records: Records, extract: EpcnExtract, stamp: Stamp) -> None:
    """Merge an ePCN workbook (already kept to one ICS) into the records."""
    names: dict[str, str] = {}
    for rel in sorted(extract.relationships, key=lambda r: r.start_date or date.min):
        names[rel.practice_code] = rel.practice_name  # the name on its latest period
    for code, name in names.items():
        records.practice(code, name, None, stamp)
    new: list[CsvRow] = []
    for pcn in extract.pcns:
        row = records._pcn.get(pcn.code)
        if row is None:
            new.append(records.add_pcn(_pcn_values(pcn), stamp))
        else:
            _update_pcn(records, row, pcn, stamp)
    for rel in extract.relationships:
        _merge_relationship(records, rel, stamp)
    for pcn in extract.pcns:
        _fit_bounds_to_pcn(records, pcn.code, stamp)
    for row in new:
        records.propose_partnership(row, stamp, stamp.vintage)


def _fit_bounds_to_pcn(records: Records, code: str, stamp: Stamp) -> None:
    """Narrow membership bounds to the PCN's life, now that the ePCN gives its dates.

    A mapping file bounds a membership's start by the days between two files (2025-01-21 ..
    2026-08-01); once the PCN's open date is known (2025-04-01), no member joined before it.
    """
    pcn = records._pcn.get(code)
    if pcn is None:
        return
    opened, closed = _moment(pcn, "open_date"), _moment(pcn, "close_date")
    for row in records._by_pcn.get(code, []):
        start, end = _moment(row, "start_date"), _moment(row, "end_date")
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
        "open_date": _iso(pcn.open_date),
        "close_date": _iso(pcn.close_date),
    }


def _update_pcn(records: Records, row: CsvRow, pcn: EpcnPcn, stamp: Stamp) -> None:
    records.rename(row, pcn.name, stamp)
    if pcn.commissioner_code and (not row.get("sub_icb_code") or records.may_override(row, stamp)):
        records.put(row, "sub_icb_code", pcn.commissioner_code, stamp)
    if pcn.open_date is not None:
        records.merge_date(row, "pcns", "open_date", pcn.open_date, stamp)
    records.merge_date(row, "pcns", "close_date", pcn.close_date, stamp)


def _merge_relationship(records: Records, rel: EpcnRelationship, stamp: Stamp) -> None:
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
    rows = records._members.get(pair, [])
    row = next((r for r in rows if r.get("start_date") == start), None)
    if row is None:
        # A membership first seen in a mapping file, with a start known only between bounds.
        row = next(
            (
                r
                for r in rows
                if not r.get("start_date")
                and _moment(r, "start_date").known
                and (_moment(r, "start_date").earliest or date.min) <= rel.start_date
                and rel.start_date <= (_moment(r, "start_date").latest or date.max)
            ),
            None,
        )
        if row is not None:
            records._set_exact(row, "start_date", rel.start_date, stamp)
    if row is None:
        values = {
            "practice_code": rel.practice_code,
            "pcn_code": rel.pcn_code,
            "start_date": start,
            "end_date": _iso(rel.end_date),
        }
        records.add_membership(values, stamp)
        return
    records.merge_date(row, "pcn_memberships", "end_date", rel.end_date, stamp)


# ---------------------------------------------------------------------------------------------
# gp-reg-pat-prac-map


def apply_gp_map(records: Records, extract: GpMapExtract, stamp: Stamp, known: date | None) -> None:
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
            if line.pcn_code and (row := records._pcn.get(line.pcn_code)) is not None:
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
        records.propose_partnership(row, stamp, extract_date)


def _map_pcns(
    records: Records, in_file: Mapping[str, GpMapRow], stamp: Stamp, first: date | None
) -> tuple[list[CsvRow], set[str]]:
    new: list[CsvRow] = []
    closed: set[str] = set()
    for code, line in in_file.items():
        row = records._pcn.get(code)
        if row is None:
            values = {
                "pcn_code": code,
                "pcn_name": line.pcn_name or "",
                "sub_icb_code": line.sub_icb_code,
                "open_date_earliest": _iso(first),
                "open_date_latest": stamp.vintage.isoformat(),
            }
            new.append(records.add_pcn(values, stamp))
            continue
        close = _moment(row, "close_date")
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
        opened = _moment(row, "open_date")
        if opened.exact is None and (opened.latest is None or opened.latest > stamp.vintage):
            records.put(row, "open_date_latest", stamp.vintage.isoformat(), stamp)
    return new, closed


def _close_absent_pcns(
    records: Records, in_file: set[str], stamp: Stamp, known: date | None
) -> None:
    """A PCN with no practice in the snapshot closed after `known`, before the extract date."""
    for row in records.pcns.rows:
        if row.get("pcn_code") in in_file or _moment(row, "close_date").known:
            continue
        opened = _moment(row, "open_date")
        if opened.hi is None or opened.hi >= stamp.vintage:
            continue
        earliest = max((d for d in (known, opened.lo) if d is not None), default=None)
        records._set_bounds(row, "close_date", earliest, stamp.vintage - DAY, stamp)


def _note_without_pcn(
    records: Records, practice: str, pcn: str, listed: bool, stamp: Stamp
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
    records: Records,
    mapped: Mapping[str, str | None],
    closed: set[str],
    stamp: Stamp,
    known: date | None,
    first: date | None,
) -> None:
    extract_date = stamp.vintage
    practices = sorted(set(records._by_practice) | set(mapped))
    for practice in practices:
        target = mapped.get(practice)  # None: unallocated, or gone from the ICS
        for row in records.open_memberships(practice, extract_date):
            if row.get("pcn_code") == target:
                continue
            started = _moment(row, "start_date").lo
            earliest = max((d for d in (known, started) if d is not None), default=None)
            records._set_bounds(row, "end_date", earliest, extract_date - DAY, stamp)
            if target is None:
                _note_without_pcn(records, practice, row.get("pcn_code"), practice in mapped, stamp)
    for practice, target in mapped.items():
        if not target or target in closed:
            continue
        if any(
            row.get("pcn_code") == target
            for row in records.open_memberships(practice, extract_date)
        ):
            continue
        pcn = records._pcn.get(target)
        opened = _moment(pcn, "open_date").lo if pcn is not None else None
        earliest = max((d for d in (first, opened) if d is not None), default=None)
        values = {
            "practice_code": practice,
            "pcn_code": target,
            "start_date_earliest": _iso(earliest),
            "start_date_latest": extract_date.isoformat(),
        }
        records.add_membership(values, stamp)
