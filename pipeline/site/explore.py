"""What a release page lets a reader explore, from the release's own CSV tables: PCNs and
practices (searchable, sortable), the structure on any day, a timeline of PCN openings,
closings, renames and practice moves, population pyramids of registered patients, and every
table's rows for paged previews.

Everything is computed here and written into the page as HTML (so it shows without JavaScript)
and as JSON data for the page's own script (`templates/explore.js`). The structure on any day
is `ics-data as-at`'s (`pipeline.check.structure`): the page carries, for each PCN, the days it
is listed and its name on each day, and for each membership the days it counts as a member and
those it counts as only possibly one, all worked out here by those rules; the script only looks
the chosen day up in them, and reasons about no date itself.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.check.structure import structure_periods
from pipeline.core.names import Names, name_life, name_on, names_by_pcn
from pipeline.core.scope import Scope, scope_of
from pipeline.core.timeline import Moment, Period, moment, row_life, segments

PREVIEW_PAGE = 10
BANDS = tuple(f"{a}-{a + 4}" for a in range(0, 95, 5)) + ("95+",)
Row = dict[str, str]


# Rows a page lists or carries for its script: a release with a longer pcns, practices,
# pcn_memberships or structure table gets a page that still loads on a phone (previews and
# downloads; no chart, explorer or embedded rows), and its tables are left to the downloads.
# The largest ICS of 2026 has under 600 practices; the limit is ten times that.
LIST_LIMIT = 5_000
LISTED_TABLES = ("pcns", "practices", "pcn_memberships", "structure")


def csv_rows(folder: Path, name: str) -> int:
    """The data rows of the release's NAME.csv (0 when absent), counted without parsing."""
    path = folder / "data" / f"{name}.csv"
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        return max(
            0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
        )


def listable(folder: Path, limit: int = LIST_LIMIT) -> bool:
    """Whether every listed table of the release fits in a page (at most LIMIT rows each)."""
    return all(csv_rows(folder, name) <= limit for name in LISTED_TABLES)


class ReleaseTables:
    """The CSV files of one release folder, each read once for its page (the previews, the
    explorer and the chart share them); made for one page and dropped with it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._read: dict[str, tuple[list[str], list[list[str]]]] = {}
        self._rows: dict[str, list[Row]] = {}

    def csv(self, path: str) -> tuple[list[str], list[list[str]]]:
        """The header and rows of the CSV file at PATH in the release (none when absent)."""
        if path not in self._read:
            file = self.folder / path
            rows: list[list[str]] = []
            if file.is_file():
                with file.open(encoding="utf-8", newline="") as handle:
                    rows = list(csv.reader(handle))
            self._read[path] = (rows[0], rows[1:]) if rows else ([], [])
        return self._read[path]

    def rows(self, name: str) -> list[Row]:
        """The rows of the release's table NAME (`data/NAME.csv`), by its header's names (a
        short row's missing cells as csv.DictReader gives them: None)."""
        if name not in self._rows:
            header, rows = self.csv(f"data/{name}.csv")
            self._rows[name] = [
                dict(zip(header, row, strict=False))
                if len(row) >= len(header)
                else _padded(header, row)
                for row in rows
                if row
            ]
        return self._rows[name]


def _padded(header: list[str], row: list[str]) -> Row:
    values: dict[str, Any] = dict.fromkeys(header)
    values.update(zip(header, row, strict=False))
    return values


# --- days as the page shows them ----------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A day known exactly or between bounds, as the page shows it and sorts it."""

    text: str  # the day, "between a and b" (a `?` for a bound not known), or "" when unknown
    sort: str  # the latest it may be, else the earliest; "" when unknown


def moment_of(row: Mapping[str, str], column: str) -> Moment:
    """The moment of COLUMN (with its bounds) of a release's CSV row; a cell that is no date (a
    damaged release) is unknown."""
    return moment(row, column, lenient=True)


def shown(row: Mapping[str, str], column: str) -> Shown:
    day = moment_of(row, column)
    latest = day.hi or day.lo
    return Shown(day.describe() if day.known else "", latest.isoformat() if latest else "")


def iso_periods(found: Sequence[Period]) -> list[list[str]]:
    """Periods as the page's data holds them: [first, last], ISO days."""
    return [[first.isoformat(), last.isoformat()] for first, last in found]


def _within(found: Sequence[Sequence[str]], day: str) -> bool:
    """Whether DAY (ISO) is in one of the periods of the page's data: a look-up, as the page's
    script does it (ISO days sort as the days)."""
    return any(period[0] <= day <= period[1] for period in found)


# --- the view -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PcnRow:
    code: str
    name: str
    partnership: str
    opened: Shown
    closed: Shown
    practices: int  # members on the release date
    patients: str  # registered patients on the newest extract date, "" if none


@dataclass(frozen=True)
class PracticeRow:
    code: str
    name: str
    pcn_code: str
    pcn_name: str
    partnership: str
    joined: Shown
    left: Shown
    pcn_patients: str


@dataclass(frozen=True)
class Event:
    day: str  # as shown: exact, or "between a and b"
    sort: str
    kind: str  # opened, closed, renamed, moved
    text: str
    items: tuple[str, ...] = ()  # the events of a group (many of one kind on one day)


@dataclass(frozen=True)
class Pyramid:
    id: str
    title: str
    total: int
    bands: tuple[tuple[str, int, int], ...]  # (band, female, male), youngest first
    note: str = ""

    @property
    def largest(self) -> int:
        return max([1, *(max(f, m) for _, f, m in self.bands)])


@dataclass(frozen=True)
class AsAtPcn:
    partnership: str
    code: str
    name: str
    members: int
    possible: int


@dataclass(frozen=True)
class Explore:
    release_date: str
    first_date: str
    pcns: tuple[PcnRow, ...]
    practices: tuple[PracticeRow, ...]
    events: tuple[Event, ...]
    pyramids: tuple[Pyramid, ...]
    extract_date: str  # the newest registered-patients extract, "" if none
    registered: str  # the ICB's registered patients then, "" if none
    population_claim: Row
    as_at: tuple[AsAtPcn, ...]  # on the release date (what the page shows without script)
    data: dict[str, Any]  # for the page's script
    listed: bool = True  # False: too large to list (LIST_LIMIT); the lists and data are empty

    @property
    def events_by_year(self) -> list[tuple[str, list[Event]]]:
        years: dict[str, list[Event]] = defaultdict(list)
        for event in self.events:
            years[event.sort[:4] or "?"].append(event)
        return sorted(years.items())


def structure_on(data: Mapping[str, Any], day: str) -> list[AsAtPcn]:
    """The structure on DAY (ISO) as the page's script reads it from the page's data
    (`page_data`): the PCNs listed that day, each with its name that day and its member and
    possible member practices counted. A look-up in periods `ics-data as-at`'s rules gave; the
    page shows the release date with it, without script."""
    members: dict[str, set[str]] = defaultdict(set)
    possible: dict[str, set[str]] = defaultdict(set)
    for practice, pcn, member, maybe in data["memberships"]:
        if _within(member, day):
            members[pcn].add(practice)
        elif _within(maybe, day):
            possible[pcn].add(practice)
    out = [
        AsAtPcn(
            partnership,
            code,
            next((name for first, last, name in names if first <= day <= last), ""),
            len(members[code]),
            len(possible[code]),
        )
        for code, partnership, listed, names in data["pcns"]
        if _within(listed, day)
    ]
    return sorted(out, key=lambda p: (p.partnership, p.name, p.code))


def page_data(
    tables: ReleaseTables,
    release_date: str,
    pcns: Sequence[Row],
    memberships: Sequence[Row],
    practices: Mapping[str, Row],
    partnerships: Mapping[str, str],
) -> dict[str, Any]:
    """What the page's script shows the structure on any day from: each PCN ever listed with its
    partnership, the days it is listed and its name on each day; each membership ever counted
    with the days it counts as a member and those as only possibly one
    (`check.structure.structure_periods`); the partnerships' names; the first day to choose."""
    dated_pcns = [(r, row_life("pcns", r, lenient=True)) for r in pcns]
    dated = [(r, row_life("pcn_memberships", r, lenient=True)) for r in memberships]
    found = structure_periods(dated_pcns, dated, list(practices.values()), _scope(tables))
    names = _names(tables)
    starts = [day for r in pcns if (day := moment_of(r, "open_date").lo)]
    return {
        "release": release_date,
        "first": min(starts).isoformat() if starts else release_date,
        "partnerships": dict(partnerships),
        "pcns": [
            [
                r["pcn_code"],
                r.get("partnership", ""),
                iso_periods(listed),
                _names_on(names, r["pcn_code"], r.get("pcn_name", "")),
            ]
            for r, listed in zip(pcns, found.listed, strict=True)
            if listed
        ],
        "memberships": [
            [r["practice_code"], r["pcn_code"], iso_periods(member), iso_periods(maybe)]
            for r, member, maybe in zip(memberships, found.members, found.possible, strict=True)
            if member or maybe
        ],
    }


def _names(tables: ReleaseTables) -> Names:
    """Each PCN's names over time (`pcn_names`), none for a release without the table or with
    a date in it that is no date (a damaged release: its PCNs show the names in `pcns`)."""
    try:
        return names_by_pcn(tables.rows("pcn_names"))
    except ValueError:
        return {}


def _names_on(names: Names, code: str, current: str) -> list[list[str]]:
    """The name PCN CODE had on each day (`core.names.name_on`; CURRENT, its name in `pcns`,
    where no name row says), as [first, last, name] with ISO days."""
    try:
        days = [day for row in names.get(code, ()) for day in name_life(row)]
        runs = segments(lambda day: name_on(names, code, day) or current, days)
    except ValueError:
        runs = ((date.min, date.max, current),)
    return [[first.isoformat(), last.isoformat(), name] for first, last, name in runs]


def explore(
    folder: Path, release_date: str, limit: int = LIST_LIMIT, tables: ReleaseTables | None = None
) -> Explore:
    """What the release page shows of the structure over time; for a release too large to
    list (`listable`), only the registered patients. TABLES: the release's files as the page
    reads them (read here when not given)."""
    tables = tables or ReleaseTables(folder)
    if not listable(folder, limit):
        return unlisted(tables, release_date)
    pcns = tables.rows("pcns")
    memberships = tables.rows("pcn_memberships")
    practices = {r["practice_code"]: r for r in tables.rows("practices")}
    partnerships = {r["id"]: r.get("name", r["id"]) for r in tables.rows("partnerships")}
    pcn_by_code = {r["pcn_code"]: r for r in pcns}
    patients, extract_date = _pcn_patients(tables)
    data = page_data(tables, release_date, pcns, memberships, practices, partnerships)
    on_release = structure_on(data, release_date)
    counts = {p.code: p.members for p in on_release}
    pcn_rows = tuple(
        PcnRow(
            r["pcn_code"],
            r.get("pcn_name", ""),
            partnerships.get(r.get("partnership", ""), r.get("partnership", "")),
            shown(r, "open_date"),
            shown(r, "close_date"),
            counts.get(r["pcn_code"], 0),
            patients.get(r["pcn_code"], ""),
        )
        for r in sorted(pcns, key=lambda r: r["pcn_code"])
    )
    return Explore(
        release_date=release_date,
        first_date=data["first"],
        pcns=pcn_rows,
        practices=_practices(practices, memberships, pcn_by_code, partnerships, patients),
        events=_events(tables, pcns, memberships, practices, pcn_by_code),
        pyramids=_pyramids(tables, pcn_by_code, partnerships, extract_date),
        extract_date=extract_date,
        registered=_icb_registered(tables, extract_date),
        population_claim=_population_claim(tables),
        as_at=tuple(on_release),
        data=data,
    )


def _scope(tables: ReleaseTables) -> Scope | None:
    """The ICS's codes and its ICB's first day, from the release's own ics table."""
    rows: list[dict[str, object]] = [dict(r) for r in tables.rows("ics")]
    for row in rows:
        text = row.get("statutory_since")
        row["statutory_since"] = (
            date.fromisoformat(text) if isinstance(text, str) and text else None
        )
    return scope_of(rows)


def unlisted(tables: ReleaseTables, release_date: str) -> Explore:
    pcn_by_code = {r["pcn_code"]: r for r in tables.rows("pcns")}
    partnerships = {r["id"]: r.get("name", r["id"]) for r in tables.rows("partnerships")}
    _, extract_date = _pcn_patients(tables)
    return Explore(
        release_date=release_date,
        first_date=release_date,
        pcns=(),
        practices=(),
        events=(),
        pyramids=_pyramids(tables, pcn_by_code, partnerships, extract_date),
        extract_date=extract_date,
        registered=_icb_registered(tables, extract_date),
        population_claim=_population_claim(tables),
        as_at=(),
        data={},
        listed=False,
    )


def _population_claim(tables: ReleaseTables) -> Row:
    claims = tables.rows("claims")
    return next((r for r in claims if r.get("check", "").endswith("-context")), {})


def _pcn_patients(tables: ReleaseTables) -> tuple[dict[str, str], str]:
    rows = tables.rows("registered_patients")
    if not rows:
        return {}, ""
    newest = max(r["extract_date"] for r in rows)
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["extract_date"] == newest:
            totals[r["pcn_code"]] += int(r["patients"])
    return {code: str(n) for code, n in totals.items()}, newest


def _icb_registered(tables: ReleaseTables, day: str) -> str:
    for r in tables.rows("registered_totals"):
        if (r["extract_date"], r["area_type"], r["sex"], r["age_band"]) == (
            day,
            "icb",
            "all",
            "all",
        ):
            return r["patients"]
    return ""


def _practices(
    practices: Mapping[str, Row],
    memberships: Sequence[Row],
    pcn_by_code: Mapping[str, Row],
    partnerships: Mapping[str, str],
    patients: Mapping[str, str],
) -> tuple[PracticeRow, ...]:
    """Each practice with its newest membership (the one that starts last)."""
    newest: dict[str, Row] = {}
    for r in memberships:
        current = newest.get(r["practice_code"])
        if current is None or shown(r, "start_date").sort >= shown(current, "start_date").sort:
            newest[r["practice_code"]] = r
    out = []
    for code, practice in sorted(practices.items()):
        m = newest.get(code, {})
        pcn = pcn_by_code.get(m.get("pcn_code", ""), {})
        out.append(
            PracticeRow(
                code,
                practice.get("practice_name", ""),
                m.get("pcn_code", ""),
                pcn.get("pcn_name", ""),
                partnerships.get(pcn.get("partnership", ""), ""),
                shown(m, "start_date"),
                shown(m, "end_date"),
                patients.get(m.get("pcn_code", ""), ""),
            )
        )
    return tuple(out)


def _renames(tables: ReleaseTables) -> list[Event]:
    """Renames from `pcn_names` (a release with that table): each name after a PCN's first,
    from the day it took effect (or its bounds)."""
    names: dict[str, list[Row]] = defaultdict(list)
    for r in tables.rows("pcn_names"):
        names[r["pcn_code"]].append(r)
    events = []
    for code, rows in sorted(names.items()):
        rows.sort(key=lambda r: int(r.get("number") or 0))
        for before, after in zip(rows, rows[1:], strict=False):
            m = shown(after, "valid_from")
            text = f"PCN {code} renamed from {before.get('name', '')} to {after.get('name', '')}"
            events.append(Event(m.text or "date not known", m.sort or "9999", "renamed", text))
    return events


_FORMER = re.compile(r"^(.*) \(([A-Z0-9-]+)\)$")


def _events(
    tables: ReleaseTables,
    pcns: Sequence[Row],
    memberships: Sequence[Row],
    practices: Mapping[str, Row],
    pcn_by_code: Mapping[str, Row],
) -> tuple[Event, ...]:
    vintages = _source_vintages(tables.folder)
    events: list[Event] = []
    for r in pcns:
        label = f"{r.get('pcn_name', '')} ({r['pcn_code']})"
        for kind, column in (("opened", "open_date"), ("closed", "close_date")):
            m = shown(r, column)
            if m.text:
                events.append(Event(m.text, m.sort, kind, f"PCN {label} {kind}"))
        for part in filter(None, (p.strip() for p in r.get("former_names", "").split(";"))):
            match = _FORMER.match(part)
            old, source = (match.group(1), match.group(2)) if match else (part, "")
            seen = vintages.get(source, "")
            when = f"after {seen}" if seen else "date not known"
            text = f"PCN {r['pcn_code']} renamed from {old} to {r.get('pcn_name', '')}"
            if source:
                text += f" (the old name last published in {source}{f', {seen}' if seen else ''})"
            events.append(Event(when, seen or "9999", "renamed", text))
    events.extend(_renames(tables))
    by_practice: dict[str, list[Row]] = defaultdict(list)
    for r in memberships:
        by_practice[r["practice_code"]].append(r)
    for code, rows in by_practice.items():
        rows.sort(key=lambda r: shown(r, "start_date").sort)
        for before, after in zip(rows, rows[1:], strict=False):
            if before["pcn_code"] == after["pcn_code"]:
                continue
            m = shown(after, "start_date")
            name = practices.get(code, {}).get("practice_name", "")
            old = pcn_by_code.get(before["pcn_code"], {}).get("pcn_name", "")
            new = pcn_by_code.get(after["pcn_code"], {}).get("pcn_name", "")
            events.append(
                Event(
                    m.text,
                    m.sort,
                    "moved",
                    f"Practice {code} {name} moved from {old} ({before['pcn_code']}) to {new} "
                    f"({after['pcn_code']})",
                )
            )
    order = {"closed": 0, "renamed": 1, "moved": 2, "opened": 3}
    return tuple(sorted(_grouped(events), key=lambda e: (e.sort, order[e.kind], e.text)))


GROUP = 4  # this many events of one kind on one day are shown as one line that opens


def _grouped(events: Sequence[Event]) -> list[Event]:
    """Many events of one kind on one day (the 42 PCNs of 2019-10-01) as one event."""
    by_day: dict[tuple[str, str, str], list[Event]] = defaultdict(list)
    for event in events:
        by_day[(event.day, event.sort, event.kind)].append(event)
    out: list[Event] = []
    for (day, sort, kind), group in by_day.items():
        if len(group) < GROUP:
            out.extend(group)
            continue
        subject = "practices" if kind == "moved" else "PCNs"
        texts = tuple(sorted(e.text for e in group))
        out.append(Event(day, sort, kind, f"{len(group)} {subject} {kind}", texts))
    return out


def _source_vintages(folder: Path) -> dict[str, str]:
    path = folder / "datapackage.json"
    if not path.is_file():
        return {}
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    return {str(s["id"]): str(s.get("version", "")) for s in descriptor.get("sources", [])}


def _pyramids(
    tables: ReleaseTables, pcn_by_code: Mapping[str, Row], partnerships: Mapping[str, str], day: str
) -> tuple[Pyramid, ...]:
    if not day:
        return ()
    out = []
    icb: dict[str, dict[str, int]] = defaultdict(dict)
    code = ""
    for r in tables.rows("registered_totals"):
        if r["extract_date"] == day and r["area_type"] == "icb" and r["age_band"] != "all":
            icb[r["age_band"]][r["sex"]] = int(r["patients"])
            code = r["area_code"]
    if icb:
        out.append(_pyramid("pyramid-ics", f"ICB {code}, all registered patients", icb, ""))
    by_partnership: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    for r in tables.rows("registered_patients"):
        if r["extract_date"] != day:
            continue
        partnership = pcn_by_code.get(r["pcn_code"], {}).get("partnership", "")
        by_partnership[partnership][r["age_band"]][r["sex"]] += int(r["patients"])
    for pid, name in sorted(partnerships.items()):
        if pid in by_partnership:
            note = "patients of the partnership's PCNs"
            out.append(_pyramid(f"pyramid-{pid}", name, by_partnership[pid], note))
    return tuple(out)


def _pyramid(ident: str, title: str, cells: Mapping[str, Mapping[str, int]], note: str) -> Pyramid:
    bands = tuple(
        (band, cells.get(band, {}).get("female", 0), cells.get(band, {}).get("male", 0))
        for band in BANDS
    )
    return Pyramid(ident, title, sum(f + m for _, f, m in bands), bands, note)


def table_rows(folder: Path, resource_path: str) -> list[list[str]]:
    """A table's header and rows, for its paged preview."""
    path = folder / resource_path
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))
