"""Readers of the NHS upstream files, on the Kent and Medway subsets in tests/fixtures/upstream.

Expected figures come from tests/fixtures/upstream/README.md (a copy of
shared/reference/upstream/README.md), which also describes every quirk tested here.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from openpyxl.workbook import Workbook

from pipeline.core.errors import PipelineError
from pipeline.upstream.columns import UpstreamFormatError, parse_extract_date, parse_yyyymmdd
from pipeline.upstream.readers import (
    EpcnExtract,
    GpMapExtract,
    filter_epcn,
    filter_gp_map,
    read_epcn,
    read_gp_map,
)

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"
EPCN = {
    "EPCN22": FIXTURES / "epcn_2022-04-27_kent_medway.xlsx",
    "EPCN23": FIXTURES / "epcn_2023-01-26_kent_medway.xlsx",
    "EPCN25": FIXTURES / "epcn_2025-01-20_kent_medway.xlsx",
}
MAP22 = FIXTURES / "gp-reg-pat-prac-map_2022-01-01_kent_medway.csv"
MAP26 = FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.csv"
MAP26_ZIP = FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.zip"
KENT_AND_MEDWAY = frozenset({"QKS", "91Q", "09C", "09E", "09J", "09W", "10A", "10D", "10E", "99J"})
PCN_DETAILS = "PCNDetails"
PARTNERS = "PCN Core Partner Details"


@cache
def epcn(key: str) -> EpcnExtract:
    return read_epcn(EPCN[key])


@cache
def gp_map(path: Path) -> GpMapExtract:
    return read_gp_map(path)


def modified_copy(
    tmp_path: Path, key: str, change: Callable[[Workbook], None], name: str = "epcn.xlsx"
) -> Path:
    """A copy of an ePCN fixture changed with openpyxl, as a person re-saving it would."""
    workbook = openpyxl.load_workbook(EPCN[key])
    change(workbook)
    path = tmp_path / name
    workbook.save(path)
    return path


def write_csv(tmp_path: Path, text: str, name: str = "map.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def map_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# ---------------------------------------------------------------------------------------------
# Counts and vintages, as the README gives them


@pytest.mark.parametrize(
    ("key", "pcns", "open_pcns", "rows", "no_end", "commissioners", "distinct_pcns"),
    [
        ("EPCN22", 44, 41, 222, 190, {"91Q": 42, "10D": 2}, 44),
        ("EPCN23", 46, 42, 229, 185, {"91Q": 44, "10D": 2}, 46),
        ("EPCN25", 48, 43, 239, 176, {"91Q": 46, "10D": 2}, 48),
    ],
)
def test_epcn_counts_are_the_readmes(
    key: str,
    pcns: int,
    open_pcns: int,
    rows: int,
    no_end: int,
    commissioners: dict[str, int],
    distinct_pcns: int,
) -> None:
    extract = epcn(key)
    assert len(extract.pcns) == pcns
    assert sum(pcn.close_date is None for pcn in extract.pcns) == open_pcns
    assert Counter(pcn.commissioner_code for pcn in extract.pcns) == commissioners
    assert len(extract.relationships) == rows
    assert sum(rel.end_date is None for rel in extract.relationships) == no_end
    assert len({rel.practice_code for rel in extract.relationships}) == 206
    assert len({rel.pcn_code for rel in extract.relationships}) == distinct_pcns
    assert sum(rel.parents_match is False for rel in extract.relationships) == 9
    # Rows keep their worksheet row: the header is row 1, data start on row 2.
    assert [pcn.row for pcn in extract.pcns] == list(range(2, pcns + 2))
    assert [rel.row for rel in extract.relationships] == list(range(2, rows + 2))


@pytest.mark.parametrize(
    ("key", "vintage"),
    [("EPCN22", date(2022, 4, 27)), ("EPCN23", date(2023, 1, 26)), ("EPCN25", date(2025, 1, 20))],
)
def test_epcn_vintage_is_the_last_saved_date_as_openpyxl_reports_it(
    key: str, vintage: date
) -> None:
    assert epcn(key).vintage == vintage
    workbook = openpyxl.load_workbook(EPCN[key], read_only=True)
    try:
        assert workbook.properties.modified.date() == vintage
    finally:
        workbook.close()


CORE = (
    '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.'
    'openxmlformats.org/package/2006/metadata/core-properties" xmlns:dcterms="http://purl.org/'
    'dc/terms/">{}</cp:coreProperties>'
)


def with_core_properties(tmp_path: Path, properties: str) -> Path:
    """A copy of EPCN22 whose docProps/core.xml holds `properties`."""
    path = tmp_path / "epcn.xlsx"
    with zipfile.ZipFile(EPCN["EPCN22"]) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, properties if info.filename == "docProps/core.xml" else data)
    return path


def test_epcn_vintage_is_none_when_the_workbook_does_not_say(tmp_path: Path) -> None:
    # openpyxl reports the time of reading for a missing modified date; the reader must not.
    path = with_core_properties(tmp_path, CORE.format(""))
    assert read_epcn(path).vintage is None
    assert len(read_epcn(path).pcns) == 44
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        assert workbook.properties.modified.date() != date(2022, 4, 27)  # openpyxl's "now"
    finally:
        workbook.close()


@pytest.mark.parametrize(
    ("modified", "vintage"),
    [
        ("2022-04-27T23:30:00-02:00", date(2022, 4, 28)),
        ("2022-04-27T23:30:00", date(2022, 4, 27)),  # no zone: taken as UTC, as openpyxl does
    ],
)
def test_epcn_vintage_is_the_utc_date(tmp_path: Path, modified: str, vintage: date) -> None:
    properties = CORE.format(f"<dcterms:modified>{modified}</dcterms:modified>")
    assert read_epcn(with_core_properties(tmp_path, properties)).vintage == vintage


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        (
            CORE.format("<dcterms:modified>27/04/2022</dcterms:modified>"),
            'last-saved time "27/04/2022" in docProps/core.xml is not a date and time',
        ),
        ("<cp:coreProperties", "docProps/core.xml is not XML"),
    ],
)
def test_epcn_unreadable_vintage(tmp_path: Path, properties: str, problem: str) -> None:
    assert raised(with_core_properties(tmp_path, properties)).problem.startswith(problem)


@pytest.mark.parametrize(
    ("path", "vintage", "rows", "unallocated", "pcn_codes"),
    [
        (MAP22, date(2022, 1, 1), 194, 3, 42),
        (MAP26, date(2026, 8, 1), 175, 1, 45),
        (MAP26_ZIP, date(2026, 8, 1), 175, 1, 45),
    ],
)
def test_gp_map_counts_are_the_readmes(
    path: Path, vintage: date, rows: int, unallocated: int, pcn_codes: int
) -> None:
    extract = gp_map(path)
    assert extract.vintage == vintage
    assert len(extract.rows) == rows
    assert sum(row.unallocated for row in extract.rows) == unallocated
    assert len({row.pcn_code for row in extract.rows if row.pcn_code}) == pcn_codes
    assert {(row.sub_icb_code, row.icb_code) for row in extract.rows} == {("91Q", "QKS")}
    assert [row.line for row in extract.rows] == list(range(2, rows + 2))


# ---------------------------------------------------------------------------------------------
# One test per quirk of the ePCN workbook


def test_epcn_dates_are_text_cells_parsed_as_dates() -> None:
    workbook = openpyxl.load_workbook(EPCN["EPCN22"], read_only=True)
    try:
        open_date = workbook[PCN_DETAILS]["E2"].value
    finally:
        workbook.close()
    assert open_date == "20191001"  # text in a General cell, not an Excel date
    assert epcn("EPCN22").pcns[0].open_date == date(2019, 10, 1)


def test_epcn_both_empty_forms_read_as_no_date() -> None:
    workbook = openpyxl.load_workbook(EPCN["EPCN22"], read_only=True)
    try:
        close_date = workbook[PCN_DETAILS]["F3"].value  # U47228 ABC PCN, open
        end_date = workbook[PARTNERS]["J2"].value  # G82058 in ABC PCN, current
    finally:
        workbook.close()
    assert close_date == ""
    assert end_date is None
    extract = epcn("EPCN22")
    assert extract.pcns[1].code == "U47228"
    assert extract.pcns[1].close_date is None
    assert extract.relationships[0].practice_code == "G82058"
    assert extract.relationships[0].end_date is None


@pytest.mark.parametrize("key", EPCN)
def test_epcn_match_column_is_a_boolean_cell(key: str) -> None:
    relationships = epcn(key).relationships
    assert {type(rel.parents_match) for rel in relationships} == {bool}
    for rel in relationships:
        assert rel.parents_match == (rel.practice_parent_code == rel.pcn_parent_code)


@pytest.mark.parametrize(
    ("key", "closed"),
    [
        ("EPCN22", {"U57426", "U08744", "U01315"}),
        ("EPCN23", {"U57426", "U08744", "U01315", "U92034"}),
        ("EPCN25", {"U57426", "U08744", "U01315", "U92034", "U82359"}),
    ],
)
def test_epcn_closed_records_are_included(key: str, closed: set[str]) -> None:
    extract = epcn(key)
    by_code = {pcn.code: pcn for pcn in extract.pcns}
    assert {pcn.code for pcn in extract.pcns if pcn.close_date} == closed
    assert by_code["U57426"].name == "SITTINGBOURNE EAST PCN"
    assert by_code["U57426"].commissioner_name == "NHS SWALE CCG"
    assert (by_code["U57426"].open_date, by_code["U57426"].close_date) == (
        date(2019, 10, 1),
        date(2020, 3, 31),
    )
    assert by_code["U01315"].close_date == date(2022, 3, 31)
    if "U82359" in closed:
        assert by_code["U82359"].close_date == date(2023, 11, 30)
    ended = [rel for rel in extract.relationships if rel.end_date is not None]
    assert len(ended) == len(extract.relationships) - {"EPCN22": 190, "EPCN23": 185}.get(key, 176)


def test_epcn_end_date_can_lie_after_the_files_own_date() -> None:
    extract = epcn("EPCN22")
    (greensands,) = [
        rel
        for rel in extract.relationships
        if (rel.practice_code, rel.pcn_code) == ("G82024", "U92034")
    ]
    assert greensands.end_date == date(2022, 6, 29)
    assert extract.vintage is not None and greensands.end_date > extract.vintage


@pytest.mark.parametrize("key", ["EPCN23", "EPCN25"])
def test_epcn_same_pair_in_several_periods(key: str) -> None:
    relationships = epcn(key).relationships
    periods = sorted(
        (rel.start_date, rel.end_date)
        for rel in relationships
        if (rel.practice_code, rel.pcn_code) == ("G82024", "U92034")
    )
    assert periods == [
        (date(2019, 10, 1), date(2022, 6, 29)),
        (date(2022, 6, 30), date(2022, 11, 8)),
    ]
    (athena,) = [
        rel for rel in relationships if (rel.practice_code, rel.pcn_code) == ("G82024", "U92100")
    ]
    assert athena.start_date == date(2022, 11, 9)
    one_day = [rel for rel in relationships if rel.practice_code == "G82727"]
    assert (date(2019, 10, 1), date(2019, 10, 2)) in [(r.start_date, r.end_date) for r in one_day]


@pytest.mark.parametrize("key", EPCN)
def test_epcn_parent_codes_can_disagree(key: str) -> None:
    disagreeing = [
        rel for rel in epcn(key).relationships if rel.practice_parent_code != rel.pcn_parent_code
    ]
    assert len(disagreeing) == 9
    assert {(rel.practice_parent_code, rel.pcn_parent_code) for rel in disagreeing} == {
        ("91Q", "10D")
    }
    assert {rel.pcn_code for rel in disagreeing} == {"U57426", "U08744"}
    assert all(rel.parents_match is False for rel in disagreeing)


@pytest.mark.parametrize(
    ("key", "commissioner_header", "commissioner_name"),
    [
        ("EPCN22", "Current Clinical \nCommissioning \nGroup Code", "NHS KENT AND MEDWAY CCG"),
        ("EPCN23", "Current Sub ICB Loc Code", "NHS KENT AND MEDWAY ICB - 91Q"),
    ],
)
def test_epcn_headers_with_line_breaks_trailing_spaces_and_either_wording(
    key: str, commissioner_header: str, commissioner_name: str
) -> None:
    workbook = openpyxl.load_workbook(EPCN[key], read_only=True)
    try:
        assert workbook[PCN_DETAILS]["C1"].value == commissioner_header
        assert workbook[PARTNERS]["K1"].value.endswith("Match ")
        assert "\n" in workbook[PARTNERS]["A1"].value
    finally:
        workbook.close()
    assert epcn(key).pcns[-1].commissioner_code in {"91Q", "10D"}
    assert commissioner_name in {pcn.commissioner_name for pcn in epcn(key).pcns}


def test_epcn_headers_match_with_cr_lf_case_and_spacing_changed(tmp_path: Path) -> None:
    def respell(workbook: Workbook) -> None:
        for sheet in workbook.worksheets:
            for cell in sheet[1]:
                if isinstance(cell.value, str):
                    cell.value = "  " + cell.value.replace("\n", " \r\n  ").upper() + "\t"

    extract = read_epcn(modified_copy(tmp_path, "EPCN22", respell))
    assert extract.pcns == epcn("EPCN22").pcns
    assert extract.relationships == epcn("EPCN22").relationships


@pytest.mark.parametrize("key", ["EPCN23", "EPCN25"])
def test_epcn_extra_empty_column_m_is_allowed(key: str) -> None:
    workbook = openpyxl.load_workbook(EPCN[key])
    assert "M" in workbook[PCN_DETAILS].column_dimensions  # declared, with no cells
    assert len(epcn(key).pcns) == {"EPCN23": 46, "EPCN25": 48}[key]


def test_epcn_column_m_with_empty_cells_is_allowed(tmp_path: Path) -> None:
    def add_m(workbook: Workbook) -> None:
        sheet = workbook[PCN_DETAILS]
        sheet["M1"] = ""
        sheet["M2"] = ""
        sheet["M3"].number_format = "@"  # styled, no value

    assert read_epcn(modified_copy(tmp_path, "EPCN23", add_m)).pcns == epcn("EPCN23").pcns


def test_epcn_value_under_no_header_is_refused(tmp_path: Path) -> None:
    def add_value(workbook: Workbook) -> None:
        workbook[PCN_DETAILS]["M5"] = "stray"

    path = modified_copy(tmp_path, "EPCN23", add_value)
    with pytest.raises(UpstreamFormatError) as caught:
        read_epcn(path)
    error = caught.value
    assert (error.file, error.sheet, error.row, error.column) == ("epcn.xlsx", PCN_DETAILS, 5, "M")
    assert str(error) == (
        'epcn.xlsx, sheet "PCNDetails", row 5, column M: "stray" is in a column with no header'
    )


def test_epcn_rows_hidden_by_a_saved_filter_are_read() -> None:
    workbook = openpyxl.load_workbook(EPCN["EPCN25"])
    sheet = workbook[PARTNERS]
    assert all(sheet.row_dimensions[row].hidden for row in range(2, 241))
    assert sheet.auto_filter.filterColumn  # the filter that hides them
    assert len(epcn("EPCN25").relationships) == 239


def test_epcn_fully_empty_rows_are_skipped(tmp_path: Path) -> None:
    def blank_row(workbook: Workbook) -> None:
        sheet = workbook[PCN_DETAILS]
        sheet.insert_rows(5)
        sheet["F5"] = ""

    extract = read_epcn(modified_copy(tmp_path, "EPCN22", blank_row))
    assert len(extract.pcns) == 44
    assert [pcn.row for pcn in extract.pcns][2:5] == [4, 6, 7]  # rows keep their numbers


# ---------------------------------------------------------------------------------------------
# One test per quirk of gp-reg-pat-prac-map


def test_gp_map_schema_change_between_2022_and_2026() -> None:
    assert map_lines(MAP22)[0].split(",")[8:13] == [
        "CCG_CODE",
        "CCG_NAME",
        "ONS_STP_CODE",
        "STP_CODE",
        "STP_NAME",
    ]
    assert map_lines(MAP26)[0].split(",")[-1] == "SUPPLIER_NAME"
    old, new = gp_map(MAP22).rows[0], gp_map(MAP26).rows[0]
    assert (old.sub_icb_code, old.sub_icb_name, old.icb_code, old.icb_name) == (
        "91Q",
        "NHS Kent and Medway CCG",
        "QKS",
        "Kent and Medway",
    )
    assert (new.sub_icb_code, new.sub_icb_name, new.icb_code, new.icb_name) == (
        "91Q",
        "NHS Kent and Medway ICB - 91Q",
        "QKS",
        "NHS Kent and Medway Integrated Care Board",
    )


def test_gp_map_supplier_name_is_optional(tmp_path: Path) -> None:
    lines = [line.rsplit(",", 1)[0] for line in map_lines(MAP26)]
    extract = read_gp_map(write_csv(tmp_path, "\n".join(lines) + "\n"))
    assert extract.rows == gp_map(MAP26).rows


def test_gp_map_lf_and_crlf_line_endings() -> None:
    assert b"\r\n" not in MAP22.read_bytes()
    assert MAP26.read_bytes().count(b"\r\n") == 176
    for path in (MAP22, MAP26):
        rows = gp_map(path).rows
        assert not any("\r" in row.icb_name or "\n" in row.icb_name for row in rows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01Jan2022", date(2022, 1, 1)),
        ("01Aug2026", date(2026, 8, 1)),
        ("01-Sep-20", date(2020, 9, 1)),
        ("01-SEP-2020", date(2020, 9, 1)),
        ("1Dec2021", date(2021, 12, 1)),
    ],
)
def test_extract_date_forms(text: str, expected: date) -> None:
    assert parse_extract_date(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2022-01-01", "01/01/2022", "01Jan2022 ", "01-Jan2022", "01Janu2022", "31Feb2022"]
)
def test_extract_date_other_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="extract date"):
        parse_extract_date(text)


def test_gp_map_older_extract_date_form_is_read(tmp_path: Path) -> None:
    text = MAP22.read_text().replace(",01Jan2022,", ",01-Sep-20,")
    assert read_gp_map(write_csv(tmp_path, text)).vintage == date(2020, 9, 1)


@pytest.mark.parametrize(
    ("path", "unallocated"),
    [(MAP22, {"G82067", "Y00449", "Y02506"}), (MAP26, {"G82067"})],
)
def test_gp_map_u_unallocated_is_not_a_pcn(path: Path, unallocated: set[str]) -> None:
    rows = [row for row in gp_map(path).rows if row.unallocated]
    assert {row.practice_code for row in rows} == unallocated
    assert all(row.pcn_code is None and row.pcn_name is None for row in rows)
    assert ",U,Unallocated," in path.read_text()
    assert all(row.pcn_code and row.pcn_name for row in gp_map(path).rows if not row.unallocated)


@pytest.mark.parametrize("path", [MAP22, MAP26])
def test_gp_map_quoted_commas_and_unquoted_apostrophes(path: Path) -> None:
    names = {row.practice_code: row.practice_name for row in gp_map(path).rows}
    assert names["G82808"] == "OAKFIELD HEALTH CENTRE, PRACTICE 2"
    assert names["G82002"] == "ST JAMES' SURGERY"


def test_gp_map_zip_reads_like_the_csv_inside() -> None:
    with zipfile.ZipFile(MAP26_ZIP) as archive:
        assert archive.namelist() == ["gp-reg-pat-prac-map.csv"]
    assert gp_map(MAP26_ZIP) == gp_map(MAP26)


def test_gp_map_zip_entry_is_found_by_name(tmp_path: Path) -> None:
    path = tmp_path / "publication.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "notes")
        archive.writestr("other/summary.csv", "A,B\n1,2\n")
        archive.write(MAP22, "data/gp-reg-pat-prac-map.csv")
    assert read_gp_map(path).rows == gp_map(MAP22).rows


def test_gp_map_error_in_a_zip_names_the_zip_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "gp-reg-pat-prac-map.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("gp-reg-pat-prac-map.csv", MAP22.read_text().replace("01Jan2022", "x", 1))
    with pytest.raises(UpstreamFormatError) as caught:
        read_gp_map(path)
    assert caught.value.file == "gp-reg-pat-prac-map.zip (gp-reg-pat-prac-map.csv)"
    assert (caught.value.row, caught.value.column) == (2, "B")


def test_gp_map_blank_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    lines = map_lines(MAP22)
    path = write_csv(tmp_path, "\n".join([*lines[:3], "", *lines[3:]]) + "\n")
    rows, original = read_gp_map(path).rows, gp_map(MAP22).rows
    assert rows[:2] == original[:2]
    assert rows[2:] == tuple(replace(row, line=row.line + 1) for row in original[2:])


def test_gp_map_damaged_zip_entry(tmp_path: Path) -> None:
    path = tmp_path / "gp-reg-pat-prac-map.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("gp-reg-pat-prac-map.csv", MAP22.read_bytes())
    data = bytearray(path.read_bytes())
    at = data.index(b"G82006")
    data[at : at + 6] = b"G82007"  # the CRC no longer matches
    path.write_bytes(bytes(data))
    error = raised(path, read_gp_map)
    assert error.problem.startswith("cannot read the zip entry (Bad CRC-32")


def test_gp_map_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_bytes(b"\xef\xbb\xbf" + MAP22.read_bytes())
    assert read_gp_map(path).rows == gp_map(MAP22).rows


# ---------------------------------------------------------------------------------------------
# Broken ePCN workbooks


def raised(path: Path, reader: Callable[[Path], object] = read_epcn) -> UpstreamFormatError:
    with pytest.raises(UpstreamFormatError) as caught:
        reader(path)
    assert isinstance(caught.value, PipelineError)
    assert caught.value.hint
    return caught.value


def test_renamed_sheet(tmp_path: Path) -> None:
    def rename(workbook: Workbook) -> None:
        workbook[PCN_DETAILS].title = "PCN Details"

    error = raised(modified_copy(tmp_path, "EPCN22", rename))
    assert (error.file, error.sheet, error.row, error.column) == (
        "epcn.xlsx",
        PCN_DETAILS,
        None,
        None,
    )
    assert str(error) == (
        'epcn.xlsx, sheet "PCNDetails": no such sheet; the workbook has "PCN Details", '
        '"PCN Core Partner Details"'
    )


def test_date_that_is_not_yyyymmdd(tmp_path: Path) -> None:
    def iso_date(workbook: Workbook) -> None:
        workbook[PCN_DETAILS]["E7"] = "2019-10-01"

    error = raised(modified_copy(tmp_path, "EPCN22", iso_date))
    assert (error.file, error.sheet, error.row, error.column, error.header) == (
        "epcn.xlsx",
        PCN_DETAILS,
        7,
        "E",
        "Open Date",
    )
    assert str(error) == (
        'epcn.xlsx, sheet "PCNDetails", row 7, column E "Open Date": '
        '"2019-10-01" is not a YYYYMMDD date'
    )
    assert "YYYYMMDD" in error.hint


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (20220629, "the number 20220629 is not a YYYYMMDD date"),
        (date(2022, 6, 29), "the Excel date 2022-06-29T00:00:00 is not a YYYYMMDD date"),
        (True, "the boolean TRUE is not a YYYYMMDD date"),
        ("20220631", '"20220631" is not a YYYYMMDD date (no such day)'),
        (" 20220629", '" 20220629" is not a YYYYMMDD date'),
    ],
)
def test_partner_end_date_that_is_not_yyyymmdd_text(
    tmp_path: Path, value: int | date | str, problem: str
) -> None:
    def set_end(workbook: Workbook) -> None:
        workbook[PARTNERS]["J3"] = value

    error = raised(modified_copy(tmp_path, "EPCN23", set_end))
    assert (error.sheet, error.row, error.column) == (PARTNERS, 3, "J")
    assert error.header == "Practice to PCN Relationship End Date"
    assert problem in str(error)


def test_extra_unknown_header(tmp_path: Path) -> None:
    def add_header(workbook: Workbook) -> None:
        workbook[PCN_DETAILS]["M1"] = "Comments"

    error = raised(modified_copy(tmp_path, "EPCN25", add_header))
    assert (error.file, error.sheet, error.row, error.column, error.header) == (
        "epcn.xlsx",
        PCN_DETAILS,
        1,
        "M",
        "Comments",
    )
    assert str(error) == 'epcn.xlsx, sheet "PCNDetails", row 1, column M "Comments": ' + (
        'unknown column "Comments"'
    )


def test_missing_header(tmp_path: Path) -> None:
    def drop_close_date(workbook: Workbook) -> None:
        workbook[PCN_DETAILS].delete_cols(6)

    error = raised(modified_copy(tmp_path, "EPCN22", drop_close_date))
    assert (error.file, error.sheet, error.row, error.column) == ("epcn.xlsx", PCN_DETAILS, 1, None)
    assert str(error).startswith(
        'epcn.xlsx, sheet "PCNDetails", row 1: no "Close Date" column; the header row has '
        '"PCN Code", "PCN Name", "Current Clinical Commissioning Group Code",'
    )


def test_missing_header_names_every_wording(tmp_path: Path) -> None:
    def drop_parent(workbook: Workbook) -> None:
        workbook[PARTNERS].delete_cols(7)

    error = raised(modified_copy(tmp_path, "EPCN23", drop_parent))
    assert error.sheet == PARTNERS
    assert 'no "PCN Parent CCG Code" or "PCN Parent Sub ICB Loc Code" column' in str(error)


def test_repeated_header(tmp_path: Path) -> None:
    def repeat(workbook: Workbook) -> None:
        workbook[PCN_DETAILS]["M1"] = "PCN code"

    error = raised(modified_copy(tmp_path, "EPCN23", repeat))
    assert (error.row, error.column) == (1, "M")
    assert 'column "PCN code" repeats column A "PCN Code"' in str(error)


def test_empty_code(tmp_path: Path) -> None:
    def empty(workbook: Workbook) -> None:
        workbook[PARTNERS]["E4"] = None

    error = raised(modified_copy(tmp_path, "EPCN22", empty))
    assert (error.sheet, error.row, error.column, error.header) == (PARTNERS, 4, "E", "PCN Code")
    assert "a code is required" in str(error)


def test_match_column_is_optional(tmp_path: Path) -> None:
    def drop_match(workbook: Workbook) -> None:
        workbook[PARTNERS].delete_cols(11)

    relationships = read_epcn(modified_copy(tmp_path, "EPCN22", drop_match)).relationships
    assert {rel.parents_match for rel in relationships} == {None}
    assert relationships == tuple(
        replace(rel, parents_match=None) for rel in epcn("EPCN22").relationships
    )


def test_corrupt_sheet_xml(tmp_path: Path) -> None:
    path = tmp_path / "epcn.xlsx"
    with zipfile.ZipFile(EPCN["EPCN22"]) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                at = data.index(b'<c r="A5"')
                data = data[:at] + b'<c r="A5" t="n"><v>not a number</v></c>' + data[at:]
            target.writestr(info, data)
    error = raised(path)
    assert (error.sheet, error.row, error.column) == (PARTNERS, 5, None)
    assert error.problem.startswith("cannot read the sheet (ValueError")


def test_name_that_is_not_text(tmp_path: Path) -> None:
    def number(workbook: Workbook) -> None:
        workbook[PCN_DETAILS]["B2"] = 123

    error = raised(modified_copy(tmp_path, "EPCN22", number))
    assert (error.sheet, error.row, error.column, error.header) == (PCN_DETAILS, 2, "B", "PCN Name")
    assert error.problem == "the number 123 is not text"


def test_match_that_is_not_a_boolean(tmp_path: Path) -> None:
    def text(workbook: Workbook) -> None:
        workbook[PARTNERS]["K2"] = "TRUE"

    error = raised(modified_copy(tmp_path, "EPCN22", text))
    assert (error.sheet, error.row, error.column) == (PARTNERS, 2, "K")
    assert '"TRUE" is not TRUE or FALSE' in str(error)


def test_empty_sheet(tmp_path: Path) -> None:
    def empty(workbook: Workbook) -> None:
        del workbook[PARTNERS]
        workbook.create_sheet(PARTNERS)

    error = raised(modified_copy(tmp_path, "EPCN22", empty))
    assert (error.sheet, error.row) == (PARTNERS, 1)
    assert "no header row" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    error = raised(tmp_path / "ePCN.xlsx")
    assert (error.file, error.sheet, error.row) == ("ePCN.xlsx", None, None)
    assert str(error).startswith("ePCN.xlsx: no such file")
    assert raised(tmp_path, read_gp_map).problem.startswith("not a file")


def test_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "ePCN.xlsx"
    shutil.copy(MAP22, path)
    assert str(raised(path)) == "ePCN.xlsx: not an xlsx workbook (not a zip archive)"
    assert "not a readable xlsx workbook" in str(raised(MAP26_ZIP))


def test_truncated_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "ePCN.xlsx"
    path.write_bytes(EPCN["EPCN22"].read_bytes()[:-200])
    assert "not an xlsx workbook" in str(raised(path))


# ---------------------------------------------------------------------------------------------
# Broken mapping files


@pytest.mark.parametrize(
    ("change", "line", "column", "problem"),
    [
        (
            lambda text: text.replace("01Jan2022", "2022-01-01", 3),
            2,
            "B",
            '"2022-01-01" is not an extract date like 01Aug2026 or 01-Sep-20',
        ),
        (
            lambda text: text.replace(",01Jan2022,G82006,", ",01Feb2022,G82006,"),
            3,
            "B",
            '"01Feb2022" differs from the first EXTRACT_DATE, "01Jan2022"',
        ),
        (
            lambda text: text.replace("COMM_REGION_NAME", "COMM_REGION_NAME,NOTES", 1),
            1,
            "Q",
            'unknown column "NOTES"',
        ),
        (
            lambda text: text.replace(",G82006,", ",G82006,EXTRA,"),
            3,
            None,
            "17 fields where the header has 16",
        ),
        (
            lambda text: text.replace(",G82006,", ",,"),
            3,
            "C",
            "the cell is empty; a code is required here",
        ),
        (lambda text: text.replace(",PCN_CODE,", ",PCN,"), 1, "F", 'unknown column "PCN"'),
        (
            lambda text: text.replace("_NAME\n", "_NAME,\n", 1).replace(
                "South East\n", "South East,x\n"
            ),
            2,
            "Q",
            '"x" is in a column with no header',
        ),
    ],
)
def test_broken_gp_map(
    tmp_path: Path, change: Callable[[str], str], line: int, column: str | None, problem: str
) -> None:
    error = raised(write_csv(tmp_path, change(MAP22.read_text())), read_gp_map)
    assert (error.file, error.sheet, error.row, error.column) == ("map.csv", None, line, column)
    assert str(error).startswith(f"map.csv, line {line}")
    assert error.problem == problem


def test_gp_map_missing_header_names_both_schemas(tmp_path: Path) -> None:
    header = map_lines(MAP26)[0].split(",")
    del header[8]  # SUB_ICB_LOCATION_CODE
    error = raised(write_csv(tmp_path, ",".join(header) + "\n"), read_gp_map)
    assert (error.row, error.column) == (1, None)
    assert error.problem.startswith('no "CCG_CODE" or "SUB_ICB_LOCATION_CODE" column')


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "no header line"),
        (MAP22.read_bytes().splitlines(keepends=True)[0], "no data lines after the header"),
        (MAP22.read_bytes().replace(b"ST JAMES'", b"ST JAMES\xe9"), "not UTF-8 text"),
        (MAP22.read_bytes().replace(b',"OAKFIELD', b',"OAK"FIELD'), "not valid CSV"),
    ],
)
def test_unreadable_gp_map(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "map.csv"
    path.write_bytes(content)
    assert raised(path, read_gp_map).problem.startswith(problem)


def test_zip_without_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "gp-reg-pat-prac-map.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("gp-reg-pat-prac-map.txt", "nothing")
    error = raised(path, read_gp_map)
    assert str(error) == (
        'gp-reg-pat-prac-map.zip: no .csv entry in the zip (entries: "gp-reg-pat-prac-map.txt")'
    )


def test_zip_with_two_candidate_csvs(tmp_path: Path) -> None:
    path = tmp_path / "gp-reg-pat-prac-map.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x")
        archive.writestr("b.csv", "y")
    assert "no single gp-reg-pat-prac-map.csv entry" in str(raised(path, read_gp_map))


def test_a_zip_that_is_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "gp-reg-pat-prac-map.zip"
    shutil.copy(MAP22, path)
    assert str(raised(path, read_gp_map)) == "gp-reg-pat-prac-map.zip: not a zip archive"


# ---------------------------------------------------------------------------------------------
# Filters


@pytest.mark.parametrize("key", EPCN)
def test_filter_epcn_keeps_a_subset_whole(key: str) -> None:
    assert filter_epcn(epcn(key), KENT_AND_MEDWAY) == epcn(key)


def test_filter_epcn_by_commissioner_and_parents() -> None:
    extract = epcn("EPCN22")
    swale = filter_epcn(extract, {"10D"})
    assert {pcn.code for pcn in swale.pcns} == {"U57426", "U08744"}
    # The practices' parent is 91Q; they are kept because their PCN's parent is 10D.
    assert {rel.pcn_code for rel in swale.relationships} == {"U57426", "U08744"}
    assert len(swale.relationships) == 9
    assert swale.vintage == extract.vintage
    kent = filter_epcn(extract, {"91Q"})
    assert len(kent.pcns) == 42
    assert len(kent.relationships) == 222  # every practice's parent is 91Q
    assert filter_epcn(extract, {"72Q", "QKK"}) == EpcnExtract(extract.vintage, (), ())


def test_filter_epcn_keeps_relationships_of_kept_pcns() -> None:
    extract = epcn("EPCN22")
    row = next(rel for rel in extract.relationships if rel.pcn_code == "U47228")
    elsewhere = replace(row, practice_parent_code="72Q", pcn_parent_code="72Q")
    moved = replace(extract, relationships=(*extract.relationships, elsewhere))
    assert filter_epcn(moved, {"91Q"}).relationships[-1] == elsewhere  # its PCN is kept
    assert filter_epcn(moved, {"72Q"}).relationships == (elsewhere,)


def test_filter_gp_map_by_sub_icb_or_icb() -> None:
    extract = gp_map(MAP26)
    assert filter_gp_map(extract, KENT_AND_MEDWAY) == extract
    assert filter_gp_map(extract, {"QKS"}) == extract
    assert filter_gp_map(extract, {"91Q"}) == extract
    assert filter_gp_map(extract, {"QKK", "72Q"}) == GpMapExtract(extract.vintage, ())


# ---------------------------------------------------------------------------------------------
# National files: size and speed


def renamed(value: object, copy: int) -> object:
    """A value of copy `copy` of Kent and Medway: copy 0 is itself, the others stand elsewhere."""
    if not copy or not isinstance(value, str):
        return value
    if value in {"91Q", "10D"}:
        return f"{copy:02d}X"
    if len(value) == 6 and value[0] in "UGY" and value[1:].isdigit():
        return f"X{copy:02d}{value}"  # PCN and practice codes
    return value


def test_filters_find_one_ics_in_a_national_file(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    source = openpyxl.load_workbook(EPCN["EPCN25"], read_only=True)
    try:
        for name in (PCN_DETAILS, PARTNERS):
            target = workbook.create_sheet(name)
            header, *rows = source[name].iter_rows(values_only=True)
            target.append(header)
            for copy in (1, 0, 2):  # Kent and Medway between two other places
                for row in rows:
                    target.append([renamed(value, copy) for value in row])
    finally:
        source.close()
    path = tmp_path / "ePCN.xlsx"
    workbook.save(path)
    national = read_epcn(path)
    assert (len(national.pcns), len(national.relationships)) == (3 * 48, 3 * 239)
    kent = filter_epcn(national, KENT_AND_MEDWAY)
    assert [replace(pcn, row=0) for pcn in kent.pcns] == [
        replace(pcn, row=0) for pcn in epcn("EPCN25").pcns
    ]
    assert [rel.row for rel in kent.relationships] == list(range(241, 480))
    assert len(filter_epcn(national, {"01X"}).relationships) == 239


ROW = re.compile(r'<row r="[0-9]+".*?</row>', re.S)
REFERENCE = re.compile(r'(<(?:row|c) r="[A-Z]*)([0-9]+)"')


def shifted(row: str, shift: int) -> str:
    return REFERENCE.sub(lambda m: f'{m.group(1)}{int(m.group(2)) + shift}"', row)


def scaled_sheet(xml: str, copies: int) -> str:
    """The sheet XML with its data rows repeated and renumbered; its dimension is left stale."""
    rows = list(ROW.finditer(xml))
    data = [row.group(0) for row in rows[1:]]
    repeated = [shifted(row, copy * len(data)) for copy in range(copies) for row in data]
    return xml[: rows[1].start()] + "".join(repeated) + xml[rows[-1].end() :]


def test_a_national_size_epcn_is_read_whole_past_its_stale_dimension(tmp_path: Path) -> None:
    """1,392 PCNs and 7,648 partner rows, as Excel writes them (shared strings)."""
    path = tmp_path / "ePCN.xlsx"
    copies = {"xl/worksheets/sheet1.xml": 29, "xl/worksheets/sheet2.xml": 32}
    with zipfile.ZipFile(EPCN["EPCN25"]) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in copies:
                data = scaled_sheet(data.decode(), copies[info.filename]).encode()
            target.writestr(info, data, zipfile.ZIP_DEFLATED)
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        assert workbook[PARTNERS].max_row == 240  # the saved dimension, now stale
    finally:
        workbook.close()
    # every row is read, though the saved dimension says fewer (the time is make bench's)
    extract = read_epcn(path)
    assert (len(extract.pcns), len(extract.relationships)) == (48 * 29, 239 * 32)
    assert extract.relationships[-1].row == 239 * 32 + 1
    assert extract.relationships[-1] == replace(epcn("EPCN25").relationships[-1], row=7649)


def test_a_national_size_gp_map_is_read_whole(tmp_path: Path) -> None:
    lines = MAP26.read_bytes().splitlines(keepends=True)
    body = [
        line if copy == 0 else line.replace(b",91Q,", b",%02dX," % copy).replace(b",QKS,", b",QXX,")
        for copy in range(38)
        for line in lines[1:]
    ]
    path = tmp_path / "gp-reg-pat-prac-map.csv"
    path.write_bytes(b"".join([lines[0], *body]))
    extract = read_gp_map(path)
    assert len(extract.rows) == 175 * 38
    assert filter_gp_map(extract, {"QKS"}).rows == gp_map(MAP26).rows


# ---------------------------------------------------------------------------------------------
# Date parsers: properties


@given(st.dates())
def test_any_date_written_yyyymmdd_parses_back(day: date) -> None:
    assert parse_yyyymmdd(f"{day.year:04d}{day.month:02d}{day.day:02d}") == day


@given(st.text(alphabet="0123456789", max_size=20).filter(lambda text: len(text) != 8))
def test_digits_of_the_wrong_length_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a YYYYMMDD date"):
        parse_yyyymmdd(text)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_eight_digits_parse_exactly_when_they_are_a_calendar_date(text: str) -> None:
    try:
        real: date | None = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        real = None
    if real is None:
        with pytest.raises(ValueError):
            parse_yyyymmdd(text)
    else:
        assert parse_yyyymmdd(text) == real


@pytest.mark.parametrize("text", ["20260801", "19991231", "20240229"])
def test_real_dates_in_eight_digits_are_accepted(text: str) -> None:
    assert parse_yyyymmdd(text).strftime("%Y%m%d") == text


@given(st.text(max_size=12))
def test_anything_but_eight_ascii_digits_is_refused(text: str) -> None:
    assume(not (len(text) == 8 and all(char in "0123456789" for char in text)))
    with pytest.raises(ValueError, match="is not a YYYYMMDD date"):
        parse_yyyymmdd(text)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), st.booleans())
def test_any_extract_date_parses_back(day: date, short: bool) -> None:
    month = ("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec").split()[day.month - 1]
    text = f"{day.day:02d}-{month}-{day.year % 100:02d}" if short else f"{day:%d}{month}{day.year}"
    assert parse_extract_date(text) == day
