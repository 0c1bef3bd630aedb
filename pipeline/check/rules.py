"""Rules a table schema cannot say, and the claims the records can check.

- dates in order, and a date given either exactly or by its bounds, not both;
- a membership lies within its PCN's life;
- no practice in two PCNs on the same day, unless both periods are as the publisher gave them
  (exact dates, cited only to registered upstream files): then a `publisher-overlap` warning.

The partnership rules and the publisher's other anomalies are in `anomalies`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date

from pipeline.check.tables import record_key, row_issue
from pipeline.core.issues import WARNING, Issue
from pipeline.core.model import Dataset, Row, Table
from pipeline.core.timeline import LIFESPANS, Life, Moment, moment


def check_rules(dataset: Dataset) -> list[Issue]:
    issues: list[Issue] = []
    for resource in LIFESPANS:
        table = dataset.tables.get(resource)
        if table is not None:
            issues.extend(check_dates(table, dataset.lives(resource)))
    issues.extend(check_memberships(dataset))
    return issues


def check_dates(table: Table, lives: Sequence[Life | None]) -> Iterable[Issue]:
    """Each date known exactly or by bounds, not both; bounds in order; the end not before the
    start. LIVES: the life of each row (`Dataset.lives`)."""
    start_col, end_col = LIFESPANS[table.resource]
    names = set(table.schema.field_names)
    for row, span in zip(table.rows, lives, strict=True):
        assert span is not None  # a resource with a lifespan
        moments: dict[str, Moment] = {}
        for column, m in ((start_col, span.start), (end_col, span.end)):
            if column not in names:
                continue
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
    pcn_life = {row.values.get("pcn_code"): span for row, span in dataset.rows_with_lives("pcns")}
    by_practice: dict[str, list[tuple[Row, Life]]] = defaultdict(list)
    for row, found in dataset.rows_with_lives("pcn_memberships"):
        assert found is not None  # memberships have a lifespan
        span = found
        code = row.values.get("pcn_code")
        pcn = pcn_life.get(code)
        # A PCN whose dates are the wrong way round is reported once, at the PCN, not again
        # at each of its memberships.
        if pcn is not None and not _reversed(pcn):
            yield from _within_pcn(table, row, span, pcn, code)
        practice = row.values.get("practice_code")
        if practice:
            by_practice[practice].append((row, span))
    published = _published(dataset)
    for practice, spans in by_practice.items():
        yield from _overlaps(table, practice, spans, published)


def _published(dataset: Dataset) -> Callable[[Row], bool]:
    """Is a membership as the publisher gave it: exact dates, citing only registered files?"""
    registered = frozenset(
        str(entry["id"])
        for entry in (dataset.metadata.data.get("sources") or [] if dataset.metadata else [])
        if isinstance(entry, dict) and entry.get("sha256") and "id" in entry
    )

    def published(row: Row) -> bool:
        source = row.values.get("source")
        ids = [part.strip() for part in source.split(";")] if isinstance(source, str) else []
        start, end = moment(row.values, "start_date"), moment(row.values, "end_date")
        exact = start.exact is not None and (end.exact is not None or not end.known)
        return exact and bool(ids) and all(i in registered for i in ids)

    return published


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


def _overlaps(
    table: Table,
    practice: str,
    spans: list[tuple[Row, Life]],
    published: Callable[[Row], bool],
) -> Iterable[Issue]:
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
                where = (
                    f"practice {practice} is in {row_b.values.get('pcn_code')} and in {other} "
                    f"(line {row_a.record.line}) on {start}"
                )
                if published(row_a) and published(row_b):
                    issue = row_issue(
                        table,
                        row_b,
                        "pcn_code",
                        "publisher-overlap",
                        f"{where}: both periods as the publisher gives them, kept (decisions "
                        f"key: {record_key(table, row_b)})",
                        row_b.values.get("pcn_code"),
                    )
                    yield replace(issue, severity=WARNING)
                    continue
                yield row_issue(
                    table,
                    row_b,
                    "pcn_code",
                    "overlap",
                    f"{where}; end one membership before the other starts",
                    row_b.values.get("pcn_code"),
                )
