"""Read the national ODS and ONS reference files that `ics-data init` starts an ICS from.

- ODS `epcmem.csv` (`read_epcmem`): GP practice to CCG membership periods, no header: practice,
  CCG, type, start YYYYMMDD, end YYYYMMDD, flag. A practice's 2019 CCG is its open membership
  (no end date) in the file, whose newest date is 2019-10-01, before the 2020 CCG mergers.
- ODS `eccg.csv` (`read_eccg`): CCGs and sub-ICB locations, open and closed, no header: code,
  name, region (column 3), ICB or STP (column 4), address, open and close YYYYMMDD (11, 12).
- ONS ICB names and codes (`read_icb_names`): ICB24CD, ICB24CDH, ICB24NM.

As for the ePCN and mapping files, a surprise in the format stops the reader with an
`UpstreamFormatError` naming file, line and column: nothing is built from a half-read file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.upstream.columns import UpstreamFormatError, parse_yyyymmdd

_HINT = "Take the file as ODS or ONS publishes it."


@dataclass(frozen=True)
class Epcmem:
    """Each practice's 2019 CCG, and the newest date the file holds (its vintage)."""

    ccg_of: dict[str, str]
    vintage: date | None


@dataclass(frozen=True)
class EccgRow:
    code: str
    name: str
    region_code: str
    icb_code: str
    open_date: date | None
    close_date: date | None
    line: int


@dataclass(frozen=True)
class IcbName:
    ods_code: str
    ons_code: str
    name: str


def csv_rows(path: Path, hint: str = _HINT) -> list[list[str]]:
    """Every line of a headerless CSV file as published (UTF-8, a BOM allowed)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return list(csv.reader(stream, strict=True))
    except FileNotFoundError:
        raise UpstreamFormatError("the file does not exist", path.name, hint=hint) from None
    except UnicodeDecodeError as exc:
        raise UpstreamFormatError(f"not UTF-8 text ({exc.reason})", path.name, hint=hint) from None
    except csv.Error as exc:
        raise UpstreamFormatError(f"not valid CSV ({exc})", path.name, hint=hint) from None


def yyyymmdd_cell(text: str, path: Path, line: int, column: str, hint: str = _HINT) -> date | None:
    """A YYYYMMDD cell of an ODS file; None when empty."""
    if not text.strip():
        return None
    try:
        return parse_yyyymmdd(text.strip())
    except ValueError as exc:
        raise UpstreamFormatError(str(exc), path.name, None, line, column, hint) from None


def _rows(path: Path) -> list[list[str]]:
    return csv_rows(path)


def _day(text: str, path: Path, line: int, column: str) -> date | None:
    return yyyymmdd_cell(text, path, line, column)


def _width(values: list[str], need: int, path: Path, line: int) -> None:
    if len(values) < need:
        raise UpstreamFormatError(
            f"{len(values)} fields where at least {need} are expected",
            path.name,
            None,
            line,
            hint=_HINT,
        )


def read_epcmem(path: Path) -> Epcmem:
    open_rows: dict[str, tuple[date, str]] = {}
    newest: date | None = None
    for line, values in enumerate(_rows(path), start=1):
        if not any(v.strip() for v in values):
            continue
        _width(values, 5, path, line)
        practice, ccg = values[0].strip(), values[1].strip()
        start = _day(values[3], path, line, "D")
        end = _day(values[4], path, line, "E")
        for day in (start, end):
            if day is not None and (newest is None or day > newest):
                newest = day
        if end is None and start is not None:
            held = open_rows.get(practice)
            if held is None or start > held[0]:
                open_rows[practice] = (start, ccg)
    if newest is None:
        raise UpstreamFormatError("no membership rows", path.name, hint=_HINT)
    return Epcmem({p: ccg for p, (_, ccg) in open_rows.items()}, newest)


def read_eccg(path: Path) -> dict[str, EccgRow]:
    found: dict[str, EccgRow] = {}
    for line, values in enumerate(_rows(path), start=1):
        if not any(v.strip() for v in values):
            continue
        _width(values, 12, path, line)
        code = values[0].strip()
        found[code] = EccgRow(
            code,
            values[1].strip(),
            values[2].strip(),
            values[3].strip(),
            _day(values[10], path, line, "K"),
            _day(values[11], path, line, "L"),
            line,
        )
    if not found:
        raise UpstreamFormatError("no rows", path.name, hint=_HINT)
    return found


def eccg_vintage(rows: dict[str, EccgRow]) -> date | None:
    """The newest open or close date in eccg (the file carries no date of its own)."""
    days = [d for r in rows.values() for d in (r.open_date, r.close_date) if d is not None]
    return max(days) if days else None


def read_icb_names(path: Path) -> tuple[IcbName, ...]:
    rows = _rows(path)
    if not rows:
        raise UpstreamFormatError("no header line", path.name, None, 1, hint=_HINT)
    header = [h.strip() for h in rows[0]]
    columns = {}
    for want in ("CD", "CDH", "NM"):  # ICB24CD, ICB24CDH, ICB24NM (the year varies by vintage)
        index = next((i for i, h in enumerate(header) if h.upper().endswith(want)), None)
        if index is None:
            raise UpstreamFormatError(
                f"no column ending in {want} (ICB24{want})", path.name, None, 1, hint=_HINT
            )
        columns[want] = index
    found = []
    for line, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        _width(values, max(columns.values()) + 1, path, line)
        found.append(
            IcbName(
                values[columns["CDH"]].strip(),
                values[columns["CD"]].strip(),
                values[columns["NM"]].strip(),
            )
        )
    return tuple(found)
