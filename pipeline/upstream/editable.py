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
proposed partnership with `partnership_review` = true and a `Note` saying so.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline.core.keys import next_membership_id
from pipeline.core.scope import BY_CCG_2019, BY_SUB_ICB, HAND_KEPT, NO_PARTNERSHIPS, Scope
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
# How a proposed partnership is derived, in the words of partnership_basis.
CCG_BASIS = "derived: member practices' 2019 CCG (EPCMEM)"
HISTORY_BASIS = "derived: member practices' earlier PCNs"
COMMISSIONER_BASIS = "derived: commissioner sub-ICB location"


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


@dataclass
class EditableTables:
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
    names: CsvDocument | None = None  # pcn_names.csv: every name of every PCN, with its period
    # registry id -> vintage of every dated source, hand edits included: what provenance compares
    dated: dict[str, date] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    proposed: list[str] = field(default_factory=list)  # PCN codes given a proposed partnership
    # What the ICS says it is (ics.yaml): which PCNs are its own, and its partnership rule. None
    # treats every PCN as the ICS's own, under the rule ccg-2019.
    scope: Scope | None = None
    # sub-ICB location (or former CCG) code -> partnership id (partnerships.sub_icb_locations)
    partnership_of_sub_icb: dict[str, str] = field(default_factory=dict)

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

    # --- partnerships ----------------------------------------------------------------------

    def propose_partnership(self, row: CsvRow, stamp: Stamp, as_at: date) -> None:
        """Propose a new PCN's partnership as the ICS's partnership rule says: by its members'
        2019 CCG, else their earlier PCNs (ccg-2019), or by its commissioner (sub-icb-location).
        A PCN of another ICB, or an ICS whose partnerships are hand-kept or absent, gets none."""
        code = row.get("pcn_code")
        name = row.get("pcn_name")
        rule = self.scope.partnership_rule if self.scope is not None else BY_CCG_2019
        if not self.owns(row) or rule in (HAND_KEPT, NO_PARTNERSHIPS):
            self.put(row, "partnership_review", "false", stamp)
            if self.owns(row) and rule == HAND_KEPT:
                self.note(
                    "partnership-to-set",
                    "pcns",
                    code,
                    f"PCN {code} {name} is new: set its partnership by hand (the partnership "
                    "rule is hand-kept)",
                )
            return
        if rule == BY_SUB_ICB:
            self._propose_by_commissioner(row, stamp)
            return
        closed = moment(row, "close_date")
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

    def _propose_by_commissioner(self, row: CsvRow, stamp: Stamp) -> None:
        code, commissioner = row.get("pcn_code"), row.get("sub_icb_code")
        self.put(row, "partnership_review", "true", stamp)
        chosen = self.partnership_of_sub_icb.get(commissioner)
        if chosen is None:
            self.note(
                "no-partnership",
                "pcns",
                code,
                f"PCN {code} {row.get('pcn_name')}: no partnership lists its commissioner "
                f"{commissioner} in sub_icb_locations; set partnership by hand",
            )
            return
        self.put(row, "partnership", chosen, stamp)
        self.put(row, "partnership_basis", f"{COMMISSIONER_BASIS} {commissioner}", stamp)
        self.stamp(row, stamp, self.derivation_ids)
        self.proposed.append(code)
        self.note(
            "partnership-proposed",
            "pcns",
            code,
            f"PCN {code} {row.get('pcn_name')} is new: partnership {chosen} proposed from its "
            f"commissioner {commissioner}; partnership_review = true until someone confirms it",
        )

    def _members_of(self, pcn: str, day: date, closed: bool) -> list[str]:
        rows = self._by_pcn.get(pcn, [])
        current = [
            row.get("practice_code")
            for row in rows
            if life(row, "start_date", "end_date").possibly_on(day)
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
        latest = max(earlier, key=lambda row: moment(row, "start_date").lo or date.min)
        return latest.get("pcn_code")


def _describe_key(resource: str, row: CsvRow) -> str:
    if resource == "pcn_memberships":
        start = moment(row, "start_date").describe()
        return f"{row.get('practice_code')} in {row.get('pcn_code')} from {start}"
    return f"PCN {row.get('pcn_code')}"
