"""Rules a table schema cannot say, and the claims the records can check.

- dates in order, and a date given either exactly or by its bounds, not both;
- a membership lies within its PCN's life;
- no practice in two PCNs on the same day;
- every PCN belongs to a partnership;
- each checkable claim agrees with the records (the figure computed is shown beside the claim).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.issues import Issue, quote
from pipeline.timeline import Life, Moment, life, moment
from pipeline.validate import Dataset, Row, Table

# The columns holding each resource's life: (start, end). Each may have _earliest/_latest bounds.
LIFESPANS = {
    "pcns": ("open_date", "close_date"),
    "pcn_memberships": ("start_date", "end_date"),
    "icbs": ("valid_from", "valid_to"),
}


@dataclass(frozen=True)
class Count:
    """A figure computed from the records on a day: certain when `definite == possible`."""

    definite: int
    possible: int

    def __str__(self) -> str:
        if self.definite == self.possible:
            return str(self.definite)
        return f"{self.definite} to {self.possible}"


@dataclass(frozen=True)
class ClaimCheck:
    id: str
    statement: str
    claimed: float | int | None
    as_at: date | None
    check: str
    computed: Count | None
    status: str  # "agrees", "differs", "uncertain", "not checkable"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "statement": self.statement,
            "claimed": self.claimed,
            "as_at": self.as_at.isoformat() if self.as_at else None,
            "check": self.check,
            "computed": None if self.computed is None else str(self.computed),
            "status": self.status,
        }


def row_life(resource: str, values: dict[str, Any]) -> Life | None:
    columns = LIFESPANS.get(resource)
    return life(values, *columns) if columns else None


def count_open(rows: Iterable[Row], resource: str, day: date, key: str | None = None) -> Count:
    """How many records hold on `day`; with `key`, distinct values of that field."""
    definite: set[Any] = set()
    possible: set[Any] = set()
    for position, row in enumerate(rows):
        span = row_life(resource, row.values)
        if span is None:
            continue
        ident = row.values.get(key) if key else position
        if span.definitely_on(day):
            definite.add(ident)
        if span.possibly_on(day):
            possible.add(ident)
    return Count(len(definite), len(possible))


def pcns_open(dataset: Dataset, day: date) -> Count:
    return count_open(dataset.rows("pcns"), "pcns", day, "pcn_code")


CLAIM_CHECKS: dict[str, Callable[[Dataset, date], Count]] = {
    "pcns-open": pcns_open,
    "icbs-open": lambda d, day: count_open(d.rows("icbs"), "icbs", day, "icb_ods_code"),
    "objectives": lambda d, day: Count(len(d.rows("objectives")), len(d.rows("objectives"))),
    "partnerships": lambda d, day: Count(len(d.rows("partnerships")), len(d.rows("partnerships"))),
}

# The resource each check counts: a claim is not checked when that resource could not be read.
CLAIM_RESOURCES = {
    "pcns-open": "pcns",
    "icbs-open": "icbs",
    "objectives": "objectives",
    "partnerships": "partnerships",
}


def check_rules(dataset: Dataset) -> tuple[list[Issue], list[ClaimCheck]]:
    issues: list[Issue] = []
    for resource in LIFESPANS:
        table = dataset.tables.get(resource)
        if table is not None:
            issues.extend(check_dates(table))
    issues.extend(check_memberships(dataset))
    issues.extend(check_partnerships(dataset))
    claim_issues, claims = check_claims(dataset)
    issues.extend(claim_issues)
    return issues, claims


def _issue(table: Table, row: Row, field: str, code: str, message: str, value: object) -> Issue:
    return Issue(
        table.source.file,
        row.record.line_of(field),
        code,
        message,
        table.resource,
        field,
        "" if value is None else str(value),
        row.record.index,
    )


def check_dates(table: Table) -> Iterable[Issue]:
    start_col, end_col = LIFESPANS[table.resource]
    names = set(table.schema.field_names)
    for row in table.rows:
        moments: dict[str, Moment] = {}
        for column in (start_col, end_col):
            if column not in names:
                continue
            m = moment(row.values, column)
            moments[column] = m
            if m.exact is not None and (m.earliest is not None or m.latest is not None):
                yield _issue(
                    table,
                    row,
                    f"{column}_earliest",
                    "date-bounds",
                    f"{column} is known exactly ({m.exact}); leave {column}_earliest and "
                    f"{column}_latest empty",
                    m.earliest or m.latest,
                )
            if m.earliest and m.latest and m.earliest > m.latest:
                yield _issue(
                    table,
                    row,
                    f"{column}_latest",
                    "date-order",
                    f"{column}_latest {m.latest} is before {column}_earliest {m.earliest}",
                    m.latest,
                )
        start, end = moments.get(start_col), moments.get(end_col)
        if start and end and start.lo and end.hi and start.lo > end.hi:
            yield _issue(
                table,
                row,
                end_col if end.exact else f"{end_col}_latest",
                "date-order",
                f"{end_col} {end.describe()} is before {start_col} {start.describe()}; "
                "are the dates the wrong way round?",
                end.hi,
            )


def check_memberships(dataset: Dataset) -> Iterable[Issue]:
    table = dataset.tables.get("pcn_memberships")
    if table is None or "pcns" not in dataset.tables:
        return
    pcn_life = {
        row.values.get("pcn_code"): row_life("pcns", row.values) for row in dataset.rows("pcns")
    }
    by_practice: dict[str, list[tuple[Row, Life]]] = defaultdict(list)
    for row in table.rows:
        span = life(row.values, *LIFESPANS["pcn_memberships"])
        code = row.values.get("pcn_code")
        pcn = pcn_life.get(code)
        # A PCN whose dates are the wrong way round is reported once, at the PCN, not again
        # at each of its memberships.
        if pcn is not None and not _reversed(pcn):
            yield from _within_pcn(table, row, span, pcn, code)
        practice = row.values.get("practice_code")
        if practice:
            by_practice[practice].append((row, span))
    for practice, spans in by_practice.items():
        yield from _overlaps(table, practice, spans)


def _reversed(span: Life) -> bool:
    """Dates the wrong way round: start after end, or a date's earliest after its latest."""
    for m in (span.start, span.end):
        if m.earliest is not None and m.latest is not None and m.earliest > m.latest:
            return True
    start, end = span.start.lo, span.end.hi
    return start is not None and end is not None and start > end


def _within_pcn(table: Table, row: Row, span: Life, pcn: Life, code: object) -> Iterable[Issue]:
    if span.start.lo and pcn.start.lo and span.start.lo < pcn.start.lo:
        yield _issue(
            table,
            row,
            "start_date",
            "outside-pcn-life",
            f"membership starts {span.start.describe()}, before PCN {code} opened "
            f"({pcn.start.describe()})",
            span.start.lo,
        )
    if pcn.end.known:
        pcn_end = pcn.end.hi
        if not span.end.known:
            yield _issue(
                table,
                row,
                "end_date",
                "outside-pcn-life",
                f"membership has no end date but PCN {code} closed ({pcn.end.describe()}); "
                "give the end date",
                None,
            )
        elif span.end.hi and pcn_end and span.end.hi > pcn_end:
            yield _issue(
                table,
                row,
                "end_date",
                "outside-pcn-life",
                f"membership ends {span.end.describe()}, after PCN {code} closed "
                f"({pcn.end.describe()})",
                span.end.hi,
            )


def _overlaps(table: Table, practice: str, spans: list[tuple[Row, Life]]) -> Iterable[Issue]:
    definite = [(row, s) for row, s in spans if s.definite_span() is not None]
    for i, (row_a, span_a) in enumerate(definite):
        first_a, last_a = span_a.definite_span() or (date.min, None)
        for row_b, span_b in definite[i + 1 :]:
            first_b, last_b = span_b.definite_span() or (date.min, None)
            start = max(first_a, first_b)
            ends = [d for d in (last_a, last_b) if d is not None]
            end = min(ends) if ends else None
            if end is None or start <= end:
                other = row_a.values.get("pcn_code")
                yield _issue(
                    table,
                    row_b,
                    "pcn_code",
                    "overlap",
                    f"practice {practice} is in {row_b.values.get('pcn_code')} and in {other} "
                    f"(line {row_a.record.line}) on {start}; end one membership before the "
                    "other starts",
                    row_b.values.get("pcn_code"),
                )


def check_partnerships(dataset: Dataset) -> Iterable[Issue]:
    table = dataset.tables.get("pcns")
    if table is None or "partnership" not in table.schema.field_names:
        return
    for row in table.rows:
        if row.values.get("partnership") is None and row.values.get("pcn_code"):
            yield _issue(
                table,
                row,
                "partnership",
                "missing-partnership",
                f"PCN {row.values.get('pcn_code')} belongs to no partnership; every PCN open on "
                "a date belongs to exactly one",
                None,
            )


def check_structure(dataset: Dataset) -> list[Issue]:
    """The generated `structure` table (a row per practice of each PCN open on the release date)
    must meet its own schema, or publish would crash writing it. Its ICB columns are required:
    each such PCN's sub-ICB location needs an `icb_ods_code` with exactly one `icbs` row valid
    on that day. Called only when the records are otherwise valid: it is built from them."""
    from pipeline.structure import structure_table  # structure builds on this module

    pcns = dataset.tables.get("pcns")
    issues: list[Issue] = []
    for table in structure_table(dataset):
        required = [
            f["name"] for f in table.schema["fields"] if f.get("constraints", {}).get("required")
        ]
        reported: set[str] = set()
        for out in table.rows:
            missing = [name for name in required if out.get(name) is None]
            code = str(out.get("pcn_code"))
            if not missing or code in reported or pcns is None:
                continue
            reported.add(code)
            row = next(r for r in pcns.rows if r.values.get("pcn_code") == code)
            sub_icb, day = out.get("sub_icb_code"), out.get("as_at")
            icb = next(
                (
                    o.get("icb_ods_code")
                    for o in dataset.values("organisations")
                    if o.get("code") == sub_icb
                ),
                None,
            )
            if icb is None:
                why = f"organisations gives sub-ICB location {sub_icb} no icb_ods_code"
            else:
                valid = sum(
                    1
                    for values in dataset.values("icbs")
                    if values.get("icb_ods_code") == icb
                    and (span := row_life("icbs", values)) is not None
                    and isinstance(day, date)
                    and span.definitely_on(day)
                )
                why = (
                    f"icbs has {valid} rows of ICB {icb} (of sub-ICB location {sub_icb}) "
                    "valid that day, not one"
                )
            issues.append(
                _issue(
                    pcns,
                    row,
                    "sub_icb_code",
                    "missing-icb",
                    f"PCN {code} is open on the release date {day}, so the generated structure "
                    f"table needs its {', '.join(missing)}, but {why}",
                    sub_icb,
                )
            )
    return issues


def plain_number(value: object) -> int | float | None:
    """A schema `number` is read as a Decimal, which JSON cannot write: give an int or a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, int):
        return value
    return int(value) if value == int(value) else float(value)


def check_claims(dataset: Dataset) -> tuple[list[Issue], list[ClaimCheck]]:
    issues: list[Issue] = []
    checks: list[ClaimCheck] = []
    table = dataset.tables.get("claims")
    if table is None:
        return issues, checks
    for row in table.rows:
        values = row.values
        kind = str(values.get("check") or "none")
        as_at = values.get("as_at")
        claimed = plain_number(values.get("figure"))
        compute = CLAIM_CHECKS.get(kind)
        if CLAIM_RESOURCES.get(kind) not in dataset.tables:
            compute = None  # its file is missing or unreadable, already reported there
        computed: Count | None = None
        if compute is None or not isinstance(as_at, date) or claimed is None:
            status = "not checkable"
        else:
            computed = compute(dataset, as_at)
            if computed.definite == computed.possible == claimed:
                status = "agrees"
            elif computed.definite <= claimed <= computed.possible:
                status = "uncertain"
            else:
                status = "differs"
        checks.append(
            ClaimCheck(
                str(values.get("id")),
                str(values.get("statement")),
                claimed,
                as_at,
                kind,
                computed,
                status,
            )
        )
        if computed is not None and status != "agrees":
            code = "claim-mismatch" if status == "differs" else "claim-uncertain"
            issues.append(
                _issue(
                    table,
                    row,
                    "figure",
                    code,
                    f"claim {values.get('id')!r} says {quote(claimed)}; the records give "
                    f"{computed} ({kind} on {as_at})",
                    claimed,
                )
            )
    return issues, checks


def summarise(dataset: Dataset, claims: list[ClaimCheck]) -> dict[str, Any]:
    days = sorted({c.as_at for c in claims if c.as_at is not None and c.check == "pcns-open"})
    today = date.today()
    return {
        "records": {name: len(table.rows) for name, table in sorted(dataset.tables.items())},
        "pcns_open": {day.isoformat(): str(pcns_open(dataset, day)) for day in [*days, today]}
        if "pcns" in dataset.tables
        else {},
        "today": today.isoformat(),
        "claims": [c.to_dict() for c in claims],
    }
