"""The figures the ICS states about itself (`claims`), each checked against the records: the
figure computed is shown beside the claim, and a disagreement is an issue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.check.tables import row_issue
from pipeline.core.issues import Issue, quote
from pipeline.core.model import Dataset, Row
from pipeline.core.timeline import row_life


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
                row_issue(
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
