"""A PCN's names over time (`pcn_names`): which name it had on a day.

Each row holds one name with its period: `valid_from` empty (with no bounds) for the first name,
held from the PCN's opening; `valid_to` empty (with no bounds) for the last, held since. A day
inside the bounds of a change may fall either side of it: the name definitely held that day is
preferred, then one possibly held, earliest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from pipeline.core.timeline import Life, Moment, life, moment

Names = Mapping[str, Sequence[Mapping[str, Any]]]  # PCN code -> its name rows, oldest first


def names_by_pcn(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The name rows grouped by PCN, each PCN's oldest first (a first name with no start sorts
    first): built once, so that looking up every PCN's name stays linear."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        code = row.get("pcn_code")
        if code is not None:
            grouped.setdefault(str(code), []).append(row)
    for own in grouped.values():
        own.sort(key=lambda row: moment(row, "valid_from").lo or date.min)
    return grouped


def name_on(names: Names, code: str, day: date | None) -> str | None:
    """The name PCN CODE had on DAY (its first name for a day before any change), or None when
    no row names it. NAMES comes from `names_by_pcn`."""
    own = names.get(code, ())
    if not own:
        return None
    if day is None:
        return str(own[-1].get("name"))
    spans = [(row, name_life(row)) for row in own]
    for test in ("definitely_on", "possibly_on"):
        for row, span in spans:
            if getattr(span, test)(day):
                return str(row.get("name"))
    before = [row for row, span in spans if (span.start.lo or date.min) <= day]
    return str((before or own)[-1].get("name"))


def name_life(row: Mapping[str, Any]) -> Life:
    """The period of a name; no start at all is "since the PCN opened" (before any other day)."""
    span = life(row, "valid_from", "valid_to")
    return span if span.start.known else Life(Moment(exact=date.min), span.end)
