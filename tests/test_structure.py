"""Dated views: `structure_as_at`, `ics-data as-at`, and the generated `structure` resource."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SCHEMAS, SOURCES, examples
from frictionless import Package
from hypothesis import given, settings
from hypothesis import strategies as st
from shipped import release_folder, shipped_output, shipped_validation

from pipeline.check.structure import structure_as_at, structure_schema
from pipeline.cli import cli
from pipeline.core.timeline import Life, Moment, periods, segments

ARGS = ["--sources", str(SOURCES), "--schemas", str(SCHEMAS)]


@pytest.fixture(scope="module")
def output() -> Path:
    return shipped_output()


@pytest.mark.parametrize(("day", "pcns"), [("2022-07-01", 41), ("2026-08-01", 45)])
def test_pcns_open_on_a_day(day: str, pcns: int) -> None:
    structure = structure_as_at(shipped_validation().dataset, date.fromisoformat(day))
    assert len(structure.pcns) == pcns
    assert len(structure.partnerships) == 4
    assert not structure.uncertain_pcns
    # every PCN belongs to one of the four partnerships, and a practice to one PCN at most
    practices = [m.practice_code for p in structure.pcns for m in p.members]
    assert len(practices) == len(set(practices)) == structure.practices


@pytest.mark.parametrize(("day", "pcns"), [("2022-07-01", 41), ("2026-08-01", 45)])
def test_cli_as_at_lists_the_pcns(day: str, pcns: int) -> None:
    text = CliRunner().invoke(cli, ["as-at", day, *ARGS])
    assert text.exit_code == 0, text.output
    assert f"on {day}: {pcns} PCNs" in text.output.splitlines()[0]
    assert sum(1 for line in text.output.splitlines() if line.startswith("  U")) == pcns

    as_json = CliRunner().invoke(cli, ["as-at", day, "--format", "json", *ARGS])
    data = json.loads(as_json.output)
    library = structure_as_at(shipped_validation().dataset, date.fromisoformat(day)).to_dict()
    assert data == library
    assert data["pcn_count"] == pcns

    as_csv = CliRunner().invoke(cli, ["as-at", day, "--format", "csv", *ARGS])
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert len({r["pcn_code"] for r in rows}) == pcns
    assert {r["as_at"] for r in rows} == {day}


def test_uncertain_days_keep_doubt_apart() -> None:
    """Between the 2025 ePCN and the 2026 mapping some dates are only bounded: those PCNs and
    memberships are reported as uncertain, never counted as members."""
    structure = structure_as_at(shipped_validation().dataset, date(2025, 6, 1))
    assert structure.uncertain_pcns == ("U11490", "U29398")
    assert any(p.possible for p in structure.pcns)
    listed = {p.pcn_code for p in structure.pcns}
    assert not listed & set(structure.uncertain_pcns)


def test_cli_as_at_rejects_a_bad_date() -> None:
    result = CliRunner().invoke(cli, ["as-at", "2022-13-01", *ARGS])
    assert result.exit_code == 2
    assert "does not match the format" in result.output


def test_cli_as_at_help_ends_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["as-at", "--help"])
    assert result.exit_code == 0
    assert "ics-data as-at 2022-07-01 --format csv" in result.output


def test_structure_resource_in_the_release(output: Path) -> None:
    folder = release_folder(output)
    descriptor = json.loads((folder / "datapackage.json").read_text())
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert {"structure", "structure-json"} <= set(resources)
    schema = resources["structure"]["schema"]
    assert schema["primaryKey"] == ["practice_code"]
    targets = {fk["reference"]["resource"] for fk in schema["foreignKeys"]}
    assert targets == {"practices", "pcns", "partnerships", "organisations", "icbs"}
    assert {f["name"] for f in schema["fields"]} == {
        f["name"] for f in structure_schema()["fields"]
    }

    with (folder / "data" / "structure.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    created = descriptor["created"][:10]
    expected = structure_as_at(shipped_validation().dataset, date.fromisoformat(created))
    assert len(rows) == expected.practices
    assert len({r["pcn_code"] for r in rows}) == len(expected.pcns)
    assert {r["as_at"] for r in rows} == {created}
    assert [r["practice_code"] for r in rows] == sorted(r["practice_code"] for r in rows)


def test_structure_resource_validates_with_its_keys(output: Path, tmp_path: Path) -> None:
    """frictionless checks the structure's schema, primary key and foreign keys like any
    other resource of the package; a row pointing at an unknown PCN is caught."""
    folder = release_folder(output)
    package = Package(str(folder / "datapackage.json"))
    for name in ("structure", "structure-json"):
        report = package.get_resource(name).validate()
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    data = copy / "data" / "structure.csv"
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[2] = "U99999"  # pcn_code
    lines[1] = ",".join(cells)
    data.write_text("".join(lines), encoding="utf-8")
    descriptor = json.loads((copy / "datapackage.json").read_text())
    for resource in descriptor["resources"]:
        resource.pop("hash", None)
        resource.pop("bytes", None)
    report = Package(descriptor, basepath=str(copy)).get_resource("structure").validate()
    assert [e[0] for e in report.flatten(["type"])] == ["foreign-key"]


def test_before_its_icb_the_area_of_an_ics_is_its_ccgs_by_the_2019_ccg() -> None:
    """Before `statutory_since` a practice whose 2019 CCG is not one of the ICS's codes was of
    another area; one with no 2019 CCG counts as the ICS's; from that day every practice does."""
    from datetime import date

    from pipeline.core.scope import outside_before_icb, scope_of

    scope = scope_of(
        [{"code": "QHL", "sub_icb_locations": "15E", "former_ccgs": "13P; 04X",
          "statutory_since": date(2022, 7, 1)}]
    )  # fmt: skip
    practices = [
        {"practice_code": "M1", "ccg_2019_code": "13P"},
        {"practice_code": "M2", "ccg_2019_code": "05L"},
        {"practice_code": "M3", "ccg_2019_code": None},
        {"practice_code": "M4", "ccg_2019_code": "15E"},
    ]
    assert outside_before_icb(scope, practices, date(2022, 6, 30)) == {"M2"}
    assert outside_before_icb(scope, practices, date(2022, 7, 1)) == frozenset()
    no_day = scope_of([{"code": "QHL", "former_ccgs": "13P"}])
    assert outside_before_icb(no_day, practices, date(2020, 1, 1)) == frozenset()
    assert outside_before_icb(None, practices, date(2020, 1, 1)) == frozenset()


# --- a rule on every day at once -----------------------------------------------------------------

DAYS = st.dates(min_value=date(2019, 12, 20), max_value=date(2020, 1, 20))
MOMENTS = st.builds(Moment, st.none() | DAYS, st.none() | DAYS, st.none() | DAYS)


@settings(max_examples=examples(200))
@given(start=MOMENTS, end=MOMENTS)
def test_periods_hold_on_exactly_the_days_the_rule_holds(start: Moment, end: Moment) -> None:
    """The periods of a life's rules (`core.timeline.periods`) hold on every day the rule holds
    and on no other, bounds on one side only, both or neither, whatever their order."""
    span = Life(start, end)
    for rule in (span.definitely_on, span.possibly_on):
        found = periods(rule, span)
        day = date(2019, 12, 1)
        while day < date(2020, 2, 10):
            assert any(a <= day <= b for a, b in found) == rule(day), (rule, day, found)
            day += timedelta(days=1)
        assert all(a <= b for a, b in found)
        assert all(
            b + timedelta(days=1) < c for (_, b), (c, _) in zip(found, found[1:], strict=False)
        )


def test_segments_run_from_the_first_day_to_the_last() -> None:
    span = Life(Moment(exact=date(2020, 1, 1)), Moment())
    assert segments(span.definitely_on, span) == (
        (date.min, date(2019, 12, 31), False),
        (date(2020, 1, 1), date.max, True),
    )
