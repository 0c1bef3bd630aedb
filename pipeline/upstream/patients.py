"""Read NHS England's registered patients by sex and single year of age, and turn this ICS's
part of it into records for `registered_patients` and `registered_totals`.

The publication ("Patients Registered at a GP Practice", gp-reg-pat-prac-sing-age-regions.csv,
inside a zip) has one line per organisation, sex and age: ORG_TYPE `Comm Region`, `ICB`,
`SUB_ICB_LOCATION_CODE` or `PCN`; SEX `ALL`, `FEMALE` or `MALE`; AGE `ALL`, `0` to `94` or
`95+`. The PCN lines include `U`, the national pool of practices in no PCN, so an ICB's total
minus the sum over its PCNs is the patients of its unallocated practices.

The reader is as strict as the ePCN and mapping readers: an unknown column, value, a repeated
line or totals that do not add up stop the read (`UpstreamFormatError`, naming
the file, line and column), and a file larger than the limits is refused before it is read.

The records sum the single years into five-year bands (0-4 ... 90-94, 95+): 1,800 lines a
month for an ICS of 45 PCNs instead of 8,640, so the source file grows by about
80 KB a month, not 400 KB; the published file, cited with its sha256, keeps the single years.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.upstream.columns import (
    HeaderTable,
    UpstreamFormatError,
    column,
    csv_member,
    is_blank,
    match_header,
    parse_extract_date,
    require_file,
    show_value,
)

AGE_MEMBER = "gp-reg-pat-prac-sing-age-regions.csv"
# The national file of 2026-08-01 is 15.8 MB and 282,254 lines; a file far beyond either is not
# this publication (or a zip bomb), and is refused before it fills the memory.
MAX_BYTES = 128 * 1024 * 1024
MAX_LINES = 2_000_000
TOP_AGE = 95  # AGE "95+" is everyone aged 95 and over
ORG_TYPES = {
    "comm region": "region",
    "icb": "icb",
    "sub_icb_location_code": "sub-icb-location",
    "pcn": "pcn",
}
SEXES = ("female", "male")
UNALLOCATED = "U"
BANDS: tuple[tuple[str, int, int | None], ...] = tuple(
    (f"{start}-{start + 4}", start, start + 4) for start in range(0, TOP_AGE, 5)
) + ((f"{TOP_AGE}+", TOP_AGE, None),)

_COLUMNS = (
    column("publication", "PUBLICATION"),
    column("extract_date", "EXTRACT_DATE"),
    column("org_type", "ORG_TYPE"),
    column("org_code", "ORG_CODE"),
    column("ons_code", "ONS_CODE"),
    column("sex", "SEX"),
    column("age", "AGE"),
    column("patients", "NUMBER_OF_PATIENTS"),
)
_HINT = "Take gp-reg-pat-prac-sing-age-regions as published by NHS England (zip or csv)."


@dataclass(frozen=True)
class AreaPatients:
    """One organisation's registered patients: the total, and by sex and single year of age
    (`female[a]`, `male[a]` for a = 0..95, 95 meaning 95 and over)."""

    area_type: str  # region, icb, sub-icb-location, pcn
    code: str
    ons_code: str
    total: int
    female: tuple[int, ...]
    male: tuple[int, ...]
    line: int  # the line of its ALL/ALL total

    def by_sex(self, sex: str) -> tuple[int, ...]:
        return self.female if sex == "female" else self.male

    def band(self, sex: str, start: int, end: int | None) -> int:
        ages = self.by_sex(sex)
        return sum(ages[start : (TOP_AGE if end is None else end) + 1])


@dataclass(frozen=True)
class PatientsExtract:
    """A registered-patients file: its EXTRACT_DATE, the areas kept, and the lines read."""

    vintage: date
    areas: dict[tuple[str, str], AreaPatients]  # (area_type, code) -> figures
    lines: int

    def get(self, area_type: str, code: str) -> AreaPatients | None:
        return self.areas.get((area_type, code))


@dataclass
class _Area:
    code: str
    ons_code: str
    line: int
    cells: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # -> (n, line)


def read_registered_patients(path: Path, keep: AbstractSet[str] | None = None) -> PatientsExtract:
    """Read the file as a .csv or as the published .zip holding one .csv.

    Every line is checked; only areas whose code is in `keep` (all when None) are returned, and
    checked to add up: the two sexes make the total, and the 96 ages make each sex.
    """
    require_file(path, path.name)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = csv_member(archive, path.name, AGE_MEMBER)
            file = f"{path.name} ({member})"
            size = archive.getinfo(member).file_size
            _check_size(size, file)
            try:
                with (
                    archive.open(member) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as stream,
                ):
                    return _read(stream, file, keep)
            except (zipfile.BadZipFile, OSError, zlib.error) as exc:
                raise UpstreamFormatError(
                    f"cannot read the zip entry ({exc})", file, hint="Download the zip again."
                ) from exc
    if path.suffix.casefold() == ".zip":
        raise UpstreamFormatError(
            "not a zip archive", path.name, hint="Give the zip as downloaded, or the csv inside."
        )
    _check_size(path.stat().st_size, path.name)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return _read(stream, path.name, keep)


def _check_size(size: int, file: str) -> None:
    if size > MAX_BYTES:
        raise UpstreamFormatError(
            f"{size:,} bytes, more than the {MAX_BYTES:,} this publication can need",
            file,
            hint=_HINT,
        )


def _limited(stream: Iterable[str], file: str) -> Iterator[str]:
    """The lines of the stream, refusing more than MAX_BYTES characters or MAX_LINES lines."""
    total = 0
    for number, text in enumerate(stream, start=1):
        total += len(text)
        if total > MAX_BYTES or number > MAX_LINES:
            raise UpstreamFormatError(
                f"more than {MAX_LINES:,} lines or {MAX_BYTES:,} characters",
                file,
                None,
                number,
                hint=_HINT,
            )
        yield text


def _read(stream: Iterable[str], file: str, keep: AbstractSet[str] | None) -> PatientsExtract:
    reader = csv.reader(_limited(stream, file), strict=True)
    areas: dict[tuple[str, str], _Area] = {}
    first: tuple[str, date] | None = None
    parsed: dict[str, date] = {}
    last_line = 0
    try:
        header = next(reader, None)
        last_line = reader.line_num
        if header is None or all(is_blank(value) for value in header):
            raise UpstreamFormatError("no header line", file, None, 1, hint="The header is line 1.")
        table = match_header(file, None, header, _COLUMNS)
        at = table.positions
        for values in reader:
            line, last_line = last_line + 1, reader.line_num
            if all(is_blank(value) for value in values):
                continue
            if len(values) != len(header):
                raise table.error(
                    f"{len(values)} fields where the header has {len(header)}",
                    line,
                    None,
                    "Use the file as published: every line has as many fields as the header.",
                )
            text = values[at["extract_date"]].strip()
            if text not in parsed:
                parsed[text] = _extract_date(table, text, line)
            if first is None:
                first = (text, parsed[text])
            elif parsed[text] != first[1]:
                raise table.error(
                    f"{show_value(text)} differs from the first EXTRACT_DATE, "
                    f"{show_value(first[0])}",
                    line,
                    at["extract_date"],
                    "A file is one extract; do not join files of different months.",
                )
            _read_line(table, values, line, areas, keep)
    except csv.Error as exc:
        raise UpstreamFormatError(
            f"not valid CSV ({exc})", file, None, reader.line_num, hint="Use a real CSV file."
        ) from None
    except UnicodeDecodeError as exc:
        raise UpstreamFormatError(
            f"not UTF-8 text ({exc.reason})", file, None, last_line + 1, hint=_HINT
        ) from None
    if first is None:
        raise UpstreamFormatError("no data lines after the header", file, hint=_HINT)
    figures = {key: _complete(table, key[0], area) for key, area in areas.items()}
    return PatientsExtract(first[1], figures, last_line)


def _extract_date(table: HeaderTable, text: str, line: int) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parse_extract_date(text)
    except ValueError as exc:
        raise table.error(
            f"{exc}, nor YYYY-MM-DD",
            line,
            table.positions["extract_date"],
            "EXTRACT_DATE is a date like 2026-08-01 (or 01Aug2026).",
        ) from None


def _read_line(
    table: HeaderTable,
    values: Sequence[str],
    line: int,
    areas: dict[tuple[str, str], _Area],
    keep: AbstractSet[str] | None,
) -> None:
    at = table.positions

    def fail(name: str, problem: str, hint: str = _HINT) -> UpstreamFormatError:
        return table.error(problem, line, at[name], hint)

    publication = values[at["publication"]].strip()
    if not publication:
        raise fail("publication", "the cell is empty; the publication's name is required here")
    org_type = ORG_TYPES.get(values[at["org_type"]].strip().casefold())
    if org_type is None:
        known = ", ".join(f'"{name}"' for name in ("Comm Region", "ICB", "SUB_ICB_LOCATION_CODE"))
        raise fail(
            "org_type",
            f'{show_value(values[at["org_type"]])} is not an organisation type ({known} or "PCN")',
        )
    code = values[at["org_code"]].strip()
    if not code:
        raise fail("org_code", "the cell is empty; a code is required here")
    sex = values[at["sex"]].strip().casefold()
    if sex not in ("all", *SEXES):
        raise fail("sex", f'{show_value(values[at["sex"]])} is not "ALL", "FEMALE" or "MALE"')
    age = _age(values[at["age"]].strip())
    if age is None:
        raise fail("age", f'{show_value(values[at["age"]])} is not "ALL", 0 to 94 or "95+"')
    if sex == "all" and age != "all":
        raise fail(
            "age", f"sex ALL with age {show_value(values[at['age']])}: only ALL is published"
        )
    number = values[at["patients"]].strip()
    if not number.isdigit() or not number.isascii():
        raise fail("patients", f"{show_value(values[at['patients']])} is not a count of patients")
    if keep is not None and code not in keep:
        return
    area = areas.setdefault((org_type, code), _Area(code, values[at["ons_code"]].strip(), line))
    cell = (sex, age)
    if cell in area.cells:
        raise table.error(
            f"{org_type} {code}, sex {sex.upper()}, age {age.upper()} repeats line "
            f"{area.cells[cell][1]}",
            line,
            at["age"],
            "Each organisation, sex and age is one line; take the file as published.",
        )
    area.cells[cell] = (int(number), line)


def _age(text: str) -> str | None:
    if text.casefold() == "all":
        return "all"
    if text == f"{TOP_AGE}+":
        return str(TOP_AGE)
    if text.isdigit() and text.isascii() and int(text) < TOP_AGE and str(int(text)) == text:
        return text
    return None


def _complete(table: HeaderTable, area_type: str, area: _Area) -> AreaPatients:
    """The totals adding up (single years to each sex, the sexes to the total), or the read
    stops. An age with no line counts 0: the national file leaves out ages no one has (U24190
    has no line for MALE 94 in 2026-08-01), and its totals agree."""
    column = table.positions["patients"]
    label = f"{area_type} {area.code}"
    total = area.cells.get(("all", "all"))
    if total is None:
        raise table.error(f"{label} has no line with SEX ALL and AGE ALL", area.line, None, _HINT)
    ages: dict[str, tuple[int, ...]] = {}
    sex_total = 0
    for sex in SEXES:
        counts = []
        for age in range(TOP_AGE + 1):
            # The publisher leaves out an age no one of that sex has: 0, as the totals confirm.
            counts.append(area.cells.get((sex, str(age)), (0, 0))[0])
        ages[sex] = tuple(counts)
        stated = area.cells.get((sex, "all"))
        if stated is None:
            raise table.error(
                f"{label} has no line for sex {sex.upper()}, age ALL", area.line, None, _HINT
            )
        if stated[0] != sum(counts):
            raise table.error(
                f"{label}: {stated[0]} {sex.upper()} patients of all ages, but the single years "
                f"add up to {sum(counts)}",
                stated[1],
                column,
                _HINT,
            )
        sex_total += stated[0]
    if sex_total != total[0]:
        raise table.error(
            f"{label}: {total[0]} patients in all, but FEMALE and MALE add up to {sex_total}",
            total[1],
            column,
            _HINT,
        )
    return AreaPatients(
        area_type, area.code, area.ons_code, total[0], ages["female"], ages["male"], total[1]
    )


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class PatientRecords:
    """The rows of `registered_patients` and `registered_totals` for one extract date, as text."""

    vintage: date
    pcns: tuple[dict[str, str], ...]
    totals: tuple[dict[str, str], ...]


def patient_records(
    extract: PatientsExtract,
    pcn_sub_icb: Mapping[str, str],
    icb_codes: AbstractSet[str],
    sub_icb_codes: AbstractSet[str],
    source: str,
) -> PatientRecords:
    """This ICS's rows: each of its PCNs (`pcn_sub_icb`: PCN code -> commissioner) by sex and
    band, and each of its ICBs and sub-ICB locations with the sum over its PCNs and the rest."""
    day = extract.vintage.isoformat()
    present = {
        code: area
        for code in sorted(pcn_sub_icb)
        if code != UNALLOCATED and (area := extract.get("pcn", code)) is not None
    }
    pcn_rows = [
        {
            "extract_date": day,
            "pcn_code": code,
            "sex": sex,
            "age_band": band,
            "age_from": str(start),
            "age_to": "" if end is None else str(end),
            "patients": str(area.band(sex, start, end)),
            "source": source,
        }
        for code, area in present.items()
        for sex in SEXES
        for band, start, end in BANDS
    ]
    totals: list[dict[str, str]] = []
    wanted = [("icb", code) for code in sorted(icb_codes)] + [
        ("sub-icb-location", code) for code in sorted(sub_icb_codes)
    ]
    for area_type, code in wanted:
        area = extract.get(area_type, code)
        if area is None:
            continue
        members = [
            pcn
            for pcn_code, pcn in present.items()
            if area_type == "icb" or pcn_sub_icb.get(pcn_code) == code
        ]
        for sex, band, start_text, end_text, patients, in_pcns in _total_cells(area, members):
            totals.append(
                {
                    "extract_date": day,
                    "area_type": area_type,
                    "area_code": code,
                    "sex": sex,
                    "age_band": band,
                    "age_from": start_text,
                    "age_to": end_text,
                    "patients": str(patients),
                    "in_pcns": str(in_pcns),
                    "unallocated": str(patients - in_pcns),
                    "source": source,
                }
            )
    return PatientRecords(extract.vintage, tuple(pcn_rows), tuple(totals))


def _total_cells(
    area: AreaPatients, members: Sequence[AreaPatients]
) -> list[tuple[str, str, str, str, int, int]]:
    """An area's totals, all and by sex and band, each beside the sum over its PCNs MEMBERS:
    (sex, band, age from, age to, patients, in PCNs)."""
    cells: list[tuple[str, str, str, str, int, int]] = [
        ("all", "all", "", "", area.total, sum(p.total for p in members))
    ]
    for sex in SEXES:
        by_sex = sum(area.by_sex(sex)), sum(sum(p.by_sex(sex)) for p in members)
        cells.append((sex, "all", "", "", *by_sex))
        for band, start, end in BANDS:
            cells.append(
                (
                    sex,
                    band,
                    str(start),
                    "" if end is None else str(end),
                    area.band(sex, start, end),
                    sum(p.band(sex, start, end) for p in members),
                )
            )
    return cells
