"""Dates that may be known exactly, or only between bounds, and the life of a record.

A date column `X` may be empty with `X_earliest` and `X_latest` holding what is known, e.g. a PCN
absent from the ePCN of 2025-01-20 and present in the mapping of 2026-08-01 opened on a day in
2025-01-21..2026-08-01. Questions about a day are then answered as "definitely", "possibly" or not.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple, Protocol


class Moment(NamedTuple):
    """A day known exactly, between bounds, or not at all (all None). A named tuple: validating
    a national or 100x project makes hundreds of thousands of them."""

    exact: date | None = None
    earliest: date | None = None
    latest: date | None = None

    @property
    def known(self) -> bool:
        return self.exact is not None or self.earliest is not None or self.latest is not None

    @property
    def lo(self) -> date | None:
        return self.exact if self.exact is not None else self.earliest

    @property
    def hi(self) -> date | None:
        return self.exact if self.exact is not None else self.latest

    def describe(self) -> str:
        if self.exact is not None:
            return self.exact.isoformat()
        if not self.known:
            return "unknown"
        lo = self.earliest.isoformat() if self.earliest else "?"
        hi = self.latest.isoformat() if self.latest else "?"
        return f"between {lo} and {hi}"


class Life(NamedTuple):
    """When a record holds: from `start` to `end` (both inclusive). No end known: still holds."""

    start: Moment
    end: Moment

    def definitely_on(self, day: date) -> bool:
        start_hi = self.start.hi
        if start_hi is None or start_hi > day:
            return False
        if not self.end.known:
            return True
        end_lo = self.end.lo
        return end_lo is not None and end_lo >= day

    def possibly_on(self, day: date) -> bool:
        start_lo = self.start.lo
        if start_lo is not None and start_lo > day:
            return False
        if not self.end.known:
            return True
        end_hi = self.end.hi
        return end_hi is None or end_hi >= day

    def definite_span(self) -> tuple[date, date | None] | None:
        """The days on which it certainly held: (first, last or None for open-ended)."""
        first = self.start.hi
        if first is None:
            return None
        if not self.end.known:
            return first, None
        last = self.end.lo
        if last is None or last < first:
            return None
        return first, last


class Values(Protocol):
    """Typed values (a row's mapping) or the text of an editable CSV row: anything with get."""

    def get(self, name: str, /) -> Any: ...


def moment(values: Values, column: str) -> Moment:
    """The moment of COLUMN with its `_earliest` and `_latest` bounds, from typed values (dates)
    or from text (ISO dates; empty is unknown)."""

    get = values.get
    return Moment(_day(get(column)), _day(get(column + "_earliest")), _day(get(column + "_latest")))


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(value) if isinstance(value, str) else None


def life(values: Values, start: str, end: str) -> Life:
    return Life(moment(values, start), moment(values, end))


def iso(day: date | None) -> str:
    """A day as the sources write it: ISO, or empty when unknown."""
    return day.isoformat() if day else ""


# The columns holding each resource's life: (start, end). Each may have _earliest/_latest bounds.
LIFESPANS = {
    "pcns": ("open_date", "close_date"),
    "pcn_memberships": ("start_date", "end_date"),
    "icbs": ("valid_from", "valid_to"),
    "pcn_names": ("valid_from", "valid_to"),
}


def row_life(resource: str, values: dict[str, Any]) -> Life | None:
    columns = LIFESPANS.get(resource)
    return life(values, *columns) if columns else None
