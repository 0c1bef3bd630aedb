"""`ics-data refresh`: the upstream history replayed, idempotence, every quirk, refusals, the CLI.

Every test works on a copy of the shipped project under tmp_path (`project` in conftest.py) and
the upstream subsets in tests/fixtures/upstream (see their README.md for the quirks tested here).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, Project, copy_project
from hypothesis import given
from hypothesis import strategies as st

from pipeline.changes.model import Counts
from pipeline.check.claims import pcns_open
from pipeline.cli import cli
from pipeline.core.errors import PipelineError
from pipeline.upstream.columns import UpstreamFormatError
from pipeline.upstream.csvedit import CsvDocument
from pipeline.upstream.refresh import (
    RefreshError,
    RefreshPlan,
    RefreshReport,
    apply_refresh,
    plan_refresh,
)
from pipeline.upstream.registry import append_entries, new_entry
from pipeline.upstream.report import render_refresh

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"
EPCN22 = FIXTURES / "epcn_2022-04-27_kent_medway.xlsx"
EPCN23 = FIXTURES / "epcn_2023-01-26_kent_medway.xlsx"
EPCN25 = FIXTURES / "epcn_2025-01-20_kent_medway.xlsx"
MAP22 = FIXTURES / "gp-reg-pat-prac-map_2022-01-01_kent_medway.csv"
MAP26 = FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.csv"
MAP26_ZIP = FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.zip"
EDITED = ("pcns.csv", "practices.csv", "pcn_memberships.csv", "pcn_names.csv", "package.yaml")

NAME_FACTS = (
    "pcn_code",
    "number",
    "name",
    "valid_from",
    "valid_from_earliest",
    "valid_from_latest",
    "valid_to",
    "valid_to_earliest",
    "valid_to_latest",
    "source",
)
PCN_FACTS = (
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "open_date",
    "open_date_earliest",
    "open_date_latest",
    "close_date",
    "close_date_earliest",
    "close_date_latest",
    "partnership",
)
MEMBERSHIP_FACTS = (
    "practice_code",
    "pcn_code",
    "start_date",
    "start_date_earliest",
    "start_date_latest",
    "end_date",
    "end_date_earliest",
    "end_date_latest",
)


# ---------------------------------------------------------------------------------------------
# Helpers


def refresh(project: Project, **options: object) -> RefreshPlan:
    """Plan and write a refresh of the project; return the plan."""
    plan = plan_refresh(project.sources, project.schemas, **options)  # type: ignore[arg-type]
    apply_refresh(plan)
    return plan


def readings(report: RefreshReport, *kinds: str) -> list[tuple[str, str, str, str]]:
    """What the report's diff says the changes mean: (kind, key, old, new), of the given kinds."""
    assert report.diff is not None
    return [
        (c.kind, c.key, c.old, c.new)
        for c in report.diff.readings()
        if not kinds or c.kind in kinds
    ]


def rows(project: Project, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(project.read(name), newline="")))


def by_key(table: list[dict[str, str]], *key: str) -> dict[tuple[str, ...], dict[str, str]]:
    return {tuple(row[k] for k in key): row for row in table}


def facts(table: list[dict[str, str]], columns: Sequence[str]) -> list[tuple[str, ...]]:
    return sorted(tuple(row[c] for c in columns) for row in table)


def snapshot(project: Project) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(project.sources.iterdir())}


def open_pcns(project: Project, day: date) -> str:
    return str(pcns_open(project.validate().dataset, day))


def header_only(project: Project, name: str) -> None:
    project.write(name, project.read(name).splitlines(keepends=True)[0])


def emptied(root: Path) -> Project:
    """The shipped project with no PCN, membership or practice facts.

    pcns.csv and pcn_memberships.csv keep only their header; the registered patients (whose
    rows name the PCNs) are not there at all, source or schema. practices.csv keeps, for each
    practice in the ePCN history, only what no upstream file gives: its code and its 2019 CCG
    (from ODS epcmem), which the partnership proposals need. Names and postcodes are empty.
    """
    project = copy_project(root)
    header_only(project, "pcns.csv")
    header_only(project, "pcn_memberships.csv")
    header_only(project, "pcn_names.csv")
    for resource in ("registered_patients", "registered_totals"):
        project.path(f"{resource}.csv").unlink()
        project.path(f"schemas/{resource}.schema.yaml").unlink()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["practice_code", "practice_name", "postcode", "ccg_2019_code", "source"])
    for row in rows(project, "practices.csv"):
        if row["practice_code"] != "G82067":  # only in the 2026 mapping, unallocated
            writer.writerow([row["practice_code"], "", "", row["ccg_2019_code"], "EPCMEM"])
    project.write("practices.csv", out.getvalue())
    return project


def mapping(
    tmp_path: Path,
    edit: Callable[[list[str]], list[str]],
    extract: str = "01Sep2026",
    name: str = "gp-reg-pat-prac-map.zip",
) -> Path:
    """The 2026-08-01 mapping with another extract date and lines edited, zipped as published."""
    header, *lines = MAP26.read_text(encoding="utf-8").splitlines()
    lines = edit([line.replace("01Aug2026", extract) for line in lines])
    path = tmp_path / name
    text = "\r\n".join([header, *lines]) + "\r\n"
    if name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("gp-reg-pat-prac-map.csv", text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def map_line(practice: str, name: str, postcode: str, pcn: str, pcn_name: str) -> str:
    return (
        f"GP_PRAC_PAT_LIST,01Sep2026,{practice},{name},{postcode},{pcn},{pcn_name},E38000237,91Q,"
        "NHS Kent and Medway ICB - 91Q,E54000032,QKS,NHS Kent and Medway Integrated Care Board,"
        "E40000005,Y59,South East,EMIS"
    )


def moved(lines: list[str], practice: str, pcn: str, pcn_name: str) -> list[str]:
    out = []
    for line in lines:
        if f",{practice}," in line:
            cells = line.split(",")
            cells[5], cells[6] = pcn, pcn_name
            line = ",".join(cells)
        out.append(line)
    return out


def september(lines: list[str]) -> list[str]:
    """A month later: a new PCN takes two practices, a PCN is renamed, a practice closes, one
    becomes unallocated, a new practice opens."""
    lines = [line for line in lines if ",G82002," not in line]
    lines = moved(lines, "G82122", "U99001", "SWANSCOMBE & GREENHITHE PCN")
    lines = moved(lines, "G82212", "U99001", "SWANSCOMBE & GREENHITHE PCN")
    lines = [
        line.replace("U17834,DARTFORD MODEL PCN", "U17834,DARTFORD MODEL PRIMARY CARE NETWORK")
        for line in lines
    ]
    lines = moved(lines, "G82006", "U", "Unallocated")
    lines.append(
        map_line("Y09999", "NEW TOWN SURGERY", "DA9 9ZZ", "U99001", "SWANSCOMBE & GREENHITHE PCN")
    )
    return lines


def with_vintage(path: Path, day: date) -> Path:
    """Set the workbook's last-saved date (openpyxl stamps the time of saving)."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + f"{day.isoformat()}T09:00:00Z".encode() + rb"\g<2>",
                    data,
                )
            archive.writestr(info, data)
    return path


def workbook(
    tmp_path: Path,
    pcns: Sequence[Sequence[object]],
    partners: Sequence[Sequence[object]],
    day: date,
    name: str = "ePCN.xlsx",
) -> Path:
    """An ePCN workbook with the EPCN25 headers and the given data rows."""
    source = openpyxl.load_workbook(EPCN25, read_only=True)
    book = openpyxl.Workbook(write_only=True)
    try:
        for sheet, data in (("PCNDetails", pcns), ("PCN Core Partner Details", partners)):
            target = book.create_sheet(sheet)
            target.append(next(source[sheet].iter_rows(values_only=True)))
            for row in data:
                target.append(list(row))
    finally:
        source.close()
    path = tmp_path / name
    book.save(path)
    return with_vintage(path, day)


def pcn_row(code: str, name: str, opened: str, closed: str = "") -> list[object]:
    return [code, name, "91Q", "NHS KENT AND MEDWAY ICB - 91Q", opened, closed, *[""] * 6]


NAMES = {"G82027": "FAVERSHAM MEDICAL PRACTICE", "G82039": "NEWTON PLACE SURGERY"}


def partner_row(practice: str, pcn: str, start: str, end: str | None = None) -> list[object]:
    return [
        practice,
        NAMES.get(practice, "A PRACTICE"),
        "91Q",
        "NHS KENT AND MEDWAY ICB - 91Q",
        pcn,
        "A PCN",
        "91Q",
        "NHS KENT AND MEDWAY ICB - 91Q",
        start,
        end,
        True,
    ]


@pytest.fixture
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield emptied(tmp_path_factory.mktemp("replay") / "project")


# ---------------------------------------------------------------------------------------------
# Done when: the history replayed rebuilds the shipped facts


def test_replaying_the_upstream_history_rebuilds_the_shipped_facts(replayed: Project) -> None:
    shipped = copy_project(replayed.root.parent / "shipped")
    counts, reports = [], []
    for options, day in (
        ({"epcn": EPCN22}, date(2022, 4, 27)),
        ({"epcn": EPCN23}, date(2023, 1, 26)),
        ({"epcn": EPCN25}, date(2025, 1, 20)),
        ({"gp_map": MAP26_ZIP}, date(2026, 8, 1)),
    ):
        plan = refresh(replayed, **options)
        assert plan.report.inputs[0].vintage == day
        assert replayed.validate().report.ok
        counts.append(open_pcns(replayed, day))
        reports.append(plan.report)
    assert counts == ["41", "42", "43", "45"]

    # Each step reports the semantic diff of `ics-data diff`, except the first: the emptied
    # sources were not valid, so there was nothing to compare with.
    first, epcn23, epcn25, map26 = reports
    assert first.diff is None and first.before_issues > 0
    assert first.bump is None and first.next_version is None
    assert "the sources before the refresh were not valid" in render_refresh(first).lower()
    assert readings(epcn23, "pcn-opened", "pcn-closed") == [
        ("pcn-opened", "U12550", "", "2023-01-01"),
        ("pcn-opened", "U92100", "", "2022-11-09"),
        ("pcn-closed", "U92034", "", "2022-12-31"),
    ]
    assert readings(epcn25, "pcn-opened", "pcn-closed") == [
        ("pcn-opened", "U13680", "", "2023-12-01"),
        ("pcn-opened", "U43072", "", "2024-10-01"),
        ("pcn-closed", "U82359", "", "2023-11-30"),
    ]
    # The mapping has no dates: the new PCNs opened between the ePCN and the mapping.
    assert readings(map26, "pcn-opened") == [
        ("pcn-opened", "U11490", "", ""),
        ("pcn-opened", "U29398", "", ""),
    ]
    moves = readings(map26, "practice-moved")
    assert ("practice-moved", "G82219-U11684-1", "U67045", "U11684") in moves
    assert ("practice-moved", "G82666-U11684-1", "U67045", "U11684") in moves
    assert (
        "PCN U29398 THE MOTE & WALLIS HEALTH PRIMARY CARE NETWORK opened between 2025-01-21 "
        "and 2026-08-01" in render_refresh(map26)
    )
    assert [(r.bump, r.next_version) for r in (epcn23, epcn25, map26)] == [("minor", "1.1.0")] * 3

    pcns, expected = rows(replayed, "pcns.csv"), rows(shipped, "pcns.csv")
    assert facts(pcns, PCN_FACTS) == facts(expected, PCN_FACTS)
    # In key order, as the shipped files are.
    assert [r["pcn_code"] for r in pcns] == [r["pcn_code"] for r in expected]
    members, shipped_members = (
        rows(replayed, "pcn_memberships.csv"),
        rows(shipped, "pcn_memberships.csv"),
    )
    assert [tuple(r[c] for c in MEMBERSHIP_FACTS) for r in members] == [
        tuple(r[c] for c in MEMBERSHIP_FACTS) for r in shipped_members
    ]
    # Every PCN was new, so every partnership is a proposal awaiting review.
    assert {r["partnership_review"] for r in pcns} == {"true"}
    # MAP22 (older than both the ePCNs and MAP26) adds the name U87442 had before 2022-04:
    # pcn_names then holds every name of every PCN with its period, as shipped (MAP20, not among
    # the fixtures, is cited by the shipped ASHFORD STOUR PCN row besides).
    names_before = rows(replayed, "pcn_names.csv")
    assert [r["name"] for r in names_before if r["pcn_code"] == "U87442"] == ["MID KENT PCN"]
    refresh(replayed, gp_map=MAP22, allow_older=True)
    pcns = rows(replayed, "pcns.csv")
    assert facts(pcns, PCN_FACTS) == facts(expected, PCN_FACTS)
    # (the replay recorded MID KENT PCN first: numbers follow the order names are recorded)
    periods = [c for c in NAME_FACTS if c not in ("source", "number")]
    assert facts(rows(replayed, "pcn_names.csv"), periods) == facts(
        rows(shipped, "pcn_names.csv"), periods
    )
    practices = by_key(rows(replayed, "practices.csv"), "practice_code")
    for key, row in by_key(rows(shipped, "practices.csv"), "practice_code").items():
        assert practices[key]["practice_name"] == row["practice_name"], key
        # MAP20 (2020-09-01) is not among the fixtures: its postcodes stay empty.
        if "MAP20" not in row["source"]:
            assert practices[key]["postcode"] == row["postcode"], key
    assert practices[("G82067",)]["ccg_2019_code"] == ""  # epcmem is not an upstream input
    assert replayed.validate().report.ok


def test_refreshing_the_shipped_sources_with_the_newest_files_is_a_no_op(
    project: Project,
) -> None:
    before = snapshot(project)
    for options in (
        {"epcn": EPCN25, "gp_map": MAP26_ZIP},
        {"epcn": EPCN25},
        {"gp_map": MAP26},
    ):
        plan = refresh(project, **options)
        assert plan.texts == {}
        assert plan.report.diff is None and plan.report.files == ()
        assert (plan.report.bump, plan.report.next_version) == ("none", "1.0.0")
        text = render_refresh(plan.report)
        assert "no change: the sources already hold these facts" in text
        assert "What changed" not in text and "Version: no bump needed (1.0.0)." in text
        assert json.loads(render_refresh(plan.report, "json"))["bump"] == "none"
        assert snapshot(project) == before


def test_a_second_run_with_the_same_file_changes_nothing(project: Project, tmp_path: Path) -> None:
    new = mapping(tmp_path, september)
    first = refresh(project, gp_map=new)
    assert set(first.texts) == set(EDITED)
    after = snapshot(project)
    second = refresh(project, gp_map=new)
    assert second.texts == {} and snapshot(project) == after


# ---------------------------------------------------------------------------------------------
# The monthly mapping: what a new month does to the records


def test_a_new_month_of_the_mapping_file(project: Project, tmp_path: Path) -> None:
    before = {name: project.read(name) for name in EDITED}
    plan = refresh(project, gp_map=mapping(tmp_path, september))
    report = plan.report
    pcns = by_key(rows(project, "pcns.csv"), "pcn_code")
    members = by_key(
        rows(project, "pcn_memberships.csv"), "practice_code", "pcn_code", "start_date"
    )

    new = pcns[("U99001",)]
    assert (
        new["pcn_name"],
        new["open_date"],
        new["open_date_earliest"],
        new["open_date_latest"],
    ) == (
        "SWANSCOMBE & GREENHITHE PCN",
        "",
        "2026-08-02",
        "2026-09-01",
    )
    assert (new["partnership"], new["partnership_review"]) == ("dartford-gravesham-swanley", "true")
    assert new["partnership_basis"] == "derived: member practices' 2019 CCG (EPCMEM) 09J:2"
    assert new["source"] == "MAP-2026-09-01; EPCMEM; KM-HCP; DERIVED"

    renamed = pcns[("U17834",)]
    assert renamed["pcn_name"] == "DARTFORD MODEL PRIMARY CARE NETWORK"
    # the old name ends between the newest file that showed it and the day before this one
    assert [
        (r["name"], r["valid_from_earliest"], r["valid_from_latest"])
        + (r["valid_to_earliest"], r["valid_to_latest"], r["source"])
        for r in rows(project, "pcn_names.csv")
        if r["pcn_code"] == "U17834"
    ] == [
        (
            "DARTFORD MODEL PCN",
            "",
            "",
            "2026-08-01",
            "2026-08-31",
            "EPCN22; EPCN23; EPCN25; MAP20; MAP22; MAP26; MAP-2026-09-01",
        ),
        (
            "DARTFORD MODEL PRIMARY CARE NETWORK",
            "2026-08-02",
            "2026-09-01",
            "",
            "",
            "MAP-2026-09-01",
        ),
    ]
    assert renamed["partnership_review"] == "false"  # hand-curated fields kept

    left = members[("G82122", "U04973", "2019-10-01")]
    assert (left["end_date"], left["end_date_earliest"], left["end_date_latest"]) == (
        "",
        "2026-08-01",
        "2026-08-31",
    )
    joined = members[("G82122", "U99001", "")]
    assert (joined["start_date_earliest"], joined["start_date_latest"]) == (
        "2026-08-02",
        "2026-09-01",
    )
    assert members[("G82006", "U17834", "2019-10-01")]["end_date_latest"] == "2026-08-31"  # now U
    assert members[("G82002", "U34235", "2019-10-01")]["end_date_latest"] == "2026-08-31"  # gone

    practice = by_key(rows(project, "practices.csv"), "practice_code")[("Y09999",)]
    assert practice == {
        "practice_code": "Y09999",
        "practice_name": "NEW TOWN SURGERY",
        "postcode": "DA9 9ZZ",
        "ccg_2019_code": "",
        "source": "MAP-2026-09-01",
    }
    # The report says what a person must check: never a silent guess.
    codes = [(note.code, note.key) for note in report.notes]
    assert ("partnership-proposed", "U99001") in codes
    assert ("practice-without-ccg", "Y09999") in codes
    assert ("practice-unallocated", "G82006") in codes
    assert ("practice-not-in-file", "G82002") in codes
    # The change as `ics-data diff` reads it, and the version bump it implies.
    assert readings(report) == [
        ("pcn-opened", "U99001", "", ""),
        ("pcn-renamed", "U17834", "DARTFORD MODEL PCN", "DARTFORD MODEL PRIMARY CARE NETWORK"),
        ("practice-moved", "G82122-U99001-1", "U04973", "U99001"),
        ("practice-moved", "G82212-U99001-1", "U04973", "U99001"),
        ("practice-joined", "Y09999-U99001-1", "", "U99001"),
        ("practice-left", "G82002-U34235-1", "U34235", ""),
        ("practice-left", "G82006-U17834-1", "U17834", ""),
        ("pcn-count-changed", "dartford-gravesham-swanley", "7", "8"),
    ]
    assert report.diff is not None
    descriptions = [c.description for c in report.diff.readings()]
    assert "PCN U99001 SWANSCOMBE & GREENHITHE PCN opened between 2026-08-02 and 2026-09-01" in (
        descriptions
    )
    assert report.bump == "minor" and report.next_version == "1.1.0"
    # The diff of each file is only the changed lines, in place.
    for name in ("pcns.csv", "pcn_memberships.csv", "practices.csv"):
        old, new_lines = before[name].splitlines(), project.read(name).splitlines()
        assert new_lines[0] == old[0]
        unchanged = [line for line in new_lines if line in old]
        assert len(unchanged) >= len(old) - 4, name
    assert project.validate().report.ok


def test_the_upstream_file_is_registered_once_and_cited(project: Project, tmp_path: Path) -> None:
    package = project.read("package.yaml")
    new = mapping(tmp_path, september)
    refresh(project, gp_map=new)
    text = project.read("package.yaml")
    assert text.startswith(package)  # appended, every other line as it was
    added = text[len(package) :]
    assert "  - id: MAP-2026-09-01\n" in added
    assert 'vintage: "2026-09-01"' in added
    assert re.search(r"sha256: [0-9a-f]{64}\n", added)
    assert 'path: "gp-reg-pat-prac-map.zip"' in added
    changed = [r for r in rows(project, "pcn_memberships.csv") if "MAP-2026-09-01" in r["source"]]
    assert len(changed) == 7
    # The same file again (or its csv) reuses the entry: same vintage and publication.
    refresh(project, gp_map=mapping(tmp_path, september, name="map.csv"))
    assert project.read("package.yaml") == text


def test_a_file_that_changes_nothing_is_not_registered(project: Project, tmp_path: Path) -> None:
    before = snapshot(project)
    plan = refresh(project, gp_map=mapping(tmp_path, lambda lines: lines))
    assert plan.texts == {} and snapshot(project) == before
    assert not plan.report.inputs[0].registered


# ---------------------------------------------------------------------------------------------
# ePCN after a mapping: exact dates replace the bounds


def test_a_newer_epcn_gives_exact_dates_for_what_the_mapping_bounded(
    project: Project, tmp_path: Path
) -> None:
    path = workbook(
        tmp_path,
        [
            pcn_row("U11490", "FAVERSHAM PCN", "20250401"),
            pcn_row("U87442", "MID KENT PCN", "20191001"),
        ],
        [
            partner_row("G82027", "U87442", "20220401", "20250331"),
            partner_row("G82027", "U11490", "20250401"),
            partner_row("G82039", "U87442", "20220401", "20250331"),
            partner_row("G82039", "U11490", "20250401"),
        ],
        date(2026, 10, 1),
    )
    plan = refresh(project, epcn=path)
    pcns = by_key(rows(project, "pcns.csv"), "pcn_code")
    faversham = pcns[("U11490",)]
    assert [faversham[c] for c in ("open_date", "open_date_earliest", "open_date_latest")] == [
        "2025-04-01",
        "",
        "",
    ]
    assert faversham["partnership"] == "east-kent" and faversham["partnership_review"] == "false"
    members = by_key(
        rows(project, "pcn_memberships.csv"), "practice_code", "pcn_code", "start_date"
    )
    assert ("G82027", "U11490", "") not in members
    assert members[("G82027", "U11490", "2025-04-01")]["start_date_earliest"] == ""
    ended = members[("G82027", "U87442", "2022-04-01")]
    assert (ended["end_date"], ended["end_date_earliest"], ended["end_date_latest"]) == (
        "2025-03-31",
        "",
        "",
    )
    assert ended["source"] == "EPCN25; MAP26; EPCN-2026-10-01"
    # A start date known at last is the same membership changed, not one removed and one added.
    assert plan.report.diff is not None
    assert plan.report.diff.counts()["pcn_memberships"] == Counts(added=0, removed=0, changed=4)
    assert not readings(plan.report, "practice-moved", "practice-joined", "practice-left")
    # The records only gain precision (patch), but an exact opening date adds its milestone to
    # the derived milestones table, and a record added is a minor change.
    assert [(c.resource, c.kind, c.key) for c in plan.report.diff.needing("minor")] == [
        ("milestones", "added", "2025-04-01|pcn-opened-u11490")
    ]
    assert plan.report.bump == "minor"
    assert project.validate().report.ok


def test_an_epcn_date_narrows_the_bounds_of_members_it_does_not_list(
    project: Project, tmp_path: Path
) -> None:
    """U11490 opened on 2025-04-01, so G82039 cannot have joined it before, listed or not."""
    path = workbook(
        tmp_path,
        [pcn_row("U11490", "FAVERSHAM PCN", "20250401")],
        [partner_row("G82027", "U11490", "20250401")],
        date(2026, 10, 1),
    )
    refresh(project, epcn=path)
    members = by_key(
        rows(project, "pcn_memberships.csv"), "practice_code", "pcn_code", "start_date"
    )
    other = members[("G82039", "U11490", "")]
    assert (other["start_date_earliest"], other["start_date_latest"]) == (
        "2025-04-01",
        "2026-08-01",
    )
    assert other["source"] == "MAP26; EPCN-2026-10-01"
    assert project.validate().report.ok


# ---------------------------------------------------------------------------------------------
# The quirks of the upstream files (tests/fixtures/upstream/README.md), as refresh meets them


@pytest.fixture
def from_epcn22(replayed: Project) -> Project:
    refresh(replayed, epcn=EPCN22)
    return replayed


def test_quirk_dates_are_yyyymmdd_text(from_epcn22: Project) -> None:
    pcns = by_key(rows(from_epcn22, "pcns.csv"), "pcn_code")
    assert pcns[("U50767",)]["open_date"] == "2020-09-01"  # "20200901" in the workbook


def test_quirk_two_kinds_of_empty(from_epcn22: Project) -> None:
    # "" in PCNDetails (close date of an open PCN), no value in the partner sheet (end date).
    pcn = by_key(rows(from_epcn22, "pcns.csv"), "pcn_code")[("U04973",)]
    assert [pcn[c] for c in ("close_date", "close_date_earliest", "close_date_latest")] == [""] * 3
    members = rows(from_epcn22, "pcn_memberships.csv")
    assert sum(1 for r in members if not r["end_date"]) == 190  # open in EPCN22 (README)


def test_quirk_closed_records_are_included(from_epcn22: Project) -> None:
    pcns = by_key(rows(from_epcn22, "pcns.csv"), "pcn_code")
    assert pcns[("U01315",)]["close_date"] == "2022-03-31"
    assert len(pcns) == 44 and len(rows(from_epcn22, "pcn_memberships.csv")) == 222


def test_quirk_end_dates_after_the_files_own_date(from_epcn22: Project) -> None:
    members = by_key(
        rows(from_epcn22, "pcn_memberships.csv"), "practice_code", "pcn_code", "start_date"
    )
    assert members[("G82024", "U92034", "2019-10-01")]["end_date"] == "2022-06-29"


def test_quirk_one_pair_several_periods(from_epcn22: Project) -> None:
    refresh(from_epcn22, epcn=EPCN23)
    members = [
        r for r in rows(from_epcn22, "pcn_memberships.csv") if r["practice_code"] == "G82024"
    ]
    assert [(r["pcn_code"], r["start_date"], r["end_date"]) for r in members] == [
        ("U92034", "2019-10-01", "2022-06-29"),
        ("U92034", "2022-06-30", "2022-11-08"),
        ("U92100", "2022-11-09", ""),
    ]


def test_quirk_parents_disagree_and_old_commissioner_codes(from_epcn22: Project) -> None:
    """Sittingbourne East/West: commissioner 10D (a CCG closed in 2020), practices under 91Q."""
    pcns = by_key(rows(from_epcn22, "pcns.csv"), "pcn_code")
    assert pcns[("U57426",)]["sub_icb_code"] == "10D"
    assert pcns[("U57426",)]["partnership"] == "medway-swale"
    members = [
        r for r in rows(from_epcn22, "pcn_memberships.csv") if r["pcn_code"] in {"U57426", "U08744"}
    ]
    assert len(members) == 9  # the nine rows with Match = FALSE


def test_quirk_headers_change_wording_between_vintages(replayed: Project, tmp_path: Path) -> None:
    """CCG wording (2022-04) and Sub ICB wording (2023-01): the same facts either way."""
    other = emptied(tmp_path / "other")
    refresh(replayed, epcn=EPCN22)
    refresh(other, epcn=EPCN23)
    ours = by_key(rows(replayed, "pcns.csv"), "pcn_code")[("U04973",)]
    theirs = by_key(rows(other, "pcns.csv"), "pcn_code")[("U04973",)]
    assert [ours[c] for c in PCN_FACTS] == [theirs[c] for c in PCN_FACTS]


def test_quirk_rows_hidden_by_a_saved_filter_are_imported(replayed: Project) -> None:
    refresh(replayed, epcn=EPCN25)  # every partner row of EPCN25 is hidden
    assert len(rows(replayed, "pcn_memberships.csv")) == 239


def test_quirk_history_is_corrected_after_the_fact(from_epcn22: Project) -> None:
    """G82671 left U37339 on 2022-03-31: open in EPCN22 (2022-04-27), ended in EPCN23."""
    key = ("G82671", "U37339", "2020-04-01")
    members = by_key(
        rows(from_epcn22, "pcn_memberships.csv"), "practice_code", "pcn_code", "start_date"
    )
    assert members[key]["end_date"] == ""
    refresh(from_epcn22, epcn=EPCN23)
    members = by_key(
        rows(from_epcn22, "pcn_memberships.csv"), "practice_code", "pcn_code", "start_date"
    )
    assert members[key]["end_date"] == "2022-03-31"
    assert members[key]["source"] == "EPCN22; EPCN23"


def test_quirk_unallocated_is_no_pcn_and_no_membership(project: Project, tmp_path: Path) -> None:
    refresh(project, gp_map=mapping(tmp_path, september))
    assert "U" not in {r["pcn_code"] for r in rows(project, "pcns.csv")}
    assert "U" not in {r["pcn_code"] for r in rows(project, "pcn_memberships.csv")}
    assert not [r for r in rows(project, "pcn_memberships.csv") if r["practice_code"] == "G82067"]


def test_quirk_mapping_schemas_line_ends_and_extract_dates(from_epcn22: Project) -> None:
    """MAP22: CCG_*/STP_* columns, LF, 01Jan2022 (MAP26: SUB_ICB_*/ICB_*, CRLF, 01Aug2026).

    MAP22 is older than the ePCN already merged, so it only fills gaps: postcodes (the ePCN has
    none) and the name U87442 had before it became MID KENT PCN.
    """
    plan = refresh(from_epcn22, gp_map=MAP22)
    assert plan.report.inputs[0].vintage == date(2022, 1, 1)
    assert [note.code for note in plan.report.notes] == ["stale-snapshot"]
    pcn = by_key(rows(from_epcn22, "pcns.csv"), "pcn_code")[("U87442",)]
    assert pcn["pcn_name"] == "MID KENT PCN"
    names = [
        (r["name"], r["valid_from_earliest"], r["valid_from_latest"])
        + (r["valid_to_earliest"], r["valid_to_latest"], r["source"])
        for r in rows(from_epcn22, "pcn_names.csv")
        if r["pcn_code"] == "U87442"
    ]
    assert names == [
        ("ASHFORD STOUR PCN", "", "", "2022-01-01", "2022-04-26", "MAP22; EPCN22; DERIVED"),
        ("MID KENT PCN", "2022-01-02", "2022-04-27", "", "", "EPCN22; MAP22"),
    ]
    practice = by_key(rows(from_epcn22, "practices.csv"), "practice_code")[("G82017",)]
    assert practice["postcode"] == "ME14 5DY"
    assert practice["source"] == "EPCN22; MAP22; EPCMEM"
    assert plan.report.diff is not None
    assert "pcn_memberships" not in plan.report.diff.counts()


def test_quirk_quoted_fields_and_apostrophes(project: Project, tmp_path: Path) -> None:
    oakfield = next(
        line for line in project.read("practices.csv").splitlines() if "OAKFIELD" in line
    )

    def branch(lines: list[str]) -> list[str]:
        line = map_line("Y09997", "ST ANNE'S, BRANCH", "ME1 1AB", "U78466", "MEDWAY CENTRAL PCN")
        return [*lines, line.replace("ST ANNE'S, BRANCH", '"ST ANNE\'S, BRANCH"')]

    refresh(project, gp_map=mapping(tmp_path, branch))
    text = project.read("practices.csv")
    assert '\nY09997,"ST ANNE\'S, BRANCH",ME1 1AB,,MAP-2026-09-01\n' in text
    assert oakfield in text.splitlines()  # '"OAKFIELD HEALTH CENTRE, PRACTICE 2"' kept as it was
    names = {r["practice_code"]: r["practice_name"] for r in rows(project, "practices.csv")}
    assert names["G82002"] == "ST JAMES' SURGERY"


def test_quirk_the_zip_and_the_csv_give_the_same_sources(replayed: Project, tmp_path: Path) -> None:
    other = emptied(tmp_path / "other")
    refresh(replayed, epcn=EPCN25)
    refresh(other, epcn=EPCN25)
    refresh(replayed, gp_map=MAP26_ZIP)
    refresh(other, gp_map=MAP26)
    for name in EDITED[:4]:
        assert replayed.read(name) == other.read(name)


def test_quirk_case_alone_is_not_a_rename(project: Project, tmp_path: Path) -> None:
    title = mapping(
        tmp_path, lambda ls: [line.replace("DOVER TOWN PCN", "Dover Town PCN") for line in ls]
    )
    refresh(project, gp_map=title)
    dover = by_key(rows(project, "pcns.csv"), "pcn_code")[("U34235",)]
    assert dover["pcn_name"] == "DOVER TOWN PCN"
    assert [r["name"] for r in rows(project, "pcn_names.csv") if r["pcn_code"] == "U34235"] == [
        "DOVER TOWN PCN"
    ]


def test_only_this_ics_rows_are_kept_from_a_national_file(project: Project, tmp_path: Path) -> None:
    def national(lines: list[str]) -> list[str]:
        elsewhere = [
            line.replace(",91Q,", ",72Q,").replace(",QKS,", ",QKK,").replace(",U", ",V")
            for line in lines
        ]
        return elsewhere + september(lines) + elsewhere

    plan = refresh(project, gp_map=mapping(tmp_path, national))
    kent = copy_project(tmp_path / "kent")
    refresh(kent, gp_map=mapping(tmp_path, september, name="kent.zip"))
    assert plan.report.inputs[0].kept == 175
    for name in EDITED[:4]:
        assert project.read(name) == kent.read(name)


# ---------------------------------------------------------------------------------------------
# Refusals: nothing changes


def broken_workbook(tmp_path: Path, change: Callable[[openpyxl.Workbook], None]) -> Path:
    book = openpyxl.load_workbook(EPCN25)
    change(book)
    path = tmp_path / "ePCN.xlsx"
    book.save(path)
    return path


def rename_sheet(book: openpyxl.Workbook) -> None:
    book["PCNDetails"].title = "PCN Details"


def iso_date(book: openpyxl.Workbook) -> None:
    book["PCNDetails"]["E7"] = "2019-10-01"


def extra_header(book: openpyxl.Workbook) -> None:
    book["PCN Core Partner Details"]["L1"] = "Practice Type"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            rename_sheet,
            'ePCN.xlsx, sheet "PCNDetails": no such sheet; the workbook has "PCN Details"',
        ),
        (
            iso_date,
            'ePCN.xlsx, sheet "PCNDetails", row 7, column E "Open Date": "2019-10-01" is not a '
            "YYYYMMDD date",
        ),
        (
            extra_header,
            'ePCN.xlsx, sheet "PCN Core Partner Details", row 1, column L "Practice Type": unknown '
            'column "Practice Type"',
        ),
    ],
)
def test_a_broken_workbook_is_refused_and_changes_nothing(
    project: Project, tmp_path: Path, change: Callable[[openpyxl.Workbook], None], message: str
) -> None:
    path = broken_workbook(tmp_path, change)
    before = snapshot(project)
    with pytest.raises(UpstreamFormatError) as raised:
        plan_refresh(project.sources, project.schemas, epcn=path)
    assert str(raised.value).startswith(message)
    result = CliRunner().invoke(
        cli,
        [
            "refresh",
            "--epcn",
            str(path),
            "--sources",
            str(project.sources),
            "--schemas",
            str(project.schemas),
        ],
    )
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert "Hint: " in result.output and "Traceback" not in result.output
    assert snapshot(project) == before


def test_an_older_vintage_is_refused_unless_allowed(project: Project) -> None:
    before = snapshot(project)
    with pytest.raises(
        RefreshError,
        match="ePCN workbook of 2023-01-26; the sources already hold the one of 2025-01-20",
    ) as raised:
        plan_refresh(project.sources, project.schemas, epcn=EPCN23)
    assert "--allow-older" in raised.value.hint
    with pytest.raises(RefreshError, match="GP practice mapping of 2022-01-01"):
        plan_refresh(project.sources, project.schemas, gp_map=MAP22)
    assert snapshot(project) == before
    # Allowed, an older file only fills gaps: here there are none.
    assert refresh(project, epcn=EPCN23, allow_older=True).texts == {}
    assert snapshot(project) == before


def test_sources_that_would_be_invalid_are_not_written(project: Project, tmp_path: Path) -> None:
    """A new PCN whose only practice is new has no evidence for a partnership."""
    lonely = mapping(
        tmp_path,
        lambda ls: [*ls, map_line("Y09998", "LONE SURGERY", "ME1 1AA", "U99002", "LONE PCN")],
    )
    before = snapshot(project)
    with pytest.raises(RefreshError, match="would not be valid") as raised:
        plan_refresh(project.sources, project.schemas, gp_map=lonely)
    assert "sources/pcns.csv" in str(raised.value) or "pcns.csv:" in str(raised.value)
    assert "partnership" in str(raised.value)
    assert snapshot(project) == before


def test_a_file_edited_after_the_plan_is_not_overwritten(project: Project, tmp_path: Path) -> None:
    plan = plan_refresh(project.sources, project.schemas, gp_map=mapping(tmp_path, september))
    project.edit("pcns.csv", "GARDEN CITY PCN", "GARDEN CITY PCN ")
    edited = snapshot(project)
    with pytest.raises(RefreshError, match="changed since the refresh was planned"):
        apply_refresh(plan)
    assert snapshot(project) == edited


def test_writing_is_all_files_or_none(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.core.files as module  # commit_files: the journal's rename, then each file's

    plan = plan_refresh(project.sources, project.schemas, gp_map=mapping(tmp_path, september))
    before = snapshot(project)
    real = module.os.replace
    calls: list[object] = []

    def failing(source: object, target: object) -> None:
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(module.os, "replace", failing)
    with pytest.raises(RefreshError, match="No space left on device"):
        apply_refresh(plan)
    assert snapshot(project) == before  # the two files already replaced were put back
    assert not [p for p in project.sources.iterdir() if p.name.endswith(".tmp")]
    assert not [p for p in project.sources.iterdir() if p.name.startswith(".commit")]


def test_nothing_to_refresh_from_is_an_error(project: Project) -> None:
    with pytest.raises(RefreshError, match="nothing to refresh from"):
        plan_refresh(project.sources, project.schemas)


def test_a_file_of_another_ics_is_refused(project: Project, tmp_path: Path) -> None:
    elsewhere = mapping(
        tmp_path,
        lambda ls: [line.replace(",91Q,", ",72Q,").replace(",QKS,", ",QKK,") for line in ls],
    )
    with pytest.raises(RefreshError, match="no row belongs to this ICS"):
        plan_refresh(project.sources, project.schemas, gp_map=elsewhere)


# ---------------------------------------------------------------------------------------------
# CLI


def invoke(project: Project, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["refresh", *args, "--sources", str(project.sources), "--schemas", str(project.schemas)],
    )
    return result.exit_code, result.output


def test_cli_dry_run_prints_the_change_and_writes_nothing(project: Project, tmp_path: Path) -> None:
    before = snapshot(project)
    code, output = invoke(project, "--gp-map", str(mapping(tmp_path, september)), "--dry-run")
    assert code == 0
    assert "dry run: nothing written" in output
    assert (
        "PCN U17834 renamed from DARTFORD MODEL PCN to DARTFORD MODEL PRIMARY CARE NETWORK"
        in output
    )
    assert "[partnership-proposed] PCN U99001" in output
    assert "a minor bump" in output and "1.0.0 -> 1.1.0" in output
    assert snapshot(project) == before


def test_cli_json_is_the_library_report(project: Project, tmp_path: Path) -> None:
    new = mapping(tmp_path, september)
    plan = plan_refresh(project.sources, project.schemas, gp_map=new)
    code, output = invoke(project, "--gp-map", str(new), "--dry-run", "--format", "json")
    assert code == 0
    assert json.loads(output) == json.loads(json.dumps(plan.report.to_dict()))


def test_cli_writes_and_says_so(project: Project, tmp_path: Path) -> None:
    code, output = invoke(
        project, "--gp-map", str(mapping(tmp_path, september)), "--format", "markdown"
    )
    assert code == 0
    assert output.startswith("## ics-data refresh of")
    assert "**written:" in output and "- [ ] **partnership-proposed**" in output
    code, output = invoke(project, "--gp-map", str(mapping(tmp_path, september)))
    assert "no change: the sources already hold these facts" in output


def test_cli_usage_mistakes_exit_2(project: Project, tmp_path: Path) -> None:
    code, _ = invoke(project, "--gp-map", str(tmp_path / "missing.zip"))
    assert code == 2
    code, output = invoke(project)
    assert code == 1 and "nothing to refresh from" in output


def test_cli_help_ends_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["refresh", "--help"])
    assert result.exit_code == 0
    assert "Example:\n      ics-data refresh --gp-map" in result.output


def test_pipeline_errors_share_one_base() -> None:
    assert issubclass(RefreshError, PipelineError) and issubclass(
        UpstreamFormatError, PipelineError
    )


# ---------------------------------------------------------------------------------------------
# The benchmark's national files


@pytest.mark.slow  # writes and reads national-size files
def test_the_benchmark_national_files_hold_this_ics_once(tmp_path: Path) -> None:
    """bench.refresh makes files of the real size, with Kent and Medway in them exactly once."""
    import importlib.util
    import sys

    from pipeline.upstream.readers import filter_epcn, filter_gp_map, read_epcn, read_gp_map

    spec = importlib.util.spec_from_file_location(
        "bench_refresh_under_test", REPO / "bench" / "refresh.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    counts = module.make(tmp_path)
    assert counts == {"pcns": 1392, "partner_rows": 7648, "practices": 6650}
    codes = {"QKS", "91Q", "10D"}
    national = read_epcn(tmp_path / "ePCN.xlsx")
    assert national.vintage == date(2025, 1, 20)
    kent, subset = filter_epcn(national, codes), read_epcn(EPCN25)
    assert [p.code for p in kent.pcns] == [p.code for p in subset.pcns]
    assert len(kent.relationships) == len(subset.relationships)
    mapped = read_gp_map(tmp_path / "gp-reg-pat-prac-map.zip")
    assert [r.practice_code for r in filter_gp_map(mapped, codes).rows] == [
        r.practice_code for r in read_gp_map(MAP26).rows
    ]


# ---------------------------------------------------------------------------------------------
# The pieces: CSV edited in place, the registry extended as text


@given(
    st.lists(
        st.lists(st.text(alphabet="ab ,\"'\n;é", max_size=6), min_size=3, max_size=3),
        max_size=6,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_an_untouched_csv_is_written_back_byte_for_byte(
    records: list[list[str]], newline: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(["a", "b", "c"])
    writer.writerows(r for r in records if any(cell.strip() for cell in r))
    text = out.getvalue()
    document = CsvDocument.parse(text, Path("x.csv"))
    assert document.render() == text
    for row in document.rows:
        row.set("b", row.get("b") + "!")
    again = CsvDocument.parse(document.render(), Path("x.csv"))
    assert [r.get("b") for r in again.rows] == [r.get("b") for r in document.rows]


def test_a_new_row_goes_where_its_key_sorts_and_edits_stay_in_place() -> None:
    text = 'k,v\nA1,x\n\nC3,"y, z"\nE5,w\n'
    document = CsvDocument.parse(text, Path("x.csv"))
    document.insert({"k": "D4", "v": "new, quoted"}, lambda row: (row.get("k"),))
    document.rows[0].set("v", "changed")
    assert document.render() == 'k,v\nA1,changed\n\nC3,"y, z"\nD4,"new, quoted"\nE5,w\n'


def test_the_registry_is_extended_after_its_last_entry() -> None:
    text = (
        "# comment\nname: x\nsources:\n  - id: A\n    title: >-\n      folded\n      text\n"
        "\n# trailing comment\nother: 1\n"
    )
    entry = new_entry((), "epcn", date(2026, 10, 1), "ab" * 32, "ePCN.xlsx")
    extended = append_entries(text, [entry], "package.yaml")
    assert extended.startswith("# comment\nname: x\nsources:\n  - id: A\n    title: >-\n")
    assert extended.endswith("\n# trailing comment\nother: 1\n")
    assert [s["id"] for s in yaml.safe_load(extended)["sources"]] == ["A", "EPCN-2026-10-01"]
