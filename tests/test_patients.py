"""Registered patients: the strict reader of NHS England's file by sex and single year of age,
`refresh --registered-patients`, the rows it ships, the rule that they add up, the claims.

The fixture is the Kent and Medway part of the national file of 2026-08-01 (its lines byte for
byte: QKS, 91Q, the 45 PCNs and the national pool U), in a zip as published.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SCHEMAS, SOURCES, Project, schema_set

from pipeline.check.structure import structure_as_at
from pipeline.check.validate import validate_project
from pipeline.cli import cli
from pipeline.upstream import patients
from pipeline.upstream.columns import UpstreamFormatError
from pipeline.upstream.patients import BANDS, read_registered_patients
from pipeline.upstream.refresh import apply_refresh, plan_refresh
from pipeline.upstream.report import render_refresh

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"
AGE26 = FIXTURES / "gp-reg-pat-prac-sing-age-regions_2026-08-01_kent_medway.zip"
MEMBER = "gp-reg-pat-prac-sing-age-regions.csv"
ICB_TOTAL = 2_036_209  # QKS, SEX ALL, AGE ALL in the file
UNALLOCATED = 9_615  # G82067, the one Kent and Medway practice in no PCN (reference README)
FILES = ("registered_patients.csv", "registered_totals.csv")


def fixture_text() -> str:
    with zipfile.ZipFile(AGE26) as archive:
        return archive.read(MEMBER).decode("utf-8")


def kent_pcns() -> set[str]:
    with (SOURCES / "pcns.csv").open(encoding="utf-8") as stream:
        return {row["pcn_code"] for row in csv.DictReader(stream)}


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


# --- the figures -------------------------------------------------------------------------------


def test_kent_pcns_plus_the_unallocated_practice_make_the_icb_total_in_the_file() -> None:
    extract = read_registered_patients(AGE26)
    icb = extract.get("icb", "QKS")
    assert icb is not None and icb.total == ICB_TOTAL
    ours = [a for a in extract.areas.values() if a.area_type == "pcn" and a.code in kent_pcns()]
    assert len(ours) == 45
    in_pcns = sum(a.total for a in ours)
    assert in_pcns + UNALLOCATED == ICB_TOTAL
    # and the shipped records say the same, the remainder explicit
    totals = read_rows(SOURCES / "registered_totals.csv")
    row = next(
        r for r in totals if (r["area_code"], r["sex"], r["age_band"]) == ("QKS",) + ("all",) * 2
    )
    assert (int(row["patients"]), int(row["in_pcns"]), int(row["unallocated"])) == (
        ICB_TOTAL,
        in_pcns,
        UNALLOCATED,
    )
    shipped = read_rows(SOURCES / "registered_patients.csv")
    assert {r["pcn_code"] for r in shipped} == {a.code for a in ours}
    assert sum(int(r["patients"]) for r in shipped) + UNALLOCATED == ICB_TOTAL


def test_every_open_pcn_on_the_extract_date_has_patients() -> None:
    validation = validate_project(SOURCES, schema_set(SCHEMAS))
    open_pcns = {p.pcn_code for p in structure_as_at(validation.dataset, date(2026, 8, 1)).pcns}
    shipped = read_rows(SOURCES / "registered_patients.csv")
    assert open_pcns == {r["pcn_code"] for r in shipped if r["extract_date"] == "2026-08-01"}
    # 2 sexes x 20 bands for each PCN
    assert len(shipped) == len(open_pcns) * 2 * len(BANDS) == 1800


def test_bands_sum_the_single_years() -> None:
    extract = read_registered_patients(AGE26)
    area = extract.get("pcn", "U04973")
    assert area is not None
    by_line = {}
    for row in csv.DictReader(io.StringIO(fixture_text())):
        if row["ORG_CODE"] == "U04973" and row["SEX"] == "FEMALE" and row["AGE"] != "ALL":
            by_line[row["AGE"]] = int(row["NUMBER_OF_PATIENTS"])
    assert area.band("female", 0, 4) == sum(by_line[str(a)] for a in range(5))
    assert area.band("female", 95, None) == by_line["95+"]
    assert sum(area.band("female", s, e) for _, s, e in BANDS) == sum(area.female)


def test_the_csv_inside_reads_the_same_as_the_zip(tmp_path: Path) -> None:
    path = tmp_path / MEMBER
    path.write_text(fixture_text(), encoding="utf-8", newline="")
    assert read_registered_patients(path) == read_registered_patients(AGE26)


# --- strictness --------------------------------------------------------------------------------

HEADER = "PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,ONS_CODE,SEX,AGE,NUMBER_OF_PATIENTS"


def small_area(code: str = "QKS", total: int = 3, female: int = 2, male: int = 1) -> list[str]:
    lines = [
        f"GP_PRAC_PAT_LIST,2026-08-01,ICB,{code},E54000032,ALL,ALL,{total}",
        f"GP_PRAC_PAT_LIST,2026-08-01,ICB,{code},E54000032,FEMALE,ALL,{female}",
        f"GP_PRAC_PAT_LIST,2026-08-01,ICB,{code},E54000032,MALE,ALL,{male}",
        f"GP_PRAC_PAT_LIST,2026-08-01,ICB,{code},E54000032,FEMALE,0,{female}",
        f"GP_PRAC_PAT_LIST,2026-08-01,ICB,{code},E54000032,MALE,95+,{male}",
    ]
    return lines


def write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "ages.csv"
    path.write_text("\r\n".join([header, *lines]) + "\r\n", encoding="utf-8")
    return path


def test_a_small_file_reads_with_missing_ages_as_zero(tmp_path: Path) -> None:
    extract = read_registered_patients(write(tmp_path, small_area()))
    area = extract.get("icb", "QKS")
    assert area is not None
    assert (area.total, area.female[0], area.male[95], sum(area.female)) == (3, 2, 1, 2)
    assert extract.vintage == date(2026, 8, 1)


BAD = [
    # (what, edit of the lines, line, column, words in the message)
    ("org type", lambda ls: [ls[0].replace(",ICB,", ",CCG,"), *ls[1:]], 2, "C", '"CCG"'),
    ("sex", lambda ls: [*ls[:3], ls[3].replace("FEMALE", "F"), *ls[4:]], 5, "F", '"F"'),
    ("age", lambda ls: [*ls[:3], ls[3].replace(",0,", ",96,"), *ls[4:]], 5, "G", '"96"'),
    (
        "age ALL only with sex ALL",
        lambda ls: [ls[0].replace("ALL,ALL", "ALL,5"), *ls[1:]],
        2,
        "G",
        "only ALL",
    ),
    ("count", lambda ls: [ls[0].replace(",3", ",3.5"), *ls[1:]], 2, "H", '"3.5"'),
    ("negative", lambda ls: [ls[0].replace(",3", ",-3"), *ls[1:]], 2, "H", '"-3"'),
    ("repeat", lambda ls: [*ls, ls[3]], 7, "G", "repeats line 5"),
    ("date", lambda ls: [*ls[:4], ls[4].replace("2026-08-01", "2026-09-01")], 6, "B", "differs"),
    (
        "bad date",
        lambda ls: [ls[0].replace("2026-08-01", "2026-13-01"), *ls[1:]],
        2,
        "B",
        "2026-13-01",
    ),
    ("fields", lambda ls: [ls[0] + ",9", *ls[1:]], 2, None, "9 fields"),
    ("sexes", lambda ls: [ls[0].replace(",3", ",4"), *ls[1:]], 2, "H", "add up to 3"),
    ("ages", lambda ls: [*ls[:3], ls[3].removesuffix(",2") + ",1", *ls[4:]], 3, "H", "add up to 1"),
    ("no total", lambda ls: ls[1:], 2, None, "no line with SEX ALL and AGE ALL"),
]


@pytest.mark.parametrize(("what", "edit", "line", "column", "words"), BAD, ids=[b[0] for b in BAD])
def test_a_surprise_names_file_line_and_column(
    tmp_path: Path, what: str, edit: object, line: int, column: str | None, words: str
) -> None:
    path = write(tmp_path, edit(small_area()))  # type: ignore[operator]
    with pytest.raises(UpstreamFormatError) as caught:
        read_registered_patients(path)
    error = caught.value
    assert (error.file, error.row, error.column) == ("ages.csv", line, column), str(error)
    assert words in error.problem
    assert error.hint


def test_an_unknown_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, small_area(), header=HEADER.replace("SEX", "GENDER"))
    with pytest.raises(UpstreamFormatError, match=r'line 1, column F "GENDER": unknown column'):
        read_registered_patients(path)


def test_files_beyond_the_limits_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(patients, "MAX_BYTES", 10_000)
    with pytest.raises(UpstreamFormatError, match="bytes, more than the 10,000"):
        read_registered_patients(AGE26)  # the zip entry's declared size is checked first
    monkeypatch.setattr(patients, "MAX_BYTES", 10**9)
    monkeypatch.setattr(patients, "MAX_LINES", 100)
    with pytest.raises(UpstreamFormatError, match="line 101: more than 100 lines"):
        read_registered_patients(AGE26)


def test_a_zip_without_the_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ages.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", HEADER)
        archive.writestr("b.csv", HEADER)
    with pytest.raises(UpstreamFormatError, match=f"no single {MEMBER} entry"):
        read_registered_patients(path)
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(UpstreamFormatError, match="not a zip archive"):
        read_registered_patients(tmp_path / "fake.zip")


# --- refresh -----------------------------------------------------------------------------------


def test_refresh_rebuilds_the_shipped_rows_and_then_changes_nothing(project: Project) -> None:
    shipped = {name: project.read(name) for name in FILES}
    for name in FILES:
        project.path(name).unlink()
    plan = plan_refresh(project.sources, project.schemas, registered_patients=AGE26)
    assert set(plan.texts) == set(FILES)  # AGE26 is already registered (same vintage)
    (upstream,) = plan.report.inputs
    assert (upstream.entry.id, upstream.registered, upstream.vintage) == (
        "AGE26",
        True,
        date(2026, 8, 1),
    )
    assert "45 PCNs" in upstream.detail and "2,036,209" in upstream.detail
    apply_refresh(plan)
    assert {name: project.read(name) for name in FILES} == shipped
    again = plan_refresh(project.sources, project.schemas, registered_patients=AGE26)
    assert not again.changed
    assert project.validate().report.ok


def test_refresh_registers_a_new_file_and_keeps_other_dates(project: Project) -> None:
    # the same figures under another extract date: a second month beside the first
    text = fixture_text().replace("2026-08-01", "2026-09-01")
    path = project.root / "ages-2026-09-01.csv"
    path.write_text(text, encoding="utf-8", newline="")
    plan = plan_refresh(project.sources, project.schemas, registered_patients=path)
    apply_refresh(plan)
    rows = read_rows(project.path("registered_patients.csv"))
    assert {r["extract_date"] for r in rows} == {"2026-08-01", "2026-09-01"}
    assert {r["source"] for r in rows if r["extract_date"] == "2026-09-01"} == {"AGE-2026-09-01"}
    assert "id: AGE-2026-09-01" in project.read("package.yaml")
    assert project.validate().report.ok


def test_the_cli_option(project: Project) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--registered-patients",
            str(AGE26),
            "--sources",
            str(project.sources),
            "--schemas",
            str(project.schemas),
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "registered patients by sex and age of 2026-08-01, source AGE26" in result.output
    assert "no change" in result.output
    helped = CliRunner().invoke(cli, ["refresh", "--help"])
    assert "--registered-patients" in helped.output


# --- validation --------------------------------------------------------------------------------


def test_totals_that_do_not_add_up_are_issues_at_the_line(project: Project) -> None:
    project.edit(
        "registered_totals.csv",
        "2026-08-01,icb,QKS,all,all,,,2036209,2026594,9615,",
        "2026-08-01,icb,QKS,all,all,,,2036209,2026595,9615,",
    )
    line = project.line_of("registered_totals.csv", "2026-08-01,icb,QKS,all,all")
    found = [f for f in project.flat() if f[3] == "patients-sum"]
    assert found == [
        ("registered_totals.csv", line, "in_pcns", "patients-sum"),
        ("registered_totals.csv", line, "unallocated", "patients-sum"),
    ]


def test_a_pcn_row_without_a_pcn_is_a_foreign_key_issue(project: Project) -> None:
    project.edit(
        "registered_patients.csv", "2026-08-01,U04973,female,0-4", "2026-08-01,U99999,female,0-4"
    )
    codes = {(f[0], f[2], f[3]) for f in project.flat()}
    assert ("registered_patients.csv", "pcn_code", "foreign-key") in codes


def test_the_claims_registered_agrees_and_population_is_context() -> None:
    summary = validate_project(SOURCES, schema_set(SCHEMAS)).report.summary
    claims = {c["id"]: c for c in summary["claims"]}
    registered = claims["registered-patients-2026-08"]
    assert (registered["status"], registered["computed"]) == ("agrees", str(ICB_TOTAL))
    population = claims["population-1-9-million"]
    assert population["status"] == "context"
    assert population["claimed"] == 1_900_000
    assert "2,036,209 patients registered" in population["context"]
    assert "not residents" in population["context"]


def test_an_open_pcn_missing_from_the_file_is_listed_for_review(project: Project) -> None:
    lines = fixture_text().splitlines(keepends=True)
    kept = [line for line in lines if ",PCN,U04973," not in line]
    path = project.root / MEMBER
    path.write_text("".join(kept), encoding="utf-8", newline="")
    plan = plan_refresh(project.sources, project.schemas, registered_patients=path)
    (note,) = [n for n in plan.report.notes if n.code == "no-registered-patients"]
    assert note.key == "U04973"
    assert "GARDEN CITY PCN is open on 2026-08-01" in note.message
    assert "no-registered-patients" in render_refresh(plan.report, "text")
    # its patients then count as the ICB's unallocated, and the totals still add up
    apply_refresh(plan)
    assert project.validate().report.ok


def test_refresh_replaces_the_empty_tables_init_writes(project: Project) -> None:
    """`ics-data init` writes a table with no records yet as `[]` in YAML; the refresh's CSVs
    replace those files (never both, never neither)."""
    shipped = {name: project.read(name) for name in FILES}
    for name in FILES:
        project.path(name).unlink()
        project.write(name.replace(".csv", ".yaml"), "# No records yet.\n[]\n")
    # valid but for the registered-patients claim, which the empty tables cannot give
    assert {i.code for i in project.validate().report.issues} == {"claim-mismatch"}
    plan = plan_refresh(project.sources, project.schemas, registered_patients=AGE26)
    assert plan.removals == ("registered_patients.yaml", "registered_totals.yaml")
    apply_refresh(plan)
    assert {name: project.read(name) for name in FILES} == shipped
    assert not project.path("registered_patients.yaml").exists()
    assert not project.path("registered_totals.yaml").exists()
    assert project.validate().report.ok
