"""Read the ODS files that give practices their legal lives and organisations their successors.

- ODS `epraccur` (`read_epraccur`): every GP practice and other prescribing cost centre in
  England and Wales, open and closed, no header, 27 columns. Two layouts are found in the wild,
  and one file is wholly one of them:

  | layout | status (column 13) | column 26 | a GP practice |
  |---|---|---|---|
  | `ods` (ODS Data Search and Export) | `ACTIVE`, `INACTIVE`, `DORMANT` | a role code | `RO76` |
  | `legacy` | `A`, `C`, `D`, `P` (active, closed, dormant, proposed) | prescribing setting | `4` |

  Both give column 11 the legal open date and column 12 the close date (YYYYMMDD, empty while
  open), column 4 the ICB (for a closed practice its last) and column 15 the commissioner.
  Only GP practices are kept. A closed practice has a close date, and an open one none.
- ODS `succ` (`read_succ`): successions of every kind of organisation, no header, 5 columns:
  old code, new code, an empty column, effective date YYYYMMDD, a 0/1 flag. One old code can
  have several successors (an ICB split between them), and one new code several predecessors.

As for the other upstream files, a surprise in the format stops the reader with an
`UpstreamFormatError` naming the file, line and column: nothing is built from a half-read file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.upstream.columns import UpstreamFormatError
from pipeline.upstream.national import csv_rows, yyyymmdd_cell

_HINT = "Take the file as ODS publishes it (epraccur.csv or succ.csv, unaltered)."

# status words, as the release publishes them, by layout
STATUSES = ("active", "closed", "dormant", "proposed")
_LAYOUTS = {
    "ods": ({"ACTIVE": "active", "INACTIVE": "closed", "DORMANT": "dormant"}, "RO76"),
    "legacy": ({"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}, "4"),
}
_WIDTH = 26  # columns up to the role or setting; the files have 27


@dataclass(frozen=True)
class PracticeLife:
    """A GP practice as epraccur gives it: its legal open and close dates and its status."""

    code: str
    name: str
    open_date: date | None
    close_date: date | None
    status: str  # one of STATUSES
    icb_code: str  # the ICB, or for a closed practice its last (column 4)
    commissioner: str  # the sub-ICB location or CCG (column 15)
    line: int


@dataclass(frozen=True)
class Epraccur:
    """The GP practices of one epraccur file, by code; its layout; the newest date it holds."""

    practices: dict[str, PracticeLife]
    layout: str
    vintage: date

    def life(self, code: str) -> PracticeLife | None:
        return self.practices.get(code)


def read_epraccur(path: Path) -> Epraccur:
    layout = ""
    practices: dict[str, PracticeLife] = {}
    newest: date | None = None
    for line, values in enumerate(csv_rows(path, _HINT), start=1):
        if not any(v.strip() for v in values):
            continue
        if len(values) < _WIDTH:
            raise UpstreamFormatError(
                f"{len(values)} fields where epraccur has 27", path.name, None, line, hint=_HINT
            )
        status = values[12].strip()
        found = next((name for name, (words, _) in _LAYOUTS.items() if status in words), "")
        if not found:
            raise UpstreamFormatError(
                f"status {status!r} is none of epraccur's (ACTIVE, INACTIVE, DORMANT; or A, C, "
                "D, P)",
                path.name,
                None,
                line,
                "M",
                _HINT,
            )
        if layout and found != layout:
            raise UpstreamFormatError(
                f"status {status!r} is of the {found} layout, and the lines before are of the "
                f"{layout} layout: one file is wholly one layout",
                path.name,
                None,
                line,
                "M",
                _HINT,
            )
        layout = found
        words, practice_role = _LAYOUTS[layout]
        opened = yyyymmdd_cell(values[10], path, line, "K", _HINT)
        closed = yyyymmdd_cell(values[11], path, line, "L", _HINT)
        for day in (opened, closed):
            if day is not None and (newest is None or day > newest):
                newest = day
        if values[25].strip() != practice_role:
            continue
        life = PracticeLife(
            code=values[0].strip(),
            name=values[1].strip(),
            open_date=opened,
            close_date=closed,
            status=words[status],
            icb_code=values[3].strip(),
            commissioner=values[14].strip(),
            line=line,
        )
        _check_life(life, path)
        if life.code in practices:
            first = practices[life.code].line
            raise UpstreamFormatError(
                f"practice {life.code} is also on line {first}", path.name, None, line, "A", _HINT
            )
        practices[life.code] = life
    if newest is None or not practices:
        raise UpstreamFormatError("no GP practice rows", path.name, hint=_HINT)
    return Epraccur(practices, layout, newest)


def _check_life(life: PracticeLife, path: Path) -> None:
    problem, column = "", ""
    if not life.code:
        problem, column = "no practice code", "A"
    elif life.status == "closed" and life.close_date is None:
        problem, column = "a closed practice with no close date", "L"
    elif life.status != "closed" and life.close_date is not None:
        problem, column = f"a close date on a practice whose status is {life.status}", "L"
    elif life.open_date is None and life.status != "proposed":
        problem, column = "no open date", "K"
    elif life.open_date and life.close_date and life.close_date < life.open_date:
        problem, column = "closed before it opened", "L"
    if problem:
        raise UpstreamFormatError(problem, path.name, None, life.line, column, _HINT)


@dataclass(frozen=True)
class Succession:
    """OLD was succeeded by NEW on EFFECTIVE (ODS succ)."""

    old_code: str
    new_code: str
    effective: date
    line: int


def read_succ(path: Path) -> tuple[Succession, ...]:
    found: list[Succession] = []
    seen: dict[tuple[str, str], int] = {}
    for line, values in enumerate(csv_rows(path, _HINT), start=1):
        if not any(v.strip() for v in values):
            continue
        if len(values) < 4:
            raise UpstreamFormatError(
                f"{len(values)} fields where succ has 5", path.name, None, line, hint=_HINT
            )
        old, new = values[0].strip(), values[1].strip()
        if not old or not new or old == new:
            raise UpstreamFormatError(
                f"{old!r} succeeded by {new!r} is no succession",
                path.name,
                None,
                line,
                "A" if not old else "B",
                _HINT,
            )
        effective = yyyymmdd_cell(values[3], path, line, "D", _HINT)
        if effective is None:
            raise UpstreamFormatError("no effective date", path.name, None, line, "D", _HINT)
        if (old, new) in seen:
            continue  # the same succession listed twice says nothing new
        seen[(old, new)] = line
        found.append(Succession(old, new, effective, line))
    if not found:
        raise UpstreamFormatError("no succession rows", path.name, hint=_HINT)
    return tuple(found)


def succ_vintage(successions: tuple[Succession, ...]) -> date:
    return max(s.effective for s in successions)
