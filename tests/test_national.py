"""Every ICS in England: `ics-data init` from the national files, then validate, publish, verify
and as-at, for each of the 36 ICBs of the 2026-08-01 mapping file and each of the 42 of the
2022-01-01 one; the boundaries of an ICS; the publisher's anomalies as warnings and decisions.

The national files are in tests/fixtures/national, unaltered (their README gives provenance).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.core.scope import HAND_KEPT, NO_PARTNERSHIPS
from pipeline.site.chart import ROOT_CHAR, structure_chart
from pipeline.site.explore import explore, structure_on
from pipeline.upstream.init import InitError, InitInputs, init_project, read_init_inputs
from pipeline.upstream.refresh import plan_refresh
from tests.conftest import SCHEMAS, SOURCES
from tests.national import (
    ECCG,
    EPCMEM,
    EPCNS,
    ICB_NAMES,
    MAP22,
    MAP26,
    settle_review,
)

# Every test here reads the national files (a second or two, once per process): make test runs
# them, the inner loop (make test-fast) does not.
pytestmark = pytest.mark.slow


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _map_rows(path: Path) -> list[dict[str, str]]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            text = archive.read("gp-reg-pat-prac-map.csv").decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _pcns_by_icb(path: Path) -> dict[str, set[str]]:
    """The PCNs (other than U) the mapping file gives each ICB's (or STP's) practices."""
    found: dict[str, set[str]] = defaultdict(set)
    for row in _map_rows(path):
        icb = row.get("ICB_CODE") or row["STP_CODE"]
        found[icb]
        if row["PCN_CODE"] != "U":
            found[icb].add(row["PCN_CODE"])
    return dict(found)


ICBS_2026 = sorted(_pcns_by_icb(MAP26))
ICBS_2022 = sorted(_pcns_by_icb(MAP22))
# Practices that changed ICB at the boundary changes of July 2022 (West Birmingham to
# Birmingham and Solihull, Glossop to Derbyshire, a Peterborough practice to Northamptonshire):
# ePCN gives each PCN's and practice's parent as in force in 2025; before the ICB's first day
# the ICS's area is its CCGs', by each practice's 2019 CCG (`core.scope.outside_before_icb`), so
# on 2022-01-01 these ICBs list the PCNs the 2022 file gives them.
MOVED_IN_2022 = ("QHL", "QJ2", "QPM")


@pytest.fixture(scope="session")
def inputs_2026() -> InitInputs:
    return read_init_inputs(MAP26, EPCNS, EPCMEM, ECCG, ICB_NAMES)


@pytest.fixture(scope="session")
def inputs_2022() -> InitInputs:
    return read_init_inputs(MAP22, EPCNS[-1:], EPCMEM, ECCG, ICB_NAMES)


def test_the_national_files_hold_36_and_42_icbs() -> None:
    assert len(ICBS_2026) == 36
    assert len(ICBS_2022) == 42


def _publish_and_check(folder: Path, day: date, expected: set[str]) -> None:
    sources, schemas, output = folder / "sources", folder / "schemas", folder / "output"
    where = ("--sources", sources, "--schemas", schemas)
    validated = run("validate", *where)
    assert validated.exit_code == 0, validated.output
    settle_review(sources)  # what init cannot know, settled as the project's README says
    published = run("publish", *where, "--output", output)
    assert published.exit_code == 0, published.output
    verified = run("verify", "--output", output)
    assert verified.exit_code == 0, verified.output
    structure = run("as-at", day.isoformat(), *where, "--format", "json")
    assert structure.exit_code == 0, structure.output
    listed = {
        pcn["pcn_code"]
        for part in json.loads(structure.stdout)["partnerships"]
        for pcn in part["pcns"]
    }
    assert listed == expected


@pytest.mark.national
@pytest.mark.parametrize("icb", ICBS_2026)
def test_every_icb_of_2026_inits_publishes_and_verifies(
    icb: str, inputs_2026: InitInputs, tmp_path: Path
) -> None:
    result = init_project(tmp_path / icb, icb, inputs_2026, SCHEMAS)
    assert result.release_date == date(2026, 8, 1)
    _publish_and_check(tmp_path / icb, date(2026, 8, 1), _pcns_by_icb(MAP26)[icb])


@pytest.mark.national
@pytest.mark.parametrize(
    "icb",
    ICBS_2022,
)
def test_every_icb_of_2022_inits_publishes_and_verifies(
    icb: str, inputs_2022: InitInputs, tmp_path: Path
) -> None:
    result = init_project(tmp_path / icb, icb, inputs_2022, SCHEMAS)
    assert result.release_date == date(2025, 1, 20)
    _publish_and_check(tmp_path / icb, date(2022, 1, 1), _pcns_by_icb(MAP22)[icb])


def _listed(folder: Path, day: str) -> set[str]:
    where = ("--sources", folder / "sources", "--schemas", folder / "schemas")
    result = run("as-at", day, *where, "--format", "json")
    assert result.exit_code == 0, result.output
    return {
        p["pcn_code"] for part in json.loads(result.stdout)["partnerships"] for p in part["pcns"]
    }


@pytest.mark.national
@pytest.mark.parametrize("icb", MOVED_IN_2022)
def test_a_pcn_that_came_in_july_2022_is_listed_from_the_icbs_first_day(
    icb: str, inputs_2022: InitInputs, tmp_path: Path
) -> None:
    """Before July 2022 the ICS's area is its CCGs': a PCN whose practices were then another
    area's (their 2019 CCG is not one of the ICS's codes) is not listed on 2022-01-01, and is
    from the ICB's first day (West Birmingham's and Glossop's PCNs; for Northamptonshire, the
    Peterborough PCN of its practice K83023 is not its PCN on either day)."""
    init_project(tmp_path / icb, icb, inputs_2022, SCHEMAS)
    before, after = _listed(tmp_path / icb, "2022-01-01"), _listed(tmp_path / icb, "2022-07-01")
    assert before == _pcns_by_icb(MAP22)[icb]
    came = {"QHL": {"U25240", "U44537", "U48923", "U65968"}, "QJ2": {"U60978"}, "QPM": set()}
    assert came[icb] <= after - before
    if icb == "QPM":
        assert "U75549" not in before | after
    # the release page's "structure on any day" follows the same rule
    folder = tmp_path / icb
    where = ("--sources", folder / "sources", "--schemas", folder / "schemas")
    settle_review(folder / "sources")
    assert run("publish", *where, "--output", folder / "output").exit_code == 0
    (release,) = [p for p in (folder / "output").iterdir() if p.name[0].isdigit()]
    data = explore(release, "2025-01-20").data
    assert {p.code for p in structure_on(data, "2022-01-01")} == before
    assert {p.code for p in structure_on(data, "2022-07-01")} == after


# --- Kent and Medway through init --------------------------------------------------------------

FACTS = {
    "pcns.csv": (
        ("pcn_code",),
        (
            "pcn_name",
            "sub_icb_code",
            "open_date",
            "open_date_earliest",
            "open_date_latest",
            "close_date",
            "close_date_earliest",
            "close_date_latest",
        ),
    ),
    "practices.csv": (("practice_code",), ("practice_name", "postcode", "ccg_2019_code")),
    "pcn_memberships.csv": (
        ("practice_code", "pcn_code", "start_date"),
        (
            "start_date_earliest",
            "start_date_latest",
            "end_date",
            "end_date_earliest",
            "end_date_latest",
        ),
    ),
}


def _facts(folder: Path, name: str) -> dict[tuple[str, ...], dict[str, str]]:
    key, columns = FACTS[name]
    with (folder / name).open(encoding="utf-8") as handle:
        return {
            tuple(row[k] for k in key): {c: row[c] for c in (*columns, "source")}
            for row in csv.DictReader(handle)
        }


def test_kent_through_init_reproduces_the_shipped_facts(tmp_path: Path) -> None:
    """The PCN, practice and membership facts of the shipped sources, from the national files.

    The only facts init cannot give are postcodes of practices that left before 2022: they come
    from the mapping file of 2020-09-01 (MAP20), which is not among the national files.
    """
    inputs = read_init_inputs([MAP26, MAP22], EPCNS, EPCMEM, ECCG, ICB_NAMES)
    result = init_project(tmp_path / "km", "QKS", inputs, SCHEMAS, rule="ccg-2019")
    assert result.scope.sub_icb_locations == ("91Q",)
    assert result.scope.former_ccgs == ("09C", "09E", "09J", "09W", "10A", "10D", "10E", "99J")
    made = tmp_path / "km" / "sources"
    unreproduced = []
    for name, (_, columns) in FACTS.items():
        shipped, init = _facts(SOURCES, name), _facts(made, name)
        assert set(init) == set(shipped), name
        for key, row in shipped.items():
            for column in columns:
                if init[key][column] != row[column]:
                    unreproduced.append((name, key, column, row["source"]))
    assert unreproduced, "every fact reproduced: drop the MAP20 exception below"
    assert all(
        name == "practices.csv"
        and column == "postcode"
        and "MAP20" in source.split("; ")
        and "MAP22" not in source.split("; ")
        for name, _, column, source in unreproduced
    ), unreproduced
    # every name of every PCN with its period, the earlier name of U87442 from the 2022 file too
    columns = ("pcn_code", "number", "name", *(f"valid_{e}{b}" for e in ("from", "to")
               for b in ("", "_earliest", "_latest")))  # fmt: skip
    names = [
        [tuple(row[c] for c in columns) for row in csv.DictReader(io.StringIO(path.read_text()))]
        for path in (SOURCES / "pcn_names.csv", made / "pcn_names.csv")
    ]
    assert names[1] == names[0]


def test_init_through_the_cli_then_refresh_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "cornwall"
    result = run(
        "init", folder, "--icb", "QT6", "--gp-map", MAP26,
        *[a for p in EPCNS for a in ("--epcn", p)],
        "--epcmem", EPCMEM, "--eccg", ECCG, "--icb-names", ICB_NAMES, "--schemas", SCHEMAS,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "QT6" in result.output and "sub-ICB locations: 11N" in result.output
    for name in ("Makefile", "README.md", ".github/workflows/data.yml", ".gitattributes"):
        assert (folder / name).is_file(), name
    assert "# Cornwall and the Isles of Scilly Integrated Care System" in (
        folder / "README.md"
    ).read_text(encoding="utf-8")
    ics = (folder / "sources" / "ics.yaml").read_text(encoding="utf-8")
    assert 'sub_icb_locations: "11N"' in ics and 'partnership_rule: "sub-icb-location"' in ics
    # refresh with the same files gives the same records: init merges as refresh does
    for path in (EPCNS[-1], MAP26):
        option = {"epcn": path} if path.suffix == ".xlsx" else {"gp_map": path}
        plan = plan_refresh(folder / "sources", folder / "schemas", **option)  # type: ignore[arg-type]
        assert plan.texts == {}, (path.name, sorted(plan.texts))
    again = run("init", folder, "--icb", "QT6", "--gp-map", MAP26, "--schemas", SCHEMAS)
    assert again.exit_code == 1 and "already holds files" in again.output


def test_init_refuses_an_icb_not_in_the_mapping_file(
    inputs_2026: InitInputs, tmp_path: Path
) -> None:
    with pytest.raises(InitError, match="no practice of ICB 'QXU'") as caught:
        init_project(tmp_path / "x", "QXU", inputs_2026, SCHEMAS)
    assert "S9B9J" in caught.value.hint
    assert not (tmp_path / "x" / "sources").exists()


def test_init_never_writes_over_a_file_of_the_project(
    inputs_2026: InitInputs, tmp_path: Path
) -> None:
    (tmp_path / "Makefile").write_text("all:\n", encoding="utf-8")
    with pytest.raises(InitError, match="Makefile exists"):
        init_project(tmp_path, "QSL", inputs_2026, SCHEMAS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Makefile"]


# --- boundaries ----------------------------------------------------------------------------------


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / "sources" / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_neighbours_pcns_are_references_never_imported_whole(
    inputs_2026: InitInputs, tmp_path: Path
) -> None:
    """The Black Country (QUA): Birmingham's PCNs appear only where one of the ICS's practices
    belonged to them, each with its commissioner in organisations under its own ICB."""
    init_project(tmp_path / "bc", "QUA", inputs_2026, SCHEMAS)
    ics_codes = {"QUA", "D2P2L", "05C", "05L", "05Y", "06A"}
    pcns = _read(tmp_path / "bc", "pcns.csv")
    organisations = {row["code"]: row for row in _read(tmp_path / "bc", "organisations.csv")}
    memberships = _read(tmp_path / "bc", "pcn_memberships.csv")
    references = [row for row in pcns if row["sub_icb_code"] not in ics_codes]
    assert references, "the Black Country's history touches other ICBs' PCNs"
    for row in references:
        commissioner = organisations[row["sub_icb_code"]]
        assert commissioner["icb_ods_code"] not in ("", "QUA"), row
        assert row["partnership"] == "" and row["partnership_review"] == "false"
        assert any(m["pcn_code"] == row["pcn_code"] for m in memberships)
    birmingham = sum(1 for row in pcns if row["sub_icb_code"] == "15E")
    assert 0 < birmingham < 10  # a handful, not Birmingham's 36


# --- anomalies as warnings, and decisions --------------------------------------------------------


@pytest.fixture(scope="module")
def greater_manchester(inputs_2026: InitInputs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gm")
    init_project(folder, "QOP", inputs_2026, SCHEMAS)
    return folder


def _copy(folder: Path, tmp_path: Path) -> Path:
    shutil.copytree(folder / "sources", tmp_path / "sources")
    shutil.copytree(folder / "schemas", tmp_path / "schemas")
    return tmp_path


def _validate(folder: Path, *extra: str) -> Result:
    return run("validate", "--sources", folder / "sources", "--schemas", folder / "schemas", *extra)


def test_the_publishers_overlaps_are_warnings_and_a_decision_resolves_one(
    greater_manchester: Path, tmp_path: Path
) -> None:
    folder = _copy(greater_manchester, tmp_path)
    report = json.loads(_validate(folder, "--format", "json").stdout)
    assert report["ok"] is True
    warnings = [i for i in report["issues"] if i["severity"] == "warning"]
    overlaps = [i for i in warnings if i["code"] == "publisher-overlap"]
    assert overlaps and report["summary"]["warnings"]["publisher-overlap"] == len(overlaps)
    github = _validate(folder, "--format", "github")
    assert github.exit_code == 0 and "::warning " in github.output
    key = overlaps[0]["message"].rsplit("decisions key: ", 1)[1].rstrip(")")
    (folder / "sources" / "decisions.yaml").write_text(
        "- code: publisher-overlap\n"
        "  resource: pcn_memberships\n"
        f'  key: "{key}"\n'
        "  decision: kept as published; ODS gives both periods\n"
        "  decided_by: primary care data team\n"
        '  decided_on: "2026-12-01"\n'
        "  source: EPCN-2025-01-20\n",
        encoding="utf-8",
    )
    after = json.loads(_validate(folder, "--format", "json").stdout)
    assert after["ok"] is True and after["summary"]["decided"] == 1
    assert after["summary"]["warnings"]["publisher-overlap"] == len(overlaps) - 1
    text = (folder / "sources" / "decisions.yaml").read_text(encoding="utf-8")
    (folder / "sources" / "decisions.yaml").write_text(text.replace(key, key + "9"))
    typo = _validate(folder)
    assert typo.exit_code == 1 and "[decision-unmatched]" in typo.output


def test_a_hand_kept_or_absent_partnership_layer_is_followed(
    inputs_2026: InitInputs, tmp_path: Path
) -> None:
    init_project(tmp_path / "hand", "QSL", inputs_2026, SCHEMAS, rule=HAND_KEPT)
    hand = json.loads(_validate(tmp_path / "hand", "--format", "json").stdout)
    assert hand["ok"] is True and hand["summary"]["warnings"]["partnership-not-set"] > 0
    init_project(tmp_path / "none", "QSL", inputs_2026, SCHEMAS, rule=NO_PARTNERSHIPS)
    folder = tmp_path / "none"
    assert _validate(folder).exit_code == 0
    settle_review(folder / "sources")
    published = run(
        "publish", "--sources", folder / "sources", "--schemas", folder / "schemas",
        "--output", folder / "output",
    )  # fmt: skip
    assert published.exit_code == 0, published.output
    page = (folder / "output" / "releases" / "1.0.0.html").read_text(encoding="utf-8")
    assert "No partnership" in page  # the chart's one column: an ICS with no partnership layer
    pcns = (folder / "sources" / "pcns.csv").read_text(encoding="utf-8")
    first = pcns.splitlines()[1].split(",")
    broken = pcns.replace(",".join(first), ",".join([*first[:9], "sub-icb-11x", *first[10:]]), 1)
    (folder / "sources" / "pcns.csv").write_text(broken, encoding="utf-8")
    result = _validate(folder)
    assert result.exit_code == 1 and "[partnership-not-used]" in result.output


def test_a_long_ics_name_shrinks_to_fit_the_chart_on_a_phone() -> None:
    structure = "as_at,partnership,pcn_code,pcn_name,practice_code\n2026-08-01,a,U1,A PCN,P1\n"
    ics = {"name": "Coventry and Warwickshire Integrated Care System", "code": "QWU"}
    wide = structure_chart(structure, [{"id": "a", "name": "A"}], ics)
    phone = structure_chart(structure, [{"id": "a", "name": "A"}], ics, per_row=1, total_width=360)
    assert wide is not None and phone is not None
    assert wide.title_size == 17.0
    assert phone.title_size < 15.0  # 15px would run past the 336px box
    assert len(ics["name"]) * ROOT_CHAR / 17.0 * phone.title_size <= phone.root_width - 24


def test_refresh_reports_the_publishers_anomalies_as_warnings(
    inputs_2022: InitInputs, tmp_path: Path
) -> None:
    """Greater Manchester started from the 2022 mapping file, refreshed with the 2026 one: the
    refresh goes through and its report lists the publisher's overlaps as warnings."""
    init_project(tmp_path / "gm", "QOP", inputs_2022, SCHEMAS)
    sources, schemas = tmp_path / "gm" / "sources", tmp_path / "gm" / "schemas"
    result = run("refresh", "--gp-map", MAP26, "--sources", sources, "--schemas", schemas)
    assert result.exit_code == 0, result.output
    assert "Warnings in the refreshed sources" in result.output
    assert "publisher-overlap" in result.output
    report = json.loads(
        run(
            "refresh",
            "--gp-map",
            MAP26,
            "--sources",
            sources,
            "--schemas",
            schemas,
            "--format",
            "json",
        ).stdout  # fmt: skip
    )
    assert report["files"] == []  # the second run changes nothing
