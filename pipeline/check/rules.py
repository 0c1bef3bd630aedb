"""Rules a table schema cannot say, and the claims the records can check.

- dates in order, and a date given either exactly or by its bounds, not both;
- a membership lies within its PCN's life;
- no practice in two PCNs on the same day;
- every PCN belongs to a partnership;
- each checkable claim agrees with the records (the figure computed is shown beside the claim).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from pipeline.check.tables import row_issue
from pipeline.core.issues import Issue
from pipeline.core.model import Dataset, Row, Table
from pipeline.core.timeline import LIFESPANS, Life, Moment, life, moment, row_life


def check_rules(dataset: Dataset) -> list[Issue]:
    issues: list[Issue] = []
    for resource in LIFESPANS:
        table = dataset.tables.get(resource)
        if table is not None:
            issues.extend(check_dates(table))
    issues.extend(check_memberships(dataset))
    issues.extend(check_partnerships(dataset))
    return issues


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
                yield row_issue(
                    table,
                    row,
                    f"{column}_earliest",
                    "date-bounds",
                    f"{column} is known exactly ({m.exact}); leave {column}_earliest and "
                    f"{column}_latest empty",
                    m.earliest or m.latest,
                )
            if m.earliest and m.latest and m.earliest > m.latest:
                yield row_issue(
                    table,
                    row,
                    f"{column}_latest",
                    "date-order",
                    f"{column}_latest {m.latest} is before {column}_earliest {m.earliest}",
                    m.latest,
                )
        start, end = moments.get(start_col), moments.get(end_col)
        if start and end and start.lo and end.hi and start.lo > end.hi:
            yield row_issue(
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
        yield row_issue(
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
            yield row_issue(
                table,
                row,
                "end_date",
                "outside-pcn-life",
                f"membership has no end date but PCN {code} closed ({pcn.end.describe()}); "
                "give the end date",
                None,
            )
        elif span.end.hi and pcn_end and span.end.hi > pcn_end:
            yield row_issue(
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
                yield row_issue(
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
            yield row_issue(
                table,
                row,
                "partnership",
                "missing-partnership",
                f"PCN {row.values.get('pcn_code')} belongs to no partnership; every PCN open on "
                "a date belongs to exactly one",
                None,
            )
