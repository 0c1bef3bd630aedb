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
import io
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol, TypeVar, cast
from xml.etree import ElementTree

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from pipeline.core.files import file_sha256
from pipeline.upstream import columns
from pipeline.upstream.columns import (
    PUBLISHED_HINT,
    Column,
    HeaderTable,
    UpstreamFormatError,
    cell_code,
    cell_flag,
    cell_text,
    cell_yyyymmdd,
    check_archive,
    check_shape,
    check_size,
    column,
    csv_member,
    is_blank,
    match_header,
    parse_extract_date,
    require_file,
    show_value,
)

T = TypeVar("T")

PCN_DETAILS_SHEET = "PCNDetails"
PARTNER_SHEET = "PCN Core Partner Details"
GP_MAP_MEMBER = "gp-reg-pat-prac-map.csv"
UNALLOCATED_PCN_CODE = "U"
_DATE_HINT = (
    "ePCN dates are text cells holding YYYYMMDD, such as 20191001. If the workbook was re-saved "
    "by hand, take the file as published by ODS."
)

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
# The columns each publication has

# Every spelling seen in a vintage: CCG wording (2022-04) and Sub ICB wording (2023-01 on).
_PCN_DETAILS_COLUMNS = (
    column("code", "PCN Code"),
    column("name", "PCN Name"),
    column(
        "commissioner_code", "Current Clinical Commissioning Group Code", "Current Sub ICB Loc Code"
    ),
    column("commissioner_name", "Clinical Commissioning Group Name", "Sub ICB Location"),
    column("open_date", "Open Date"),
    column("close_date", "Close Date"),
    column(
        None,
        *(f"Address Line {number}" for number in range(1, 6)),
        "Postcode",
        required=False,
    ),
)
_PARTNER_COLUMNS = (
    column("practice_code", "Partner Organisation Code"),
    column("practice_name", "Partner Name"),
    column("practice_parent_code", "Practice Parent CCG Code", "Practice Parent Sub ICB Loc Code"),
    column("pcn_code", "PCN Code"),
    column("pcn_name", "PCN Name"),
    column("pcn_parent_code", "PCN Parent CCG Code", "PCN Parent Sub ICB Loc Code"),
    column("start_date", "Practice to PCN Relationship Start Date"),
    column("end_date", "Practice to PCN Relationship End Date"),
    column(
        "parents_match",
        "Practice CCG and PCN CCG Match",
        "Practice Sub ICB Loc and PCN Sub ICB Loc Match",
        required=False,
    ),
    column(
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
    column("extract_date", "EXTRACT_DATE"),
    column("practice_code", "PRACTICE_CODE"),
    column("practice_name", "PRACTICE_NAME"),
    column("postcode", "PRACTICE_POSTCODE"),
    column("pcn_code", "PCN_CODE"),
    column("pcn_name", "PCN_NAME"),
    column("sub_icb_code", "CCG_CODE", "SUB_ICB_LOCATION_CODE"),
    column("sub_icb_name", "CCG_NAME", "SUB_ICB_LOCATION_NAME"),
    column("icb_code", "STP_CODE", "ICB_CODE"),
    column("icb_name", "STP_NAME", "ICB_NAME"),
    column("sub_icb_ons_code", "ONS_CCG_CODE", "ONS_SUB_ICB_LOCATION_CODE", required=False),
    column("icb_ons_code", "ONS_STP_CODE", "ONS_ICB_CODE", required=False),
    column("region_code", "COMM_REGION_CODE", required=False),
    column("region_name", "COMM_REGION_NAME", required=False),
    column("region_ons_code", "ONS_COMM_REGION_CODE", required=False),
    column(None, "PUBLICATION", "SUPPLIER_NAME", required=False),
)


# ---------------------------------------------------------------------------------------------
# ePCN workbook


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
        if not path.is_file() or path.stat().st_size > columns.MAX_UNCOMPRESSED:
            return reader(path)  # not a regular file, or too large: its reader says so
        # the limits as they are now (a test lowers them)
        limits = (columns.MAX_UNCOMPRESSED, columns.MAX_ROWS, columns.MAX_COLUMNS)
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
    require_file(path, file)
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
            f"docProps/core.xml is not XML ({exc})", file, hint=PUBLISHED_HINT
        ) from None
    text = (element.text or "").strip() if element is not None else ""
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise UpstreamFormatError(
            f"last-saved time {show_value(text)} in docProps/core.xml is not a date and time",
            file,
            hint=PUBLISHED_HINT,
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
        raise UpstreamFormatError("not a worksheet", file, name, hint=PUBLISHED_HINT)
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
                hint=PUBLISHED_HINT,
            ) from exc
        check_shape(_trimmed(values), file, name, row)
        yield values


def _trimmed(values: Sequence[object]) -> Sequence[object]:
    """The row without its trailing empty cells (a formatted but empty column is no column)."""
    end = len(values)
    while end and is_blank(values[end - 1]):
        end -= 1
    return values[:end]


def _data_rows(
    rows: Iterator[Sequence[object]], file: str, sheet: str, columns: Iterable[Column]
) -> Iterator[tuple[HeaderTable, int, Sequence[object]]]:
    header = next(rows, None)
    if header is None or all(is_blank(value) for value in header):
        raise UpstreamFormatError(
            "no header row", file, sheet, 1, hint="The header must be on row 1."
        )
    table = match_header(file, sheet, header, columns)
    for row, values in enumerate(rows, start=2):
        if all(is_blank(value) for value in values):
            continue
        table.check_unheaded(values, row)
        yield table, row, values


def _read_pcns(rows: Iterator[Sequence[object]], file: str) -> Iterator[EpcnPcn]:
    for table, row, values in _data_rows(rows, file, PCN_DETAILS_SHEET, _PCN_DETAILS_COLUMNS):
        yield EpcnPcn(
            code=table.cell(values, row, "code", cell_code),
            name=table.cell(values, row, "name", cell_text),
            commissioner_code=table.cell(values, row, "commissioner_code", cell_code),
            commissioner_name=table.cell(values, row, "commissioner_name", cell_text),
            open_date=table.cell(values, row, "open_date", cell_yyyymmdd, _DATE_HINT),
            close_date=table.cell(values, row, "close_date", cell_yyyymmdd, _DATE_HINT),
            row=row,
        )


def _read_relationships(rows: Iterator[Sequence[object]], file: str) -> Iterator[EpcnRelationship]:
    for table, row, values in _data_rows(rows, file, PARTNER_SHEET, _PARTNER_COLUMNS):
        yield EpcnRelationship(
            practice_code=table.cell(values, row, "practice_code", cell_code),
            practice_name=table.cell(values, row, "practice_name", cell_text),
            practice_parent_code=table.cell(values, row, "practice_parent_code", cell_code),
            pcn_code=table.cell(values, row, "pcn_code", cell_code),
            pcn_name=table.cell(values, row, "pcn_name", cell_text),
            pcn_parent_code=table.cell(values, row, "pcn_parent_code", cell_code),
            start_date=table.cell(values, row, "start_date", cell_yyyymmdd, _DATE_HINT),
            end_date=table.cell(values, row, "end_date", cell_yyyymmdd, _DATE_HINT),
            parents_match=table.optional_cell(values, row, "parents_match", cell_flag),
            row=row,
        )


# ---------------------------------------------------------------------------------------------
# gp-reg-pat-prac-map


def read_gp_map(path: Path) -> GpMapExtract:
    """A gp-reg-pat-prac-map file's extract (`parse_gp_map`), read once per content."""
    return remembered(parse_gp_map, path)


def parse_gp_map(path: Path) -> GpMapExtract:
    """Read gp-reg-pat-prac-map as a .csv, or as the published .zip holding one .csv."""
    require_file(path, path.name)
    if zipfile.is_zipfile(path):
        check_archive(path, path.name)
        return _read_gp_map_zip(path)
    check_size(path, path.name)
    if path.suffix.casefold() == ".zip":
        raise UpstreamFormatError(
            "not a zip archive", path.name, hint="Give the zip as downloaded, or the csv inside."
        )
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return _read_gp_map_csv(stream, path.name)


def _read_gp_map_zip(path: Path) -> GpMapExtract:
    with zipfile.ZipFile(path) as archive:
        member = csv_member(archive, path.name, GP_MAP_MEMBER)
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


def _read_gp_map_csv(stream: Iterable[str], file: str) -> GpMapExtract:
    reader = csv.reader(stream, strict=True)
    rows: list[GpMapRow] = []
    parsed: dict[str, date] = {}  # each distinct EXTRACT_DATE text, parsed once
    first: tuple[str, date] | None = None
    last_line = 0  # the last line read so far; a quoted field may span lines
    try:
        header = next(reader, None)
        last_line = reader.line_num
        if header is None or all(is_blank(value) for value in header):
            raise UpstreamFormatError("no header line", file, None, 1, hint="The header is line 1.")
        check_shape(header, file, None, 1)
        table = match_header(file, None, header, _GP_MAP_COLUMNS)
        for values in reader:
            line, last_line = last_line + 1, reader.line_num
            check_shape(values, file, None, line)
            if all(is_blank(value) for value in values):
                continue
            if len(values) != len(header):
                raise table.error(
                    f"{len(values)} fields where the header has {len(header)}",
                    line,
                    None,
                    "Use the file as published: every line has as many fields as the header.",
                )
            table.check_unheaded(values, line)
            text = table.cell(values, line, "extract_date", cell_text)
            if text not in parsed:
                parsed[text] = table.cell(
                    values, line, "extract_date", _extract_date, _EXTRACT_DATE_HINT
                )
            if first is None:
                first = (text, parsed[text])
            elif parsed[text] != first[1]:
                raise table.error(
                    f"{show_value(text)} differs from the first EXTRACT_DATE, "
                    f"{show_value(first[0])}",
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
            f"not UTF-8 text ({exc.reason})", file, None, last_line + 1, hint=PUBLISHED_HINT
        ) from None
    if first is None:
        raise UpstreamFormatError("no data lines after the header", file, hint=PUBLISHED_HINT)
    return GpMapExtract(first[1], tuple(rows))


_EXTRACT_DATE_HINT = "EXTRACT_DATE is a date like 01Aug2026 or 01-Sep-20."


def _extract_date(value: object) -> date:
    return parse_extract_date(cell_text(value))


def _gp_map_row(table: HeaderTable, values: Sequence[str], line: int) -> GpMapRow:
    pcn_code = table.cell(values, line, "pcn_code", cell_code)
    # "U" / "Unallocated" marks a practice without a PCN; it is not a PCN.
    unallocated = pcn_code == UNALLOCATED_PCN_CODE
    return GpMapRow(
        practice_code=table.cell(values, line, "practice_code", cell_code),
        practice_name=table.cell(values, line, "practice_name", cell_text),
        postcode=table.cell(values, line, "postcode", cell_text),
        pcn_code=None if unallocated else pcn_code,
        pcn_name=None if unallocated else table.cell(values, line, "pcn_name", cell_text),
        unallocated=unallocated,
        sub_icb_code=table.cell(values, line, "sub_icb_code", cell_code),
        sub_icb_name=table.cell(values, line, "sub_icb_name", cell_text),
        icb_code=table.cell(values, line, "icb_code", cell_code),
        icb_name=table.cell(values, line, "icb_name", cell_text),
        line=line,
        sub_icb_ons_code=table.optional_cell(values, line, "sub_icb_ons_code", cell_text) or "",
        icb_ons_code=table.optional_cell(values, line, "icb_ons_code", cell_text) or "",
        region_code=table.optional_cell(values, line, "region_code", cell_text) or "",
        region_name=table.optional_cell(values, line, "region_name", cell_text) or "",
        region_ons_code=table.optional_cell(values, line, "region_ons_code", cell_text) or "",
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
