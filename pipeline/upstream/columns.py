"""Reading an upstream file as published: columns found by header text, cells typed, limits.

Columns are found by header text, never by position or exact spelling, because the headers
changed from CCG to Sub ICB wording between vintages and carry line breaks and trailing spaces.
A surprise in a file's format is a reason to stop: `UpstreamFormatError` names the file, sheet,
row and column. The readers of each publication (`readers`: ePCN and the mapping file;
`patients`: registered patients) say which columns they know.
"""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TypeVar

from pipeline.core.errors import PipelineError

T = TypeVar("T")

# Limits on an upstream file, far above the national files (ePCN: 1,392 PCNs, 7,648 partner
# rows, about 1 MB; the mapping: 6,650 practices, 1 MB inside its zip): a shared-strings bomb
# or a zip holding a gigabyte stops with a message, before memory or hours are spent.
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # bytes, all the entries of a zip (or an xlsx) together
MAX_ROWS = 1_000_000  # rows of a sheet, lines of a CSV
MAX_COLUMNS = 500
LIMIT_HINT = "Take the file as published; an upstream file of this size is not the NHS's."


class UpstreamFormatError(PipelineError):
    """An upstream file is not in the format this module knows.

    `problem` is the bare description; `str()` prefixes it with where it is, for example
    `epcn.xlsx, sheet "PCNDetails", row 7, column E "Open Date": "2019-10-01" is not a YYYYMMDD
    date`. `row` is the 1-based worksheet row, or for a CSV the 1-based line (header = 1).
    `column` is the spreadsheet letter (for a CSV, the letter the column would have when opened
    in a spreadsheet) and `header` that column's header text.
    """

    def __init__(
        self,
        problem: str,
        file: str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str = "",
        *,
        header: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.sheet = sheet
        self.row = row
        self.column = column
        self.header = header
        super().__init__(f"{where(file, sheet, row, column, header)}: {problem}", hint)


def where(
    file: str, sheet: str | None, row: int | None, column: str | None, header: str | None
) -> str:
    parts = [file]
    if sheet is not None:
        parts.append(f'sheet "{sheet}"')
    if row is not None:
        # Worksheets have rows; a CSV is a text file, and editors count lines.
        parts.append(f"{'row' if sheet is not None else 'line'} {row}")
    if column is not None:
        parts.append(f'column {column} "{header}"' if header else f"column {column}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Date parsers

_YYYYMMDD = re.compile(r"[0-9]{8}")
_EXTRACT_DATE = re.compile(r"([0-9]{1,2})(-?)([A-Za-z]{3})\2([0-9]{4}|[0-9]{2})")
# English abbreviations, spelled out so the parse never depends on the machine's locale.
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


def parse_yyyymmdd(text: str) -> date:
    """Parse an ePCN date such as `20191001`; raise ValueError for anything else."""
    if not _YYYYMMDD.fullmatch(text):
        raise ValueError(f"{show_value(text)} is not a YYYYMMDD date")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"{show_value(text)} is not a YYYYMMDD date (no such day)") from None


def parse_extract_date(text: str) -> date:
    """Parse an EXTRACT_DATE: `01Aug2026` (ddMonyyyy) or `01-Sep-20` (dd-Mon-yy).

    A two-digit year is 20yy: the publication began long after 2000.
    """
    match = _EXTRACT_DATE.fullmatch(text)
    month = _MONTHS.get(match.group(3).casefold()) if match else None
    if match is None or month is None:
        raise ValueError(f"{show_value(text)} is not an extract date like 01Aug2026 or 01-Sep-20")
    year = int(match.group(4))
    if len(match.group(4)) == 2:
        year += 2000
    try:
        return date(year, month, int(match.group(1)))
    except ValueError:
        raise ValueError(f"{show_value(text)} is not an extract date (no such day)") from None


# ---------------------------------------------------------------------------------------------
# Cell values


def show_value(value: object) -> str:
    """A cell value as a message shows it: text quoted, anything else named by its kind."""
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "an empty cell"
    if isinstance(value, bool):
        return f"the boolean {str(value).upper()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, datetime | date | time):
        return f"the Excel date {value.isoformat()}"
    return f"the {type(value).__name__} {value}"


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{show_value(value)} is not text")
    return value.strip()


def cell_code(value: object) -> str:
    text = cell_text(value)
    if not text:
        raise ValueError("the cell is empty; a code is required here")
    return text


def cell_yyyymmdd(value: object) -> date | None:
    # Both "no date" forms occur: "" in PCNDetails, a cell with no value in the partner sheet.
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{show_value(value)} is not a YYYYMMDD date")
    return parse_yyyymmdd(value)


def cell_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{show_value(value)} is not TRUE or FALSE")
    return value


PUBLISHED_HINT = "Take the file as published."
TEXT_HINT = (
    "Take the file as published; if the publisher changed it, update its reader in "
    "pipeline/upstream/."
)


# ---------------------------------------------------------------------------------------------
# Headers


def header_text(value: object) -> str:
    """A header as a person reads it: line breaks and runs of spaces made one space."""
    return "" if value is None else " ".join(str(value).split())


def normalise_header(value: object) -> str:
    return header_text(value).casefold()


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


@dataclass(frozen=True)
class Column:
    """A column we know: the field it fills (None: known, not read) and its accepted headers."""

    field: str | None
    spellings: tuple[str, ...]  # as published, for messages
    required: bool

    @property
    def headers(self) -> frozenset[str]:
        return frozenset(normalise_header(spelling) for spelling in self.spellings)


def column(field: str | None, *spellings: str, required: bool = True) -> Column:
    return Column(field, spellings, required)


@dataclass(frozen=True)
class HeaderTable:
    """A header row matched to fields: where each field is and how to point at a cell."""

    file: str
    sheet: str | None
    headers: tuple[str, ...]  # display text of every header cell, "" for none
    positions: dict[str, int]  # field -> 0-based column index

    def error(self, problem: str, row: int, index: int | None, hint: str) -> UpstreamFormatError:
        if index is None:
            return UpstreamFormatError(problem, self.file, self.sheet, row, None, hint)
        header = self.headers[index] if index < len(self.headers) else ""
        return UpstreamFormatError(
            problem, self.file, self.sheet, row, column_letter(index), hint, header=header or None
        )

    def check_unheaded(self, values: Sequence[object], row: int) -> None:
        """Refuse a value in a column without a header (allowing empty extra columns): the
        first such value, left to right. Only the columns without a header are looked at."""
        for index in (*self._unheaded, *range(len(self.headers), len(values))):
            if index < len(values) and not is_blank(values[index]):
                raise self.error(
                    f"{show_value(values[index])} is in a column with no header",
                    row,
                    index,
                    "The columns seem shifted; take the file as published.",
                )

    @functools.cached_property
    def _unheaded(self) -> tuple[int, ...]:
        """The columns among the header's whose header cell is empty."""
        return tuple(index for index, text in enumerate(self.headers) if not text)

    def cell(
        self,
        values: Sequence[object],
        row: int,
        field: str,
        convert: Callable[[object], T],
        hint: str = TEXT_HINT,
    ) -> T:
        index = self.positions[field]
        try:
            return convert(values[index] if index < len(values) else None)
        except ValueError as exc:
            raise self.error(str(exc), row, index, hint) from None

    def optional_cell(
        self, values: Sequence[object], row: int, field: str, convert: Callable[[object], T]
    ) -> T | None:
        if field not in self.positions:
            return None
        return self.cell(values, row, field, convert)


def match_header(
    file: str, sheet: str | None, header: Sequence[object], columns: Iterable[Column]
) -> HeaderTable:
    columns = tuple(columns)
    by_header = {text: column for column in columns for text in column.headers}
    displays = tuple(header_text(value) for value in header)
    positions: dict[str, int] = {}
    for index, text in enumerate(displays):
        if not text:
            continue  # an empty extra column, such as M in PCNDetails
        column = by_header.get(text.casefold())
        if column is None:
            raise UpstreamFormatError(
                f'unknown column "{text}"',
                file,
                sheet,
                1,
                column_letter(index),
                "The publisher may have added or renamed a column. If so, add its header to the "
                "known columns of its reader in pipeline/upstream/.",
                header=text,
            )
        if column.field is None:
            continue
        if column.field in positions:
            first = positions[column.field]
            raise UpstreamFormatError(
                f'column "{text}" repeats column {column_letter(first)} "{displays[first]}"',
                file,
                sheet,
                1,
                column_letter(index),
                "Each column may appear once; take the file as published.",
                header=text,
            )
        positions[column.field] = index
    for column in columns:
        if column.required and column.field not in positions:
            wanted = " or ".join(f'"{text}"' for text in column.spellings)
            found = ", ".join(f'"{text}"' for text in displays if text)
            raise UpstreamFormatError(
                f"no {wanted} column; the header row has {found or 'nothing'}",
                file,
                sheet,
                1,
                None,
                "The header must be on row 1. If the publisher renamed the column, add the new "
                "header to the known columns of its reader in pipeline/upstream/.",
            )
    return HeaderTable(file, sheet, displays, positions)


# ---------------------------------------------------------------------------------------------
# Files


def require_file(path: Path, file: str) -> None:
    if not path.is_file():
        problem = "no such file" if not path.exists() else "not a file"
        raise UpstreamFormatError(
            f"{problem} ({path})", file, hint="Check the path given for the upstream file."
        )


def check_archive(path: Path, file: str) -> None:
    """Refuse a zip (or xlsx) whose entries decompress to more than MAX_UNCOMPRESSED bytes.
    The declared sizes can lie, so every entry is decompressed (and discarded) as counted."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                total += info.file_size
                if total > MAX_UNCOMPRESSED:
                    raise too_big(file, info.filename)
            total = 0
            for info in archive.infolist():
                with archive.open(info) as entry:
                    while chunk := entry.read(1 << 20):
                        total += len(chunk)
                        if total > MAX_UNCOMPRESSED:
                            raise too_big(file, info.filename)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise UpstreamFormatError(
            f"cannot read the zip entry ({exc})", file, hint="Download the zip again."
        ) from None


def check_size(path: Path, file: str) -> None:
    """Refuse a plain file of more than MAX_UNCOMPRESSED bytes before reading it."""
    if path.stat().st_size > MAX_UNCOMPRESSED:
        raise UpstreamFormatError(
            f"more than {MAX_UNCOMPRESSED // (1024 * 1024)} MB", file, hint=LIMIT_HINT
        )


def too_big(file: str, entry: str) -> UpstreamFormatError:
    return UpstreamFormatError(
        f"the zip decompresses to more than {MAX_UNCOMPRESSED // (1024 * 1024)} MB (at entry "
        f"{show_value(entry)}); nothing was read",
        file,
        hint=LIMIT_HINT,
    )


def check_shape(values: Sequence[object], file: str, sheet: str | None, row: int) -> None:
    if row > MAX_ROWS:
        raise UpstreamFormatError(f"more than {MAX_ROWS:,} rows", file, sheet, row, hint=LIMIT_HINT)
    if len(values) > MAX_COLUMNS:
        raise UpstreamFormatError(
            f"{len(values):,} columns, more than {MAX_COLUMNS}", file, sheet, row, hint=LIMIT_HINT
        )


# What each reader made of a file, by the reader, the file's name, the SHA-256 of its bytes and
# the limits it read under:
# the extracts are immutable, and `init` and `refresh` (and a library caller) may read the same


def csv_member(archive: zipfile.ZipFile, file: str, wanted: str) -> str:
    """The name of the one CSV entry of a published zip (the one named WANTED among several)."""
    names = archive.namelist()
    csvs = [n for n in names if n.casefold().endswith(".csv") and not n.startswith("__MACOSX/")]
    named = [n for n in csvs if n.rsplit("/", 1)[-1].casefold() == wanted]
    if len(csvs) == 1 or len(named) == 1:
        return csvs[0] if len(csvs) == 1 else named[0]
    problem = "no .csv entry" if not csvs else f"no single {wanted} entry"
    entries = ", ".join(f'"{name}"' for name in names) or "none"
    raise UpstreamFormatError(
        f"{problem} in the zip (entries: {entries})",
        file,
        hint=f"The published zip holds one {wanted}.",
    )
