"""Read the NHS upstream files as published and return normalised, typed values.

Two publications feed the PCN and practice records:

- ODS ePCN.xlsx (`read_epcn`): sheets `PCNDetails` and `PCN Core Partner Details`;
- NHS England gp-reg-pat-prac-map.csv (`read_gp_map`), published inside a zip.

Every quirk these readers cope with is described in `shared/reference/upstream/README.md`.
Columns are found by header text, never by position or exact spelling, because the headers
changed from CCG to Sub ICB wording between vintages and carry line breaks and trailing spaces.

Upstream files are not source records a person edits, so a surprise in their format is a reason
to stop (`UpstreamFormatError`, naming file, sheet, row and column), not an `Issue`: a refresh
must never build records from a file it half understood. Values are otherwise kept as published
(names in their published case); text is only stripped of surrounding spaces.

`filter_epcn` and `filter_gp_map` keep the rows of one ICS, so the same code reads the national
files and the one-ICS subsets.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Protocol, TypeVar, cast
from xml.etree import ElementTree

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from pipeline.core.errors import PipelineError
from pipeline.core.files import file_sha256

T = TypeVar("T")

PCN_DETAILS_SHEET = "PCNDetails"
PARTNER_SHEET = "PCN Core Partner Details"
GP_MAP_MEMBER = "gp-reg-pat-prac-map.csv"
UNALLOCATED_PCN_CODE = "U"
# Limits on an upstream file, far above the national files (ePCN: 1,392 PCNs, 7,648 partner
# rows, about 1 MB; the mapping: 6,650 practices, 1 MB inside its zip): a shared-strings bomb
# or a zip holding a gigabyte stops with a message, before memory or hours are spent.
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # bytes, all the entries of a zip (or an xlsx) together
MAX_ROWS = 1_000_000  # rows of a sheet, lines of a CSV
MAX_COLUMNS = 500
_LIMIT_HINT = "Take the file as published; an upstream file of this size is not the NHS's."


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
        super().__init__(f"{_where(file, sheet, row, column, header)}: {problem}", hint)


def _where(
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
# Values


@dataclass(frozen=True)
class EpcnPcn:
    """One row of `PCNDetails`: a PCN, open or closed."""

    code: str
    name: str
    commissioner_code: str
    commissioner_name: str
    open_date: date | None
    close_date: date | None
    row: int


@dataclass(frozen=True)
class EpcnRelationship:
    """One row of `PCN Core Partner Details`: a practice in a PCN for one period.

    `parents_match` is the sheet's own Match column (is the practice's parent the PCN's
    parent?), or None if a vintage has no such column.
    """

    practice_code: str
    practice_name: str
    practice_parent_code: str
    pcn_code: str
    pcn_name: str
    pcn_parent_code: str
    start_date: date | None
    end_date: date | None
    parents_match: bool | None
    row: int


@dataclass(frozen=True)
class EpcnExtract:
    """An ePCN workbook. `vintage` is the date it was last saved (UTC), if the file says."""

    vintage: date | None
    pcns: tuple[EpcnPcn, ...]
    relationships: tuple[EpcnRelationship, ...]


@dataclass(frozen=True)
class GpMapRow:
    """One practice of gp-reg-pat-prac-map. `pcn_code` and `pcn_name` are None when unallocated."""

    practice_code: str
    practice_name: str
    postcode: str
    pcn_code: str | None
    pcn_name: str | None
    unallocated: bool
    sub_icb_code: str
    sub_icb_name: str
    icb_code: str
    icb_name: str
    line: int
    # The ONS codes and the region, where the file has them (init reads them; refresh does not).
    sub_icb_ons_code: str = ""
    icb_ons_code: str = ""
    region_code: str = ""
    region_name: str = ""
    region_ons_code: str = ""


@dataclass(frozen=True)
class GpMapExtract:
    """A gp-reg-pat-prac-map file. `vintage` is its EXTRACT_DATE."""

    vintage: date
    rows: tuple[GpMapRow, ...]


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
        raise ValueError(f"{_show(text)} is not a YYYYMMDD date")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"{_show(text)} is not a YYYYMMDD date (no such day)") from None


def parse_extract_date(text: str) -> date:
    """Parse an EXTRACT_DATE: `01Aug2026` (ddMonyyyy) or `01-Sep-20` (dd-Mon-yy).

    A two-digit year is 20yy: the publication began long after 2000.
    """
    match = _EXTRACT_DATE.fullmatch(text)
    month = _MONTHS.get(match.group(3).casefold()) if match else None
    if match is None or month is None:
        raise ValueError(f"{_show(text)} is not an extract date like 01Aug2026 or 01-Sep-20")
    year = int(match.group(4))
    if len(match.group(4)) == 2:
        year += 2000
    try:
        return date(year, month, int(match.group(1)))
    except ValueError:
        raise ValueError(f"{_show(text)} is not an extract date (no such day)") from None


# ---------------------------------------------------------------------------------------------
# Cell values


def _show(value: object) -> str:
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


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{_show(value)} is not text")
    return value.strip()


def _code(value: object) -> str:
    text = _text(value)
    if not text:
        raise ValueError("the cell is empty; a code is required here")
    return text


def _yyyymmdd(value: object) -> date | None:
    # Both "no date" forms occur: "" in PCNDetails, a cell with no value in the partner sheet.
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{_show(value)} is not a YYYYMMDD date")
    return parse_yyyymmdd(value)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{_show(value)} is not TRUE or FALSE")
    return value


_DATE_HINT = (
    "ePCN dates are text cells holding YYYYMMDD, such as 20191001. If the workbook was re-saved "
    "by hand, take the file as published by ODS."
)
_PUBLISHED_HINT = "Take the file as published."
_TEXT_HINT = (
    "Take the file as published; if the publisher changed it, update pipeline/upstream/readers.py."
)


# ---------------------------------------------------------------------------------------------
# Headers


def _display(value: object) -> str:
    """A header as a person reads it: line breaks and runs of spaces made one space."""
    return "" if value is None else " ".join(str(value).split())


def _normalise(value: object) -> str:
    return _display(value).casefold()


def _letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


@dataclass(frozen=True)
class _Column:
    """A column we know: the field it fills (None: known, not read) and its accepted headers."""

    field: str | None
    spellings: tuple[str, ...]  # as published, for messages
    required: bool

    @property
    def headers(self) -> frozenset[str]:
        return frozenset(_normalise(spelling) for spelling in self.spellings)


def _column(field: str | None, *spellings: str, required: bool = True) -> _Column:
    return _Column(field, spellings, required)


# Every spelling seen in a vintage: CCG wording (2022-04) and Sub ICB wording (2023-01 on).
_PCN_DETAILS_COLUMNS = (
    _column("code", "PCN Code"),
    _column("name", "PCN Name"),
    _column(
        "commissioner_code", "Current Clinical Commissioning Group Code", "Current Sub ICB Loc Code"
    ),
    _column("commissioner_name", "Clinical Commissioning Group Name", "Sub ICB Location"),
    _column("open_date", "Open Date"),
    _column("close_date", "Close Date"),
    _column(
        None,
        *(f"Address Line {number}" for number in range(1, 6)),
        "Postcode",
        required=False,
    ),
)
_PARTNER_COLUMNS = (
    _column("practice_code", "Partner Organisation Code"),
    _column("practice_name", "Partner Name"),
    _column("practice_parent_code", "Practice Parent CCG Code", "Practice Parent Sub ICB Loc Code"),
    _column("pcn_code", "PCN Code"),
    _column("pcn_name", "PCN Name"),
    _column("pcn_parent_code", "PCN Parent CCG Code", "PCN Parent Sub ICB Loc Code"),
    _column("start_date", "Practice to PCN Relationship Start Date"),
    _column("end_date", "Practice to PCN Relationship End Date"),
    _column(
        "parents_match",
        "Practice CCG and PCN CCG Match",
        "Practice Sub ICB Loc and PCN Sub ICB Loc Match",
        required=False,
    ),
    _column(
        None,
        "Practice Parent CCG Name",
        "Practice Parent Sub ICB Loc Name",
        "PCN Parent CCG Name",
        "PCN Parent Sub ICB Loc Name",
        required=False,
    ),
)
# 2022 has CCG_* and STP_*; 2026 has SUB_ICB_LOCATION_*, ICB_* and SUPPLIER_NAME.
_GP_MAP_COLUMNS = (
    _column("extract_date", "EXTRACT_DATE"),
    _column("practice_code", "PRACTICE_CODE"),
    _column("practice_name", "PRACTICE_NAME"),
    _column("postcode", "PRACTICE_POSTCODE"),
    _column("pcn_code", "PCN_CODE"),
    _column("pcn_name", "PCN_NAME"),
    _column("sub_icb_code", "CCG_CODE", "SUB_ICB_LOCATION_CODE"),
    _column("sub_icb_name", "CCG_NAME", "SUB_ICB_LOCATION_NAME"),
    _column("icb_code", "STP_CODE", "ICB_CODE"),
    _column("icb_name", "STP_NAME", "ICB_NAME"),
    _column("sub_icb_ons_code", "ONS_CCG_CODE", "ONS_SUB_ICB_LOCATION_CODE", required=False),
    _column("icb_ons_code", "ONS_STP_CODE", "ONS_ICB_CODE", required=False),
    _column("region_code", "COMM_REGION_CODE", required=False),
    _column("region_name", "COMM_REGION_NAME", required=False),
    _column("region_ons_code", "ONS_COMM_REGION_CODE", required=False),
    _column(None, "PUBLICATION", "SUPPLIER_NAME", required=False),
)


@dataclass(frozen=True)
class _Table:
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
            problem, self.file, self.sheet, row, _letter(index), hint, header=header or None
        )

    def check_unheaded(self, values: Sequence[object], row: int) -> None:
        """Refuse a value in a column without a header (allowing empty extra columns): the
        first such value, left to right. Only the columns without a header are looked at."""
        for index in (*self._unheaded, *range(len(self.headers), len(values))):
            if index < len(values) and not _is_blank(values[index]):
                raise self.error(
                    f"{_show(values[index])} is in a column with no header",
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
        hint: str = _TEXT_HINT,
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


def _match_header(
    file: str, sheet: str | None, header: Sequence[object], columns: Iterable[_Column]
) -> _Table:
    columns = tuple(columns)
    by_header = {text: column for column in columns for text in column.headers}
    displays = tuple(_display(value) for value in header)
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
                _letter(index),
                "The publisher may have added or renamed a column. If so, add its header to the "
                "known columns in pipeline/upstream/readers.py.",
                header=text,
            )
        if column.field is None:
            continue
        if column.field in positions:
            first = positions[column.field]
            raise UpstreamFormatError(
                f'column "{text}" repeats column {_letter(first)} "{displays[first]}"',
                file,
                sheet,
                1,
                _letter(index),
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
                "header to the known columns in pipeline/upstream/readers.py.",
            )
    return _Table(file, sheet, displays, positions)


# ---------------------------------------------------------------------------------------------
# ePCN workbook


def check_archive(path: Path, file: str) -> None:
    """Refuse a zip (or xlsx) whose entries decompress to more than MAX_UNCOMPRESSED bytes.
    The declared sizes can lie, so every entry is decompressed (and discarded) as counted."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                total += info.file_size
                if total > MAX_UNCOMPRESSED:
                    raise _too_big(file, info.filename)
            total = 0
            for info in archive.infolist():
                with archive.open(info) as entry:
                    while chunk := entry.read(1 << 20):
                        total += len(chunk)
                        if total > MAX_UNCOMPRESSED:
                            raise _too_big(file, info.filename)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise UpstreamFormatError(
            f"cannot read the zip entry ({exc})", file, hint="Download the zip again."
        ) from None


def _too_big(file: str, entry: str) -> UpstreamFormatError:
    return UpstreamFormatError(
        f"the zip decompresses to more than {MAX_UNCOMPRESSED // (1024 * 1024)} MB (at entry "
        f"{_show(entry)}); nothing was read",
        file,
        hint=_LIMIT_HINT,
    )


def _check_shape(values: Sequence[object], file: str, sheet: str | None, row: int) -> None:
    if row > MAX_ROWS:
        raise UpstreamFormatError(
            f"more than {MAX_ROWS:,} rows", file, sheet, row, hint=_LIMIT_HINT
        )
    if len(values) > MAX_COLUMNS:
        raise UpstreamFormatError(
            f"{len(values):,} columns, more than {MAX_COLUMNS}", file, sheet, row, hint=_LIMIT_HINT
        )


# What each reader made of a file, by the reader, the file's name, the SHA-256 of its bytes and
# the limits it read under:
# the extracts are immutable, and `init` and `refresh` (and a library caller) may read the same
# national workbook more than once in a process; parsing one takes seconds, hashing it 10 ms.
_EXTRACTS: dict[tuple[str, str, str, tuple[int, ...]], object] = {}
EXTRACTS_KEPT = 8


def remembered(reader: Callable[[Path], T], path: Path) -> T:
    """READER's extract of the file at PATH, read once per content in a process. A file that
    cannot be read is left to READER to word (nothing is remembered of it)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_UNCOMPRESSED:
            return reader(path)  # not a regular file, or too large: its reader says so
        limits = (MAX_UNCOMPRESSED, MAX_ROWS, MAX_COLUMNS)
        key = (reader.__qualname__, path.name, file_sha256(path), limits)
    except OSError:
        return reader(path)
    found = _EXTRACTS.get(key)
    if found is None:
        found = reader(path)
        if len(_EXTRACTS) >= EXTRACTS_KEPT:
            _EXTRACTS.pop(next(iter(_EXTRACTS)))  # the oldest
        _EXTRACTS[key] = found
    return cast(T, found)


def read_epcn(path: Path) -> EpcnExtract:
    """An ODS ePCN workbook's extract (`parse_epcn`), read once per content in a process."""
    return remembered(parse_epcn, path)


def parse_epcn(path: Path) -> EpcnExtract:
    """Read an ODS ePCN workbook: every PCN and every practice-PCN period, closed ones too.

    Rows hidden by a saved filter (all partner rows of the 2025-01 file) are read like any other.
    `vintage` is the last-saved date from the workbook's core properties. openpyxl's
    `wb.properties.modified` gives the same date for the three known files, but when a workbook
    has no such property openpyxl reports the time of reading instead (as it reports "openpyxl"
    for a missing creator), so the property is read from docProps/core.xml directly.
    """
    file = path.name
    _require_file(path, file)
    hint = "Give the ePCN.xlsx workbook as downloaded from ODS."
    if zipfile.is_zipfile(path):
        check_archive(path, file)  # before openpyxl reads every shared string into memory
    try:
        with zipfile.ZipFile(path) as archive:
            vintage = _xlsx_modified(archive, file)
    except zipfile.BadZipFile:
        raise UpstreamFormatError(
            "not an xlsx workbook (not a zip archive)", file, hint=hint
        ) from None
    with path.open("rb") as stream, warnings.catch_warnings():
        # openpyxl warns about workbook features it does not model; only values are read here.
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        try:
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # any failure inside openpyxl's loader: not a readable xlsx
            raise UpstreamFormatError(
                f"not a readable xlsx workbook ({type(exc).__name__}: {exc})", file, hint=hint
            ) from exc
        try:
            sheets = {
                name: _rows(_worksheet(workbook, name, file), file, name)
                for name in (PCN_DETAILS_SHEET, PARTNER_SHEET)
            }
            pcns = tuple(_read_pcns(sheets[PCN_DETAILS_SHEET], file))
            relationships = tuple(_read_relationships(sheets[PARTNER_SHEET], file))
        finally:
            workbook.close()
    return EpcnExtract(vintage, pcns, relationships)


def _require_file(path: Path, file: str) -> None:
    if not path.is_file():
        problem = "no such file" if not path.exists() else "not a file"
        raise UpstreamFormatError(
            f"{problem} ({path})", file, hint="Check the path given for the upstream file."
        )


_CORE_MODIFIED = "{http://purl.org/dc/terms/}modified"


def _xlsx_modified(archive: zipfile.ZipFile, file: str) -> date | None:
    try:
        core = archive.read("docProps/core.xml")
    except KeyError:
        return None
    try:
        element = ElementTree.fromstring(core).find(_CORE_MODIFIED)
    except ElementTree.ParseError as exc:
        raise UpstreamFormatError(
            f"docProps/core.xml is not XML ({exc})", file, hint=_PUBLISHED_HINT
        ) from None
    text = (element.text or "").strip() if element is not None else ""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise UpstreamFormatError(
            f"last-saved time {_show(text)} in docProps/core.xml is not a date and time",
            file,
            hint=_PUBLISHED_HINT,
        ) from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC)
    return stamp.date()


def _worksheet(workbook: openpyxl.Workbook, name: str, file: str) -> ReadOnlyWorksheet:
    if name not in workbook.sheetnames:
        found = ", ".join(f'"{sheet}"' for sheet in workbook.sheetnames)
        raise UpstreamFormatError(
            f"no such sheet; the workbook has {found}",
            file,
            name,
            hint=f'An ePCN workbook has sheets "{PCN_DETAILS_SHEET}" and "{PARTNER_SHEET}".',
        )
    sheet = workbook[name]
    if not isinstance(sheet, ReadOnlyWorksheet):
        raise UpstreamFormatError("not a worksheet", file, name, hint=_PUBLISHED_HINT)
    return sheet


class _RowSource(Protocol):
    def iter_rows(self, *, values_only: bool) -> Iterator[Sequence[object]]: ...


def _rows(sheet: ReadOnlyWorksheet, file: str, name: str) -> Iterator[Sequence[object]]:
    """The sheet's rows in order, row 1 first, gaps as empty rows, whatever openpyxl raises."""
    # The saved dimension (A1:L45) is not trusted: a stale one would silently cut rows.
    sheet.reset_dimensions()
    # The cast works around types-openpyxl typing ReadOnlyWorksheet.iter_rows for Worksheet.
    rows = cast(_RowSource, sheet).iter_rows(values_only=True)
    row = 0
    while True:
        row += 1
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # a corrupt sheet: say where, never a raw openpyxl traceback
            raise UpstreamFormatError(
                f"cannot read the sheet ({type(exc).__name__}: {exc})",
                file,
                name,
                row,
                hint=_PUBLISHED_HINT,
            ) from exc
        _check_shape(_trimmed(values), file, name, row)
        yield values


def _trimmed(values: Sequence[object]) -> Sequence[object]:
    """The row without its trailing empty cells (a formatted but empty column is no column)."""
    end = len(values)
    while end and _is_blank(values[end - 1]):
        end -= 1
    return values[:end]


def _data_rows(
    rows: Iterator[Sequence[object]], file: str, sheet: str, columns: Iterable[_Column]
) -> Iterator[tuple[_Table, int, Sequence[object]]]:
    header = next(rows, None)
    if header is None or all(_is_blank(value) for value in header):
        raise UpstreamFormatError(
            "no header row", file, sheet, 1, hint="The header must be on row 1."
        )
    table = _match_header(file, sheet, header, columns)
    for row, values in enumerate(rows, start=2):
        if all(_is_blank(value) for value in values):
            continue
        table.check_unheaded(values, row)
        yield table, row, values


def _read_pcns(rows: Iterator[Sequence[object]], file: str) -> Iterator[EpcnPcn]:
    for table, row, values in _data_rows(rows, file, PCN_DETAILS_SHEET, _PCN_DETAILS_COLUMNS):
        yield EpcnPcn(
            code=table.cell(values, row, "code", _code),
            name=table.cell(values, row, "name", _text),
            commissioner_code=table.cell(values, row, "commissioner_code", _code),
            commissioner_name=table.cell(values, row, "commissioner_name", _text),
            open_date=table.cell(values, row, "open_date", _yyyymmdd, _DATE_HINT),
            close_date=table.cell(values, row, "close_date", _yyyymmdd, _DATE_HINT),
            row=row,
        )


def _read_relationships(rows: Iterator[Sequence[object]], file: str) -> Iterator[EpcnRelationship]:
    for table, row, values in _data_rows(rows, file, PARTNER_SHEET, _PARTNER_COLUMNS):
        yield EpcnRelationship(
            practice_code=table.cell(values, row, "practice_code", _code),
            practice_name=table.cell(values, row, "practice_name", _text),
            practice_parent_code=table.cell(values, row, "practice_parent_code", _code),
            pcn_code=table.cell(values, row, "pcn_code", _code),
            pcn_name=table.cell(values, row, "pcn_name", _text),
            pcn_parent_code=table.cell(values, row, "pcn_parent_code", _code),
            start_date=table.cell(values, row, "start_date", _yyyymmdd, _DATE_HINT),
            end_date=table.cell(values, row, "end_date", _yyyymmdd, _DATE_HINT),
            parents_match=table.optional_cell(values, row, "parents_match", _flag),
            row=row,
        )


# ---------------------------------------------------------------------------------------------
# gp-reg-pat-prac-map


def read_gp_map(path: Path) -> GpMapExtract:
    """A gp-reg-pat-prac-map file's extract (`parse_gp_map`), read once per content."""
    return remembered(parse_gp_map, path)


def parse_gp_map(path: Path) -> GpMapExtract:
    """Read gp-reg-pat-prac-map as a .csv, or as the published .zip holding one .csv."""
    _require_file(path, path.name)
    if zipfile.is_zipfile(path):
        check_archive(path, path.name)
        return _read_gp_map_zip(path)
    if path.stat().st_size > MAX_UNCOMPRESSED:
        raise UpstreamFormatError(
            f"more than {MAX_UNCOMPRESSED // (1024 * 1024)} MB", path.name, hint=_LIMIT_HINT
        )
    if path.suffix.casefold() == ".zip":
        raise UpstreamFormatError(
            "not a zip archive", path.name, hint="Give the zip as downloaded, or the csv inside."
        )
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return _read_gp_map_csv(stream, path.name)


def _read_gp_map_zip(path: Path) -> GpMapExtract:
    with zipfile.ZipFile(path) as archive:
        member = _csv_member(archive, path.name)
        file = f"{path.name} ({member})"
        # A damaged entry (bad CRC, bad deflate data) only shows while it is being read.
        damaged = (zipfile.BadZipFile, OSError, zlib.error)
        with archive.open(member) as raw:
            try:
                with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as stream:
                    return _read_gp_map_csv(stream, file)
            except damaged as exc:
                raise UpstreamFormatError(
                    f"cannot read the zip entry ({exc})", file, hint="Download the zip again."
                ) from exc


def _csv_member(archive: zipfile.ZipFile, file: str, wanted: str = GP_MAP_MEMBER) -> str:
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


def _read_gp_map_csv(stream: Iterable[str], file: str) -> GpMapExtract:
    reader = csv.reader(stream, strict=True)
    rows: list[GpMapRow] = []
    parsed: dict[str, date] = {}  # each distinct EXTRACT_DATE text, parsed once
    first: tuple[str, date] | None = None
    last_line = 0  # the last line read so far; a quoted field may span lines
    try:
        header = next(reader, None)
        last_line = reader.line_num
        if header is None or all(_is_blank(value) for value in header):
            raise UpstreamFormatError("no header line", file, None, 1, hint="The header is line 1.")
        _check_shape(header, file, None, 1)
        table = _match_header(file, None, header, _GP_MAP_COLUMNS)
        for values in reader:
            line, last_line = last_line + 1, reader.line_num
            _check_shape(values, file, None, line)
            if all(_is_blank(value) for value in values):
                continue
            if len(values) != len(header):
                raise table.error(
                    f"{len(values)} fields where the header has {len(header)}",
                    line,
                    None,
                    "Use the file as published: every line has as many fields as the header.",
                )
            table.check_unheaded(values, line)
            text = table.cell(values, line, "extract_date", _text)
            if text not in parsed:
                parsed[text] = table.cell(
                    values, line, "extract_date", _extract_date, _EXTRACT_DATE_HINT
                )
            if first is None:
                first = (text, parsed[text])
            elif parsed[text] != first[1]:
                raise table.error(
                    f"{_show(text)} differs from the first EXTRACT_DATE, {_show(first[0])}",
                    line,
                    table.positions["extract_date"],
                    "A mapping file is one extract; do not join files of different months.",
                )
            rows.append(_gp_map_row(table, values, line))
    except csv.Error as exc:
        raise UpstreamFormatError(
            f"not valid CSV ({exc})", file, None, reader.line_num, hint="Use a real CSV file."
        ) from None
    except UnicodeDecodeError as exc:
        raise UpstreamFormatError(
            f"not UTF-8 text ({exc.reason})", file, None, last_line + 1, hint=_PUBLISHED_HINT
        ) from None
    if first is None:
        raise UpstreamFormatError("no data lines after the header", file, hint=_PUBLISHED_HINT)
    return GpMapExtract(first[1], tuple(rows))


_EXTRACT_DATE_HINT = "EXTRACT_DATE is a date like 01Aug2026 or 01-Sep-20."


def _extract_date(value: object) -> date:
    return parse_extract_date(_text(value))


def _gp_map_row(table: _Table, values: Sequence[str], line: int) -> GpMapRow:
    pcn_code = table.cell(values, line, "pcn_code", _code)
    # "U" / "Unallocated" marks a practice without a PCN; it is not a PCN.
    unallocated = pcn_code == UNALLOCATED_PCN_CODE
    return GpMapRow(
        practice_code=table.cell(values, line, "practice_code", _code),
        practice_name=table.cell(values, line, "practice_name", _text),
        postcode=table.cell(values, line, "postcode", _text),
        pcn_code=None if unallocated else pcn_code,
        pcn_name=None if unallocated else table.cell(values, line, "pcn_name", _text),
        unallocated=unallocated,
        sub_icb_code=table.cell(values, line, "sub_icb_code", _code),
        sub_icb_name=table.cell(values, line, "sub_icb_name", _text),
        icb_code=table.cell(values, line, "icb_code", _code),
        icb_name=table.cell(values, line, "icb_name", _text),
        line=line,
        sub_icb_ons_code=table.optional_cell(values, line, "sub_icb_ons_code", _text) or "",
        icb_ons_code=table.optional_cell(values, line, "icb_ons_code", _text) or "",
        region_code=table.optional_cell(values, line, "region_code", _text) or "",
        region_name=table.optional_cell(values, line, "region_name", _text) or "",
        region_ons_code=table.optional_cell(values, line, "region_ons_code", _text) or "",
    )


# ---------------------------------------------------------------------------------------------
# Filters


def filter_epcn(extract: EpcnExtract, codes: AbstractSet[str]) -> EpcnExtract:
    """Keep the rows of one ICS, given its ICB, sub-ICB and former CCG codes.

    PCNs whose commissioner is in `codes`; relationships whose practice's parent or PCN's parent
    is in `codes`, or whose PCN is kept.
    """
    pcns = tuple(pcn for pcn in extract.pcns if pcn.commissioner_code in codes)
    kept = {pcn.code for pcn in pcns}
    relationships = tuple(
        relationship
        for relationship in extract.relationships
        if relationship.practice_parent_code in codes
        or relationship.pcn_parent_code in codes
        or relationship.pcn_code in kept
    )
    return replace(extract, pcns=pcns, relationships=relationships)


def filter_gp_map(extract: GpMapExtract, icb_codes: AbstractSet[str]) -> GpMapExtract:
    """Keep the practices whose sub-ICB location (CCG) or ICB (STP) code is in `icb_codes`."""
    rows = tuple(
        row for row in extract.rows if row.sub_icb_code in icb_codes or row.icb_code in icb_codes
    )
    return replace(extract, rows=rows)
