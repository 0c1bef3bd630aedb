"""The PCN, practice and membership records as a refresh edits them, cell by cell.

`EditableTables` holds the three source CSVs (`CsvDocument`, edited in place, so a fact that does
not change leaves its line as it was), indexes them, and decides which fact wins when two files
disagree:

- a value from a file at least as new as everything the record already cites replaces the
  record's value (ODS corrects history in later ePCN files: G82671 left U37339 on 2022-03-31,
  a date first published in 2023);
- an older file only fills what is empty, narrows bounds to an exact date inside them, or adds
  a former name;
- a date known exactly is never replaced by bounds.

Every record a file changes cites that file in its `source` field; hand-curated fields (a PCN's
partnership and its basis, a practice's 2019 CCG) are never overwritten. A new PCN gets a
proposed partnership (`pipeline.upstream.proposals`) with `partnership_review` = true and a
`Note` saying so.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from pipeline.core.keys import next_membership_id
from pipeline.core.scope import Scope
from pipeline.core.timeline import iso, life, moment
from pipeline.upstream.csvedit import CsvDocument, CsvRow

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
    "source",
)
NAME_COLUMNS = (
    "pcn_code",
    "number",
    "name",
    "valid_from",
    "valid_from_earliest",
    "valid_from_latest",
    "valid_to",
    "valid_to_earliest",
    "valid_to_latest",
    "source",
)
FROM_COLUMNS = ("valid_from", "valid_from_earliest", "valid_from_latest")
TO_COLUMNS = ("valid_to", "valid_to_earliest", "valid_to_latest")
PRACTICE_COLUMNS = ("practice_code", "practice_name", "postcode", "ccg_2019_code", "source")
MEMBERSHIP_COLUMNS = (
    "membership_id",
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
    `missing-start-date`, `unnamed-former-name`, `no-registered-patients`.
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


def split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def pcn_key(row: CsvRow) -> tuple[str, ...]:
    return (row.get("pcn_code"),)


def practice_key(row: CsvRow) -> tuple[str, ...]:
    return (row.get("practice_code"),)


def name_key(row: CsvRow) -> tuple[str, ...]:
    # a first name (no start at all) sorts before the names that follow it
    return (row.get("pcn_code"), row.get("valid_from") or row.get("valid_from_earliest") or "")


def membership_key(row: CsvRow) -> tuple[str, ...]:
    return (row.get("practice_code"), row.get("pcn_code"), row.get("start_date"))


@dataclass(kw_only=True)
class EditableTables:
    """The three editable resources (and pcn_names), indexed, with what is needed to judge and
    stamp changes. Built whole, by keyword (`EditableTables.empty` for a new project):

    `vintages`: registry id -> vintage of every upstream publication in the registry;
    `dated`: registry id -> vintage of every dated source, hand edits included (what provenance
    compares); `scope`: what the ICS says it is (ics.yaml), which PCNs are its own and its
    partnership rule (None treats every PCN as the ICS's own, under the rule ccg-2019);
    `partnership_of_ccg`: 2019 CCG code -> partnership id (partnerships.ccgs_2019);
    `partnership_of_sub_icb`: sub-ICB location (or former CCG) code -> partnership id
    (partnerships.sub_icb_locations); `derivation_ids`: the ids a proposed partnership cites
    besides the upstream file. `notes` collects what the reviewer must read.
    """

    pcns: CsvDocument
    practices: CsvDocument
    memberships: CsvDocument
    names: CsvDocument | None = None  # pcn_names.csv: every name of every PCN, with its period
    vintages: dict[str, date] = field(default_factory=dict)
    dated: dict[str, date] = field(default_factory=dict)
    scope: Scope | None = None
    partnership_of_ccg: dict[str, str] = field(default_factory=dict)
    partnership_of_sub_icb: dict[str, str] = field(default_factory=dict)
    derivation_ids: tuple[str, ...] = ("DERIVED",)
    notes: list[Note] = field(default_factory=list)

    @classmethod
    def empty(
        cls,
        *,
        scope: Scope | None,
        dated: dict[str, date],
        derivation_ids: tuple[str, ...],
    ) -> EditableTables:
        """Empty tables (a header each) for a project that has no records yet (`ics-data init`)."""
        return cls(
            pcns=_empty(PCN_COLUMNS, "pcns.csv"),
            practices=_empty(PRACTICE_COLUMNS, "practices.csv"),
            memberships=_empty(MEMBERSHIP_COLUMNS, "pcn_memberships.csv"),
            names=_empty(NAME_COLUMNS, "pcn_names.csv"),
            dated=dated,
            scope=scope,
            derivation_ids=derivation_ids,
        )

    def __post_init__(self) -> None:
        self.pcns.require(PCN_COLUMNS)
        self.practices.require(PRACTICE_COLUMNS)
        self.memberships.require(MEMBERSHIP_COLUMNS)
        if self.names is not None:
            self.names.require(NAME_COLUMNS)
        self._pcn = {row.get("pcn_code"): row for row in self.pcns.rows}
        self._practice = {row.get("practice_code"): row for row in self.practices.rows}
        self._members: dict[tuple[str, str], list[CsvRow]] = defaultdict(list)
        self._by_practice: dict[str, list[CsvRow]] = defaultdict(list)
        self._by_pcn: dict[str, list[CsvRow]] = defaultdict(list)
        for row in self.memberships.rows:
            self._index_membership(row)

    def pcn(self, code: str) -> CsvRow | None:
        return self._pcn.get(code)

    def owns(self, row: CsvRow) -> bool:
        """Is this PCN the ICS's own (not another ICB's PCN kept as a reference)?"""
        return self.scope is None or self.scope.owns(row.get("sub_icb_code"))

    def memberships_of(self, practice: str, pcn: str) -> list[CsvRow]:
        return self._members.get((practice, pcn), [])

    def members_of_pcn(self, pcn: str) -> list[CsvRow]:
        return self._by_pcn.get(pcn, [])

    def memberships_of_practice(self, practice: str) -> list[CsvRow]:
        return self._by_practice.get(practice, [])

    def practice_row(self, code: str) -> CsvRow | None:
        return self._practice.get(code)

    def practices_with_memberships(self) -> set[str]:
        return set(self._by_practice)

    def _index_membership(self, row: CsvRow) -> None:
        self._members[(row.get("practice_code"), row.get("pcn_code"))].append(row)
        self._by_practice[row.get("practice_code")].append(row)
        self._by_pcn[row.get("pcn_code")].append(row)

    # --- provenance ------------------------------------------------------------------------

    def cited(self) -> set[str]:
        ids: set[str] = set()
        documents = (self.pcns, self.practices, self.memberships, self.names)
        for document in (d for d in documents if d is not None):
            for row in document.rows:
                ids.update(split_ids(row.get("source")))
        return ids

    def newest_known(self) -> date | None:
        """The newest vintage any record cites: the day the sources were last known current."""
        days = [self.vintages[i] for i in self.cited() if i in self.vintages]
        return max(days) if days else None

    def vintage_of(self, ident: str) -> date | None:
        return self.vintages.get(ident) or self.dated.get(ident)

    def record_vintage(self, row: CsvRow) -> date | None:
        """The newest date among the sources the record cites, a hand edit's included: a file
        older than that never replaces the record's values."""
        days = [d for i in split_ids(row.get("source")) if (d := self.vintage_of(i)) is not None]
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
        if values.get("pcn_name"):
            self._add_name({"pcn_code": values["pcn_code"], "name": values["pcn_name"]}, stamp)
        return row

    def names_of(self, code: str) -> list[CsvRow]:
        """PCN CODE's rows in pcn_names, oldest first."""
        if self.names is None:
            return []
        own = [row for row in self.names.rows if row.get("pcn_code") == code]
        return sorted(own, key=lambda row: moment(row, "valid_from").lo or date.min)

    def _add_name(self, values: dict[str, str], stamp: Stamp, *extra: str) -> CsvRow | None:
        if self.names is None:
            return None
        code = values["pcn_code"]
        taken = [int(r.get("number")) for r in self.names_of(code) if r.get("number").isdigit()]
        number = str(max(taken, default=0) + 1)  # never renumbered: the key stays
        row = self.names.insert({**values, "number": number, "source": stamp.id}, name_key)
        self.stamp(row, stamp, extra)
        return row

    def _vintages_of(self, row: CsvRow) -> list[date]:
        return sorted(
            d for i in split_ids(row.get("source")) if (d := self.vintage_of(i)) is not None
        )

    def rename(self, row: CsvRow, name: str, stamp: Stamp) -> None:
        """Take a newer file's name: the old name's row in pcn_names ends between the newest
        file that showed it and the day before this one, and the new name's row starts.

        A file older than the record's newest source (a hand edit is one, with its date) never
        renames: its name is an earlier one, added before the first (MAP22's ASHFORD STOUR PCN
        for U87442, MID KENT PCN since 2022-04), or already kept; a name the sources do not know
        at all is left for review.
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
        code = row.get("pcn_code")
        own = self.names_of(code)
        last = own[-1] if own else None
        began = moment(last, "valid_from").lo if last is not None else None
        # a file older than the record's newest source, or dated before the current name was
        # taken, shows an earlier name: it never renames
        if not self.may_override(row, stamp) or (began is not None and began > stamp.vintage):
            self._older_name(row, code, name, own, stamp)
            return
        shown = self._vintages_of(last) if last is not None else []
        before = shown[-1] if shown else None
        if last is not None and not any(last.get(c) for c in TO_COLUMNS):
            if before is not None:
                self.put(last, "valid_to_earliest", before.isoformat(), stamp)
            self.put(last, "valid_to_latest", (stamp.vintage - DAY).isoformat(), stamp)
        self._add_name(
            {
                "pcn_code": code,
                "name": name,
                "valid_from_earliest": iso(before + DAY) if before else "",
                "valid_from_latest": stamp.vintage.isoformat(),
            },
            stamp,
        )
        self.put(row, "pcn_name", name, stamp)

    def _older_name(
        self, row: CsvRow, code: str, name: str, own: list[CsvRow], stamp: Stamp
    ) -> None:
        if any(other.get("name") == name for other in own):
            return  # an earlier name, kept already
        first = own[0] if own else None
        shown = self._vintages_of(first) if first is not None else []
        if first is not None and shown and stamp.vintage < shown[0]:
            ids = split_ids(first.get("source"))
            oldest = next(i for i in ids if self.vintage_of(i) == shown[0])
            # the first name so far now starts after this file (set first, so that the older
            # name's row sorts before it)
            if not any(first.get(c) for c in FROM_COLUMNS):
                self.put(first, "valid_from_earliest", (stamp.vintage + DAY).isoformat(), stamp)
                self.put(first, "valid_from_latest", shown[0].isoformat(), stamp)
            self._add_name(
                {
                    "pcn_code": code,
                    "name": name,
                    "valid_to_earliest": stamp.vintage.isoformat(),
                    "valid_to_latest": (shown[0] - DAY).isoformat(),
                },
                stamp,
                oldest,
                *self.derivation_ids[:1],
            )
            return
        self.note(
            "kept-newer",
            "pcns",
            code,
            f"PCN {code}: {stamp.file} ({stamp.vintage}) names it {name}; the sources hold "
            f"{row.get('pcn_name')} from a newer source ({self.record_vintage(row)}), kept. If "
            f"{name} was a name of its own, add it to pcn_names",
        )

    def merge_date(
        self, row: CsvRow, resource: str, column: str, value: date | None, stamp: Stamp
    ) -> None:
        """Merge one dated fact (exact or absent) from an ePCN into a date column and its bounds.

        `value` None for an end or close date means "still holds on the file's date".
        """
        current = moment(row, column)
        key = _describe_key(resource, row)
        if value is not None:
            if current.exact == value and current.earliest is None and current.latest is None:
                return
            inside = (current.earliest is None or current.earliest <= value) and (
                current.latest is None or value <= current.latest
            )
            if current.exact is None and inside:
                self.set_exact(row, column, value, stamp)  # fills a gap or narrows bounds
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
            self.set_exact(row, column, value, stamp)
            return
        if not current.known or not column.startswith(("end", "close")):
            return
        if current.lo is not None and current.lo >= stamp.vintage:
            # open on the file's date is what an end after that date says too (a move entered
            # by hand ends the earlier membership after the file): nothing to merge
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
        self.set_exact(row, column, None, stamp)

    def set_exact(self, row: CsvRow, column: str, value: date | None, stamp: Stamp) -> None:
        self.put(row, column, iso(value), stamp)
        self.put(row, f"{column}_earliest", "", stamp)
        self.put(row, f"{column}_latest", "", stamp)

    def set_bounds(
        self, row: CsvRow, column: str, earliest: date | None, latest: date | None, stamp: Stamp
    ) -> None:
        self.put(row, f"{column}_earliest", iso(earliest), stamp)
        self.put(row, f"{column}_latest", iso(latest), stamp)

    # --- memberships -----------------------------------------------------------------------

    def add_membership(self, values: dict[str, str], stamp: Stamp) -> CsvRow:
        """A new membership, with the next id of its practice in its PCN (`pipeline.core.keys`)."""
        practice, pcn = values["practice_code"], values["pcn_code"]
        taken = (row.get("membership_id") for row in self.memberships_of(practice, pcn))
        ident = next_membership_id(practice, pcn, taken)
        values = {**values, "membership_id": ident, "source": stamp.id}
        row = self.memberships.insert(values, membership_key)
        self._index_membership(row)
        return row

    def memberships_on(self, practice: str, day: date) -> list[CsvRow]:
        """Memberships that may hold on `day`: open, or ending on or after it (a move entered
        by hand ends the earlier membership after the file's date)."""
        found = []
        for row in self._by_practice.get(practice, []):
            span = life(row, "start_date", "end_date")
            if span.possibly_on(day):
                found.append(row)
        return found

    def open_memberships(self, practice: str, day: date) -> list[CsvRow]:
        """Memberships with no end known that may have started by `day`."""
        found = []
        for row in self._by_practice.get(practice, []):
            span = life(row, "start_date", "end_date")
            if span.end.known:
                continue
            if span.start.lo is not None and span.start.lo > day:
                continue
            found.append(row)
        return found


def _empty(columns: Sequence[str], name: str) -> CsvDocument:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(columns)
    return CsvDocument.parse(out.getvalue(), Path(name))


def _describe_key(resource: str, row: CsvRow) -> str:
    if resource == "pcn_memberships":
        start = moment(row, "start_date").describe()
        return f"{row.get('practice_code')} in {row.get('pcn_code')} from {start}"
    return f"PCN {row.get('pcn_code')}"
