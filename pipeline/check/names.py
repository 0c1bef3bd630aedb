"""A PCN's names over time agree with the PCN: every PCN has a name row, its current name
(`pcns.pcn_name`) is the name of its latest row, and its names follow one another without
overlapping (only the first has no start, only the last has no end)."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.check.tables import row_issue
from pipeline.core.issues import Issue, quote
from pipeline.core.model import Dataset, Row, Table
from pipeline.core.names import name_life
from pipeline.core.timeline import moment

NAMES = "pcn_names"


def check_names(dataset: Dataset, found: Iterable[Issue] = ()) -> Iterable[Issue]:
    names, pcns = dataset.tables.get(NAMES), dataset.tables.get("pcns")
    if names is None or pcns is None:
        return
    found = list(found)
    doubted = {i.record for i in found if i.resource == NAMES and i.field == "pcn_code"}
    # a PCN whose own code or name is reported wrong is left to that report
    wrong = {
        i.record for i in found if i.resource == "pcns" and i.field in ("pcn_code", "pcn_name")
    }
    by_pcn: dict[str, list[Row]] = {}
    for row in names.rows:
        code = row.values.get("pcn_code")
        if isinstance(code, str) and row.record.index not in doubted:
            by_pcn.setdefault(code, []).append(row)
    for pcn in pcns.rows:
        code, current = pcn.values.get("pcn_code"), pcn.values.get("pcn_name")
        if not isinstance(code, str) or not isinstance(current, str):
            continue
        if pcn.record.index in wrong:
            continue
        own = sorted(
            by_pcn.get(code, []),
            key=lambda r: (moment(r.values, "valid_from").known, moment(r.values, "valid_from").lo),
        )
        if not own:
            yield row_issue(
                pcns,
                pcn,
                "pcn_name",
                "missing-name",
                f"PCN {code} has no row in pcn_names: add {code},1,{current},,,,,,,<source ids> "
                "(its name since it opened)",
                current,
            )
            continue
        last = own[-1]
        if last.values.get("name") != current:
            yield row_issue(
                pcns,
                pcn,
                "pcn_name",
                "name-mismatch",
                f"{quote(current)} is not PCN {code}'s latest name in pcn_names "
                f"({quote(last.values.get('name'))}, line {last.record.line}): a rename ends "
                "the old name's row (valid_to) and adds a row for the new one",
                current,
            )
        yield from _sequence(names, code, own)


def _sequence(names: Table, code: str, own: list[Row]) -> Iterable[Issue]:
    from_columns = ("valid_from", "valid_from_earliest", "valid_from_latest")
    to_columns = ("valid_to", "valid_to_earliest", "valid_to_latest")
    for earlier, later in zip(own, own[1:], strict=False):
        if not any(later.values.get(c) for c in from_columns):
            yield row_issue(
                names,
                later,
                "valid_from",
                "name-order",
                f"PCN {code} has two names with no start ({quote(earlier.values.get('name'))} "
                f"and {quote(later.values.get('name'))}): only the first name has none",
                "",
            )
            continue
        if not any(earlier.values.get(c) for c in to_columns):
            yield row_issue(
                names,
                earlier,
                "valid_to",
                "name-order",
                f"PCN {code}'s name {quote(earlier.values.get('name'))} has no end, but a later "
                f"name {quote(later.values.get('name'))} follows it: set valid_to (or its "
                "bounds) to the last day of the old name",
                "",
            )
            continue
        ended, began = name_life(earlier.values).end.lo, name_life(later.values).start.hi
        if ended is not None and began is not None and ended >= began:
            yield row_issue(
                names,
                later,
                "valid_from",
                "name-order",
                f"PCN {code}'s names {quote(earlier.values.get('name'))} (to {ended}) and "
                f"{quote(later.values.get('name'))} (from {began}) overlap",
                str(began),
            )
