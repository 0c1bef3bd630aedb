"""What a release page lets a reader explore, from the release's own CSV tables: PCNs and
practices (searchable, sortable), the structure on any day, a timeline of PCN openings,
closings, renames and practice moves, population pyramids of registered patients, and every
table's rows for paged previews.

Everything is computed here and written into the page as HTML (so it shows without JavaScript)
and as JSON data for the page's own script (`templates/explore.js`), which redoes the as-at
count on another day with the same rule as `pipeline.check.structure.structure_as_at`: a PCN is
listed when it was definitely open that day, a member when its membership definitely held.
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

from pipeline.core.scope import Scope, outside_before_icb, scope_of

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


def read_rows(folder: Path, name: str) -> list[Row]:
    path = folder / "data" / f"{name}.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- dates known exactly or between bounds ------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    exact: str
    earliest: str
    latest: str

    @property
    def known(self) -> bool:
        return bool(self.exact or self.earliest or self.latest)

    @property
    def lo(self) -> str:
        return self.exact or self.earliest

    @property
    def hi(self) -> str:
        return self.exact or self.latest

    def text(self) -> str:
        if self.exact:
            return self.exact
        if not self.known:
            return ""
        return f"between {self.earliest or '?'} and {self.latest or '?'}"

    def sort(self) -> str:
        return self.hi or self.lo or ""

    def data(self) -> list[str]:
        return [self.exact, self.earliest, self.latest]


def moment(row: Mapping[str, str], column: str) -> Moment:
    return Moment(
        row.get(column, ""), row.get(f"{column}_earliest", ""), row.get(f"{column}_latest", "")
    )


def definitely_on(start: Moment, end: Moment, day: str) -> bool:
    """As `pipeline.core.timeline.Life.definitely_on`, on ISO text (which sorts as dates)."""
    if not start.hi or start.hi > day:
        return False
    if not end.known:
        return True
    return bool(end.lo) and end.lo >= day


def possibly_on(start: Moment, end: Moment, day: str) -> bool:
    if start.lo and start.lo > day:
        return False
    if not end.known:
        return True
    return not end.hi or end.hi >= day


# --- the view -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PcnRow:
    code: str
    name: str
    partnership: str
    opened: Moment
    closed: Moment
    practices: int  # members on the release date
    patients: str  # registered patients on the newest extract date, "" if none


@dataclass(frozen=True)
class PracticeRow:
    code: str
    name: str
    pcn_code: str
    pcn_name: str
    partnership: str
    joined: Moment
    left: Moment
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
    """The ICS's PCNs definitely open on `day` with their definite and possible members, by
    `ics-data as-at`'s rule (`check.structure.structure_as_at`): its own PCNs, and other ICBs'
    PCNs one of its practices was in that day; before its ICB's first day (`since`) a practice
    of another area then (`outside`) is no member, and an own PCN with only such members is
    not listed. The script's rule too, here so the page shows the release date without it."""
    before = bool(data.get("since")) and day < data["since"]
    outside = set(data.get("outside", ())) if before else set()
    members: dict[str, int] = defaultdict(int)
    possible: dict[str, int] = defaultdict(int)
    elsewhere: set[str] = set()
    for practice, pcn, *dates in data["memberships"]:
        start, end = Moment(*dates[:3]), Moment(*dates[3:])
        if practice in outside:
            if definitely_on(start, end, day):
                elsewhere.add(pcn)
        elif definitely_on(start, end, day):
            members[pcn] += 1
        elif possibly_on(start, end, day):
            possible[pcn] += 1
    out = []
    for code, name, partnership, *rest in data["pcns"]:
        dates, own = rest[:6], bool(rest[6]) if len(rest) > 6 else True
        listed = members[code] > 0 or (own and code not in elsewhere)
        if listed and definitely_on(Moment(*dates[:3]), Moment(*dates[3:]), day):
            out.append(AsAtPcn(partnership, code, name, members[code], possible[code]))
    names = data["partnerships"]
    return sorted(out, key=lambda p: (p.partnership, p.name, p.code)) if names else out


def explore(folder: Path, release_date: str, limit: int = LIST_LIMIT) -> Explore:
    """What the release page shows of the structure over time; for a release too large to
    list (`listable`), only the registered patients."""
    if not listable(folder, limit):
        return unlisted(folder, release_date)
    pcns = read_rows(folder, "pcns")
    memberships = read_rows(folder, "pcn_memberships")
    practices = {r["practice_code"]: r for r in read_rows(folder, "practices")}
    partnerships = {r["id"]: r.get("name", r["id"]) for r in read_rows(folder, "partnerships")}
    pcn_by_code = {r["pcn_code"]: r for r in pcns}
    patients, extract_date = _pcn_patients(folder)
    scope = _scope(folder)
    since = scope.statutory_since if scope is not None else None
    outside = outside_before_icb(scope, practices.values(), date.min) if since else frozenset()
    data: dict[str, Any] = {
        "release": release_date,
        "partnerships": partnerships,
        "since": since.isoformat() if since else "",
        "outside": sorted(outside),
        "pcns": [
            [
                r["pcn_code"],
                r.get("pcn_name", ""),
                r.get("partnership", ""),
                *moment(r, "open_date").data(),
                *moment(r, "close_date").data(),
                1 if scope is None or scope.owns(r.get("sub_icb_code")) else 0,
            ]
            for r in pcns
        ],
        "memberships": [
            [
                r["practice_code"],
                r["pcn_code"],
                *moment(r, "start_date").data(),
                *moment(r, "end_date").data(),
            ]
            for r in memberships
        ],
    }
    starts = [m for r in pcns if (m := moment(r, "open_date").lo)]
    first = min(starts, default=release_date)
    data["first"] = first
    on_release = structure_on(data, release_date)
    counts = {p.code: p.members for p in on_release}
    pcn_rows = tuple(
        PcnRow(
            r["pcn_code"],
            r.get("pcn_name", ""),
            partnerships.get(r.get("partnership", ""), r.get("partnership", "")),
            moment(r, "open_date"),
            moment(r, "close_date"),
            counts.get(r["pcn_code"], 0),
            patients.get(r["pcn_code"], ""),
        )
        for r in sorted(pcns, key=lambda r: r["pcn_code"])
    )
    return Explore(
        release_date=release_date,
        first_date=first,
        pcns=pcn_rows,
        practices=_practices(practices, memberships, pcn_by_code, partnerships, patients),
        events=_events(folder, pcns, memberships, practices, pcn_by_code),
        pyramids=_pyramids(folder, pcn_by_code, partnerships, extract_date),
        extract_date=extract_date,
        registered=_icb_registered(folder, extract_date),
        population_claim=_population_claim(folder),
        as_at=tuple(on_release),
        data=data,
    )


def _scope(folder: Path) -> Scope | None:
    """The ICS's codes and its ICB's first day, from the release's own ics table."""
    rows: list[dict[str, object]] = [dict(r) for r in read_rows(folder, "ics")]
    for row in rows:
        text = row.get("statutory_since")
        row["statutory_since"] = (
            date.fromisoformat(text) if isinstance(text, str) and text else None
        )
    return scope_of(rows)


def unlisted(folder: Path, release_date: str) -> Explore:
    pcn_by_code = {r["pcn_code"]: r for r in read_rows(folder, "pcns")}
    partnerships = {r["id"]: r.get("name", r["id"]) for r in read_rows(folder, "partnerships")}
    _, extract_date = _pcn_patients(folder)
    return Explore(
        release_date=release_date,
        first_date=release_date,
        pcns=(),
        practices=(),
        events=(),
        pyramids=_pyramids(folder, pcn_by_code, partnerships, extract_date),
        extract_date=extract_date,
        registered=_icb_registered(folder, extract_date),
        population_claim=_population_claim(folder),
        as_at=(),
        data={},
        listed=False,
    )


def _population_claim(folder: Path) -> Row:
    claims = read_rows(folder, "claims")
    return next((r for r in claims if r.get("check", "").endswith("-context")), {})


def _pcn_patients(folder: Path) -> tuple[dict[str, str], str]:
    rows = read_rows(folder, "registered_patients")
    if not rows:
        return {}, ""
    newest = max(r["extract_date"] for r in rows)
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["extract_date"] == newest:
            totals[r["pcn_code"]] += int(r["patients"])
    return {code: str(n) for code, n in totals.items()}, newest


def _icb_registered(folder: Path, day: str) -> str:
    for r in read_rows(folder, "registered_totals"):
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
        if (
            current is None
            or moment(r, "start_date").sort() >= moment(current, "start_date").sort()
        ):
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
                moment(m, "start_date"),
                moment(m, "end_date"),
                patients.get(m.get("pcn_code", ""), ""),
            )
        )
    return tuple(out)


def _renames(folder: Path) -> list[Event]:
    """Renames from `pcn_names` (a release with that table): each name after a PCN's first,
    from the day it took effect (or its bounds)."""
    names: dict[str, list[Row]] = defaultdict(list)
    for r in read_rows(folder, "pcn_names"):
        names[r["pcn_code"]].append(r)
    events = []
    for code, rows in sorted(names.items()):
        rows.sort(key=lambda r: int(r.get("number") or 0))
        for before, after in zip(rows, rows[1:], strict=False):
            m = moment(after, "valid_from")
            text = f"PCN {code} renamed from {before.get('name', '')} to {after.get('name', '')}"
            events.append(Event(m.text() or "date not known", m.sort() or "9999", "renamed", text))
    return events


_FORMER = re.compile(r"^(.*) \(([A-Z0-9-]+)\)$")


def _events(
    folder: Path,
    pcns: Sequence[Row],
    memberships: Sequence[Row],
    practices: Mapping[str, Row],
    pcn_by_code: Mapping[str, Row],
) -> tuple[Event, ...]:
    vintages = _source_vintages(folder)
    events: list[Event] = []
    for r in pcns:
        label = f"{r.get('pcn_name', '')} ({r['pcn_code']})"
        for kind, column in (("opened", "open_date"), ("closed", "close_date")):
            m = moment(r, column)
            if m.known:
                events.append(Event(m.text(), m.sort(), kind, f"PCN {label} {kind}"))
        for part in filter(None, (p.strip() for p in r.get("former_names", "").split(";"))):
            match = _FORMER.match(part)
            old, source = (match.group(1), match.group(2)) if match else (part, "")
            seen = vintages.get(source, "")
            when = f"after {seen}" if seen else "date not known"
            text = f"PCN {r['pcn_code']} renamed from {old} to {r.get('pcn_name', '')}"
            if source:
                text += f" (the old name last published in {source}{f', {seen}' if seen else ''})"
            events.append(Event(when, seen or "9999", "renamed", text))
    events.extend(_renames(folder))
    by_practice: dict[str, list[Row]] = defaultdict(list)
    for r in memberships:
        by_practice[r["practice_code"]].append(r)
    for code, rows in by_practice.items():
        rows.sort(key=lambda r: moment(r, "start_date").sort())
        for before, after in zip(rows, rows[1:], strict=False):
            if before["pcn_code"] == after["pcn_code"]:
                continue
            m = moment(after, "start_date")
            name = practices.get(code, {}).get("practice_name", "")
            old = pcn_by_code.get(before["pcn_code"], {}).get("pcn_name", "")
            new = pcn_by_code.get(after["pcn_code"], {}).get("pcn_name", "")
            events.append(
                Event(
                    m.text(),
                    m.sort(),
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
    folder: Path, pcn_by_code: Mapping[str, Row], partnerships: Mapping[str, str], day: str
) -> tuple[Pyramid, ...]:
    if not day:
        return ()
    out = []
    icb: dict[str, dict[str, int]] = defaultdict(dict)
    code = ""
    for r in read_rows(folder, "registered_totals"):
        if r["extract_date"] == day and r["area_type"] == "icb" and r["age_band"] != "all":
            icb[r["age_band"]][r["sex"]] = int(r["patients"])
            code = r["area_code"]
    if icb:
        out.append(_pyramid("pyramid-ics", f"ICB {code}, all registered patients", icb, ""))
    by_partnership: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    for r in read_rows(folder, "registered_patients"):
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
