"""The figures the ICS states about itself (`claims`), each checked against the records: the
figure computed is shown beside the claim, and a disagreement is an issue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.check.patients import TOTALS_TABLE, icb_registered, pcn_sums
from pipeline.check.tables import row_issue
from pipeline.core.issues import Issue, quote
from pipeline.core.model import Dataset, Row
from pipeline.core.scope import outside_before_icb, scope_of
from pipeline.core.timeline import Life


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
    status: str  # "agrees", "differs", "uncertain", "not checkable", "context"
    # For a claim the records measure differently (a population beside registered patients):
    # the figure they give, in words, shown beside the claim and never compared with it.
    context: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "statement": self.statement,
            "claimed": self.claimed,
            "as_at": self.as_at.isoformat() if self.as_at else None,
            "check": self.check,
            "computed": None if self.computed is None else str(self.computed),
            "status": self.status,
            "context": self.context,
        }


def count_open(rows: Iterable[tuple[Row, Life | None]], day: date, key: str | None = None) -> Count:
    """How many records hold on `day`, of ROWS with their lives (`Dataset.rows_with_lives`);
    with `key`, distinct values of that field."""
    definite: set[Any] = set()
    possible: set[Any] = set()
    for position, (row, span) in enumerate(rows):
        if span is None:
            continue
        ident = row.values.get(key) if key else position
        if span.definitely_on(day):
            definite.add(ident)
        if span.possibly_on(day):
            possible.add(ident)
    return Count(len(definite), len(possible))


def pcns_open(dataset: Dataset, day: date) -> Count:
    """The ICS's PCNs open on `day`: its own, and other ICBs' PCNs its practices were in then
    (as the structure lists them)."""
    scope = scope_of(dataset.values("ics"))
    if scope is None:
        return count_open(dataset.rows_with_lives("pcns"), day, "pcn_code")
    outside = outside_before_icb(scope, dataset.values("practices"), day)
    with_members: set[object] = set()
    elsewhere: set[object] = set()
    for row, span in dataset.rows_with_lives("pcn_memberships"):
        if span is not None and span.definitely_on(day):
            into = elsewhere if row.values.get("practice_code") in outside else with_members
            into.add(row.values.get("pcn_code"))
    rows = [
        (row, span)
        for row, span in dataset.rows_with_lives("pcns")
        if (code := row.values.get("pcn_code")) in with_members
        or (scope.owns(row.values.get("sub_icb_code")) and code not in elsewhere)
    ]
    return count_open(rows, day, "pcn_code")


def registered_patients(dataset: Dataset, day: date) -> Count:
    """The ICB's registered patients on the extract date `day`, from the records: its PCNs in
    `registered_patients` plus its practices in no PCN (`unallocated` in `registered_totals`)."""
    icb = icb_registered(dataset, day)
    if icb is None:
        return Count(0, 0)
    _, code, _ = icb
    in_pcns = sum(
        n for (d, _, s, b), n in pcn_sums(dataset).items() if (d, s, b) == (day, "all", "all")
    )
    rest = sum(
        int(v["unallocated"])
        for v in dataset.values(TOTALS_TABLE)
        if (v.get("extract_date"), v.get("area_type"), v.get("area_code")) == (day, "icb", code)
        and (v.get("sex"), v.get("age_band")) == ("all", "all")
        and isinstance(v.get("unallocated"), int)
    )
    total = in_pcns + rest
    return Count(total, total)


def registered_context(dataset: Dataset) -> str:
    """The registered patients beside a population claim, and why the two differ."""
    icb = icb_registered(dataset)
    if icb is None:
        return ""
    day, code, patients = icb
    return (
        f"{patients:,} patients registered at the GP practices of ICB {code} on {day} "
        "(registered_totals). Registered patients are not residents: they are the people on "
        "the lists of the ICB's practices, and lists run higher than the resident population. "
        "Context, not a check."
    )


CLAIM_CHECKS: dict[str, Callable[[Dataset, date], Count]] = {
    "pcns-open": pcns_open,
    "icbs-open": lambda d, day: count_open(d.rows_with_lives("icbs"), day, "icb_ods_code"),
    "objectives": lambda d, day: Count(len(d.rows("objectives")), len(d.rows("objectives"))),
    "partnerships": lambda d, day: Count(len(d.rows("partnerships")), len(d.rows("partnerships"))),
    "registered-patients": registered_patients,
}
# Checks that give context beside a claim instead of a figure to compare with it.
CONTEXT_CHECKS: dict[str, Callable[[Dataset], str]] = {
    "registered-patients-context": registered_context,
}


# The resource each check counts: a claim is not checked when that resource could not be read.
CLAIM_RESOURCES = {
    "pcns-open": "pcns",
    "icbs-open": "icbs",
    "objectives": "objectives",
    "partnerships": "partnerships",
    "registered-patients": TOTALS_TABLE,
    "registered-patients-context": TOTALS_TABLE,
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
    scope = scope_of(dataset.values("ics"))
    for row in table.rows:
        values = row.values
        kind = str(values.get("check") or "none")
        as_at = values.get("as_at")
        claimed = plain_number(values.get("figure"))
        compute = CLAIM_CHECKS.get(kind)
        if CLAIM_RESOURCES.get(kind) not in dataset.tables:
            compute = None  # its file is missing or unreadable, already reported there
        if kind == "partnerships" and scope is not None and not scope.has_partnerships:
            compute = None  # the ICS has no partnership layer (ics.partnership_rule none)
        computed: Count | None = None
        context = ""
        if kind in CONTEXT_CHECKS and CLAIM_RESOURCES[kind] in dataset.tables:
            context = CONTEXT_CHECKS[kind](dataset)
        if context:
            status = "context"
        elif compute is None or not isinstance(as_at, date) or claimed is None:
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
                context,
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
