"""Dates that may be known exactly, or only between bounds, and the life of a record.

A date column `X` may be empty with `X_earliest` and `X_latest` holding what is known, e.g. a PCN
absent from the ePCN of 2025-01-20 and present in the mapping of 2026-08-01 opened on a day in
2025-01-21..2026-08-01. Questions about a day are then answered as "definitely", "possibly" or not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import date, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

T = TypeVar("T", bound=Hashable)


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


def moment(values: Values, column: str, *, lenient: bool = False) -> Moment:
    """The moment of COLUMN with its `_earliest` and `_latest` bounds, from typed values (dates)
    or from text (ISO dates; empty is unknown). LENIENT: text that is no ISO date is unknown too
    (a published release read back, which may be damaged), instead of a ValueError."""

    get = values.get
    days = (get(column), get(column + "_earliest"), get(column + "_latest"))
    return Moment(*(_day(value, lenient) for value in days))


def _day(value: Any, lenient: bool = False) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        if lenient:
            return None
        raise


def life(values: Values, start: str, end: str, *, lenient: bool = False) -> Life:
    return Life(moment(values, start, lenient=lenient), moment(values, end, lenient=lenient))


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


def row_life(resource: str, values: Values, *, lenient: bool = False) -> Life | None:
    columns = LIFESPANS.get(resource)
    return life(values, *columns, lenient=lenient) if columns else None


# --- every day at once --------------------------------------------------------------------------

Period = tuple[date, date]  # its first and last day (date.min and date.max: no bound)


def segments(
    value_on: Callable[[date], T], moments: Iterable[Moment]
) -> tuple[tuple[date, date, T], ...]:
    """VALUE_ON(day) for every day, as (first, last, value) runs of equal values in day order,
    for a question whose answer can change only on a day of MOMENTS or on the day after one:
    that is true of every rule here (each compares a day with those days), and of any rule made
    of them. VALUE_ON is asked once for each such day; its answer holds until the next."""
    days = {date.min}
    for known in moments:
        for day in (known.exact, known.earliest, known.latest):
            if day is not None:
                days.add(day)
                if day < date.max:
                    days.add(day + timedelta(days=1))
    found: list[tuple[date, date, T]] = []
    for day in sorted(days):
        value = value_on(day)
        if found and found[-1][2] == value:
            continue
        if found:
            first, _, before = found[-1]
            found[-1] = (first, day - timedelta(days=1), before)
        found.append((day, date.max, value))
    return tuple(found)


def periods(holds: Callable[[date], bool], moments: Iterable[Moment]) -> tuple[Period, ...]:
    """The days on which HOLDS(day), as periods in day order (see `segments`)."""
    return tuple((first, last) for first, last, held in segments(holds, moments) if held)
