"""The structure of the ICS on a day: which PCNs were open, in which partnership, with which
member practices; and the flat lookup a researcher joins on (the `structure` resource).

A record whose dates are only known between bounds may or may not hold on a day. A PCN is listed
when it was *definitely* open; a practice is a member when its membership *definitely* held.
Memberships that only possibly held are kept apart (`possible`), never mixed in, and PCNs that
were only possibly open are named in `uncertain_pcns`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.check.tables import row_issue
from pipeline.core.errors import ProjectError
from pipeline.core.files import csv_table
from pipeline.core.issues import Issue
from pipeline.core.model import Dataset, TableOut, sort_key
from pipeline.core.scope import Scope, outside_before_icb, scope_of
from pipeline.core.timeline import Life, Moment, Period, periods, row_life, segments
from pipeline.sources.schemas import derived_schema

# The tables the structure is built from; without any of them there is no structure.
NEEDS = ("pcns", "pcn_memberships", "practices", "partnerships", "organisations", "icbs")
SCHEMA_FILE = "structure.schema.yaml"
# The group of PCNs with no partnership (the rule none, or PCNs of other ICBs).
NO_PARTNERSHIP = "No partnership"


@dataclass(frozen=True)
class Member:
    practice_code: str
    practice_name: str


@dataclass(frozen=True)
class PcnAt:
    pcn_code: str
    pcn_name: str
    partnership: str
    sub_icb_code: str
    members: tuple[Member, ...]
    possible: tuple[Member, ...] = ()  # memberships that may or may not have held that day


@dataclass(frozen=True)
class PartnershipAt:
    id: str
    name: str
    pcns: tuple[PcnAt, ...]

    @property
    def practices(self) -> int:
        return sum(len(p.members) for p in self.pcns)


@dataclass(frozen=True)
class Structure:
    day: date
    ics_code: str
    ics_name: str
    partnerships: tuple[PartnershipAt, ...]
    uncertain_pcns: tuple[str, ...] = ()  # PCN codes possibly, not definitely, open that day

    @property
    def pcns(self) -> tuple[PcnAt, ...]:
        return tuple(p for part in self.partnerships for p in part.pcns)

    @property
    def practices(self) -> int:
        return sum(part.practices for part in self.partnerships)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_at": self.day.isoformat(),
            "ics": {"code": self.ics_code, "name": self.ics_name},
            "pcn_count": len(self.pcns),
            "practice_count": self.practices,
            "uncertain_pcns": list(self.uncertain_pcns),
            "partnerships": [
                {
                    "id": part.id,
                    "name": part.name,
                    "pcns": [
                        {
                            "pcn_code": pcn.pcn_code,
                            "pcn_name": pcn.pcn_name,
                            "sub_icb_code": pcn.sub_icb_code,
                            "practices": [_member(m) for m in pcn.members],
                            "possible_practices": [_member(m) for m in pcn.possible],
                        }
                        for pcn in part.pcns
                    ],
                }
                for part in self.partnerships
            ],
        }

    def flat_rows(self) -> list[dict[str, Any]]:
        """One row per PCN and member practice (certain or not): what `as-at --format csv`
        prints. A PCN without members still has a row, with the practice left empty."""
        rows = []
        for part in self.partnerships:
            for pcn in part.pcns:
                base = {
                    "as_at": self.day.isoformat(),
                    "partnership": part.id,
                    "partnership_name": part.name,
                    "pcn_code": pcn.pcn_code,
                    "pcn_name": pcn.pcn_name,
                }
                members = [(m, True) for m in pcn.members] + [(m, False) for m in pcn.possible]
                if not members:
                    rows.append({**base, "practice_code": "", "practice_name": "", "certain": ""})
                for member, certain in members:
                    rows.append(
                        {
                            **base,
                            "practice_code": member.practice_code,
                            "practice_name": member.practice_name,
                            "certain": "true" if certain else "false",
                        }
                    )
        return rows


def _member(member: Member) -> dict[str, str]:
    return {"practice_code": member.practice_code, "practice_name": member.practice_name}


# How a membership counts in the structure on a day, and whether a PCN is in it.
MEMBER, POSSIBLE, ELSEWHERE = "member", "possible", "elsewhere"
LISTED, UNCERTAIN = "listed", "uncertain"


def membership_on(span: Life, outside: bool, day: date) -> str | None:
    """How a membership counts on DAY: MEMBER when it definitely held, POSSIBLE when it only may
    have. A practice then OUTSIDE the ICS's area (before its ICB: `core.scope.outside_before_icb`)
    is no member; its membership, when it definitely held, makes its PCN another area's then
    (ELSEWHERE)."""
    if outside:
        return ELSEWHERE if span.definitely_on(day) else None
    if span.definitely_on(day):
        return MEMBER
    if span.possibly_on(day):
        return POSSIBLE
    return None


def pcn_on(span: Life | None, own: bool, members: bool, elsewhere: bool, day: date) -> str | None:
    """Whether a PCN is in the structure on DAY: LISTED when it was definitely open and the ICS's
    that day, UNCERTAIN when such a PCN was only possibly open. The ICS's are its OWN PCNs
    (unless, before its ICB, their only members that day were of another area: ELSEWHERE and no
    MEMBERS) and other ICBs' PCNs with MEMBERS of the ICS that day."""
    if not (members or (own and not elsewhere)) or span is None:
        return None
    if span.definitely_on(day):
        return LISTED
    return UNCERTAIN if span.possibly_on(day) else None


def structure_as_at(dataset: Dataset, day: date) -> Structure:
    """The ICS's PCNs definitely open on `day`, by partnership, each with its member practices.

    The ICS's PCNs are its own (commissioner in ics.yaml) and the PCNs of other ICBs that its
    practices definitely belonged to that day; a PCN with no partnership (the rule none, or a
    PCN of another ICB) is listed under "no partnership" (`membership_on`, `pcn_on`).
    """
    scope = scope_of(_v(dataset, "ics"))
    names = {
        str(r["practice_code"]): str(r.get("practice_name") or "") for r in _v(dataset, "practices")
    }
    members: dict[str, list[Member]] = defaultdict(list)
    possible: dict[str, list[Member]] = defaultdict(list)
    outside = outside_before_icb(scope, _v(dataset, "practices"), day)
    elsewhere: set[str] = set()  # PCNs with a member that day outside the ICS's area then
    for row, span in dataset.rows_with_lives("pcn_memberships"):
        if span is None:
            continue
        code, pcn = str(row.values.get("practice_code")), str(row.values.get("pcn_code"))
        state = membership_on(span, code in outside, day)
        if state == ELSEWHERE:
            elsewhere.add(pcn)
        elif state is not None:
            (members if state == MEMBER else possible)[pcn].append(
                Member(code, names.get(code, ""))
            )
    by_partnership: dict[str, list[PcnAt]] = defaultdict(list)
    uncertain = []
    for row, span in dataset.rows_with_lives("pcns"):
        values = row.values
        code = str(values.get("pcn_code"))
        own = scope is None or scope.owns(values.get("sub_icb_code"))
        state = pcn_on(span, own, bool(members.get(code)), code in elsewhere, day)
        if state == UNCERTAIN:
            uncertain.append(code)
        if state != LISTED:
            continue
        partnership = str(values.get("partnership") or "")
        by_partnership[partnership].append(
            PcnAt(
                code,
                str(values.get("pcn_name") or ""),
                partnership,
                str(values.get("sub_icb_code") or ""),
                tuple(sorted(set(members[code]), key=lambda m: m.practice_code)),
                tuple(sorted(set(possible[code]), key=lambda m: m.practice_code)),
            )
        )
    groups = [
        (str(p["id"]), str(p.get("name") or p["id"]))
        for p in sorted(_v(dataset, "partnerships"), key=lambda p: str(p["id"]))
    ]
    if by_partnership.get(""):
        groups.append(("", NO_PARTNERSHIP))
    partnerships = tuple(
        PartnershipAt(
            ident,
            name,
            tuple(sorted(by_partnership.get(ident, []), key=lambda x: (x.pcn_name, x.pcn_code))),
        )
        for ident, name in groups
    )
    ics = next(iter(_v(dataset, "ics")), {})
    return Structure(
        day,
        str(ics.get("code") or ""),
        str(ics.get("name") or ""),
        partnerships,
        tuple(sorted(uncertain)),
    )


# --- the structure on every day at once --------------------------------------------------------

Dated = tuple[Mapping[str, Any], Life | None]  # a row's values with its life (None: no dates)


@dataclass(frozen=True)
class StructurePeriods:
    """The structure on every day at once, by the rules `structure_as_at` applies to one day:
    for each PCN the days it is listed, and for each membership the days it counts as a member
    and those it counts as only possibly one; each as periods in day order, in the order of the
    rows given (a release page carries them, and its script only looks a day up in them)."""

    listed: tuple[tuple[Period, ...], ...]
    members: tuple[tuple[Period, ...], ...]
    possible: tuple[tuple[Period, ...], ...]


def structure_periods(
    pcns: Sequence[Dated],
    memberships: Sequence[Dated],
    practices: Iterable[Mapping[str, Any]],
    scope: Scope | None,
) -> StructurePeriods:
    """The periods of each PCN and membership of the records (values typed or ISO text), the
    ICS's practices and its SCOPE as `structure_as_at` reads them from a dataset."""
    since = (Moment(exact=scope.statutory_since),) if scope and scope.statutory_since else ()
    practice = {str(p.get("practice_code")): p for p in practices}
    held: dict[str, list[Runs]] = defaultdict(list)  # each PCN's memberships, day by day
    members: list[tuple[Period, ...]] = []
    possible: list[tuple[Period, ...]] = []
    for values, span in memberships:
        runs: Runs = ()
        if span is not None:
            code = str(values.get("practice_code"))
            state = _membership_state(span, code, practice.get(code), scope)
            runs = segments(state, (*span, *since))
            held[str(values.get("pcn_code"))].append(runs)
        members.append(tuple((first, last) for first, last, is_ in runs if is_ == MEMBER))
        possible.append(tuple((first, last) for first, last, is_ in runs if is_ == POSSIBLE))
    listed: list[tuple[Period, ...]] = []
    for values, span in pcns:
        own = scope is None or scope.owns(values.get("sub_icb_code"))
        theirs = held.get(str(values.get("pcn_code")), [])
        # its answer changes on a day its own dates or a membership's state changes
        days = [*(span or ()), *since, *(Moment(exact=run[0]) for runs in theirs for run in runs)]
        listed.append(periods(_is(_pcn_state(span, own, theirs), LISTED), days))
    return StructurePeriods(tuple(listed), tuple(members), tuple(possible))


State = Callable[[date], str | None]  # what an item is in the structure on a day
Runs = tuple[tuple[date, date, str | None], ...]  # an item's state, day by day (`segments`)


def _membership_state(
    span: Life, code: str, practice: Mapping[str, Any] | None, scope: Scope | None
) -> State:
    rows = [practice] if practice is not None else []
    return lambda day: membership_on(span, code in outside_before_icb(scope, rows, day), day)


def _pcn_state(span: Life | None, own: bool, memberships: Sequence[Runs]) -> State:
    def state(day: date) -> str | None:
        states = {runs[bisect_right(runs, day, key=_first) - 1][2] for runs in memberships}
        return pcn_on(span, own, MEMBER in states, ELSEWHERE in states, day)

    return state


def _first(run: tuple[date, date, str | None]) -> date:
    return run[0]


def _is(state: State, wanted: str) -> Callable[[date], bool]:
    return lambda day: state(day) == wanted


def _v(dataset: Dataset, resource: str) -> list[dict[str, Any]]:
    return dataset.values(resource)


# --- the `structure` resource ------------------------------------------------------------------


def structure_schema() -> dict[str, Any]:
    """The Table Schema of the generated `structure` resource, shipped inside the package."""
    return derived_schema("structure")


def structure_rows(dataset: Dataset, day: date) -> list[dict[str, Any]]:
    """The flat lookup on `day`: one row per practice in an open PCN of the ICS, with its PCN,
    partnership, the PCN's sub-ICB location and the ICS's ICB (typed values, as the other tables
    hold)."""
    structure = structure_as_at(dataset, day)
    organisations = {str(o["code"]): o for o in _v(dataset, "organisations")}
    icb = _icb_on(dataset, day)
    rows = []
    for part in structure.partnerships:
        for pcn in part.pcns:
            sub_icb = organisations.get(pcn.sub_icb_code, {})
            for member in pcn.members:
                rows.append(
                    {
                        "practice_code": member.practice_code,
                        "practice_name": member.practice_name,
                        "pcn_code": pcn.pcn_code,
                        "pcn_name": pcn.pcn_name,
                        "partnership": part.id or None,
                        "partnership_name": part.name if part.id else None,
                        "sub_icb_code": pcn.sub_icb_code,
                        "sub_icb_name": sub_icb.get("name"),
                        "sub_icb_ons_code": sub_icb.get("ons_code"),
                        "icb_ods_code": icb.get("icb_ods_code"),
                        "icb_ons_code": icb.get("icb_ons_code"),
                        "icb_name": icb.get("icb_name"),
                        "as_at": day,
                    }
                )
    return rows


def _icb_on(dataset: Dataset, day: date) -> dict[str, Any]:
    """The icbs row of the ICS's ICB (the ics record's code and ONS code) valid on `day`."""
    ics = next(iter(_v(dataset, "ics")), {})
    found = [
        values
        for values in _v(dataset, "icbs")
        if values.get("icb_ods_code") == ics.get("code")
        and values.get("icb_ons_code") == ics.get("ons_code")
        and ((span := row_life("icbs", values)) is None or span.definitely_on(day))
    ]
    return found[0] if len(found) == 1 else {}


def structure_table(dataset: Dataset) -> list[TableOut]:
    """The generated `structure` table as at the release date; none when the sources lack a
    table it is built from (a throwaway project with a few resources, say)."""
    if dataset.metadata is None or any(name not in dataset.tables for name in NEEDS):
        return []
    if "structure" in dataset.tables:
        raise ProjectError(
            "sources/structure.* clashes with the generated `structure` resource",
            hint="rename that resource: `structure` is built by the pipeline",
        )
    schema = structure_schema()
    key = schema["primaryKey"]
    rows = structure_rows(dataset, dataset.metadata.release_date)
    rows.sort(key=lambda r: sort_key(r, key))
    return [
        TableOut(
            "structure",
            schema,
            tuple(rows),
            str(schema.get("title", "structure")),
            str(schema.get("description", "")),
        )
    ]


# --- rendering for `ics-data as-at` ------------------------------------------------------------

FLAT_COLUMNS = (
    "as_at",
    "partnership",
    "partnership_name",
    "pcn_code",
    "pcn_name",
    "practice_code",
    "practice_name",
    "certain",
)


def render_csv(structure: Structure) -> str:
    return csv_table(FLAT_COLUMNS, structure.flat_rows())


def render_text(structure: Structure) -> str:
    pcns = structure.pcns
    lines = [
        f"{structure.ics_name} ({structure.ics_code}) on {structure.day.isoformat()}: "
        f"{len(pcns)} PCNs, {structure.practices} member practices, "
        f"{len(structure.partnerships)} partnerships"
    ]
    for part in structure.partnerships:
        lines.append("")
        lines.append(f"{part.name} ({part.id}): {len(part.pcns)} PCNs, {part.practices} practices")
        for pcn in part.pcns:
            lines.append(f"  {pcn.pcn_code}  {pcn.pcn_name}  ({len(pcn.members)} practices)")
            for member in pcn.members:
                lines.append(f"      {member.practice_code}  {member.practice_name}")
            for member in pcn.possible:
                lines.append(
                    f"    ? {member.practice_code}  {member.practice_name}  "
                    "(membership dates known only between bounds)"
                )
    if structure.uncertain_pcns:
        lines.append("")
        lines.append(
            "Possibly open that day (dates known only between bounds), not listed: "
            + ", ".join(structure.uncertain_pcns)
        )
    return "\n".join(lines)


def check_structure(dataset: Dataset) -> list[Issue]:
    """The generated `structure` table (a row per practice of each PCN open on the release date)
    must meet its own schema, or publish would crash writing it. Its ICB columns are required:
    the ics record's ICB (code and ONS code) needs exactly one `icbs` row valid on that day.
    Called only when the records are otherwise valid: it is built from them."""
    ics = dataset.tables.get("ics")
    issues: list[Issue] = []
    for table in structure_table(dataset):
        required = [
            f["name"] for f in table.schema["fields"] if f.get("constraints", {}).get("required")
        ]
        missing = sorted({name for out in table.rows for name in required if out.get(name) is None})
        if not missing or ics is None or not ics.rows:
            continue
        row = ics.rows[0]
        day = dataset.metadata.release_date if dataset.metadata else None
        issues.append(
            row_issue(
                ics,
                row,
                "ons_code",
                "missing-icb",
                f"the generated structure table needs {', '.join(missing)} on the release date "
                f"{day}, but icbs has no single row of ICB {row.values.get('code')} "
                f"{row.values.get('ons_code')} valid that day",
                row.values.get("ons_code"),
            )
        )
    return issues
