"""`ics-data diff`, the version policy and the change list of a release.

Two releases are built under tmp_path from the tiny project of the golden tests
(`tests/golden/project/`): 1.0.0 as it is, and 2.0.0 after a data team's week of known changes
(a PCN added, one closed, one renamed, a practice moved, a field added to one schema and a field
removed from another). The tests assert the exact diff, the bump it needs, the changelog lines
and the change list, then refusals of too small a bump, and the CLI.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import (
    Project,
    copy_small_first_release,
    first_release_output,
    small_first_release_output,
)
from frictionless import Package

from pipeline import stages
from pipeline.changes.changelog import notable, render_markdown, render_text
from pipeline.changes.diff import diff_snapshots
from pipeline.changes.model import READING, Change, Diff
from pipeline.changes.snapshot import release_snapshot, resolve, sources_snapshot
from pipeline.cli import cli
from pipeline.core.errors import ReleaseError
from pipeline.core.issues import render_text as render_issues
from pipeline.core.versions import next_version, version_bump
from pipeline.release.result import PublishResult
from pipeline.release.verify import verify

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "tests" / "golden" / "project"
GARDEN_CITY = '"GARDEN CITY PCN, ""GCP"" – Dartford"'  # as pcns.csv quotes it


def copy_base(root: Path) -> Project:
    shutil.copytree(BASE, root)
    return Project(root)


def set_release(project: Project, version: str, day: str) -> None:
    text = project.read("package.yaml")
    text = re.sub(r"^version: .*$", f"version: {version}", text, count=1, flags=re.M)
    text = re.sub(r"^release_date: .*$", f"release_date: {day}", text, count=1, flags=re.M)
    project.write("package.yaml", text)


def drop_column(project: Project, name: str, column: str) -> None:
    rows = list(csv.reader(io.StringIO(project.read(name), newline="")))
    index = rows[0].index(column)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row[:index] + row[index + 1 :])
    project.write(name, out.getvalue())


def drop_field(project: Project, schema: str, field: str, following: str) -> None:
    text = project.read(f"schemas/{schema}")
    start, end = text.index(f"- name: {field}\n"), text.index(f"- name: {following}\n")
    project.write(f"schemas/{schema}", text[:start] + text[end:])


def a_week_of_changes(project: Project) -> None:
    """Rename a PCN, close one (its practice moves to a new PCN), add a field, drop a field."""
    project.edit("pcns.csv", "U87442,MID KENT PCN,", "U87442,MID KENT AND STOUR PCN,")
    project.edit("pcns.csv", "(MAP22),", "(MAP22); MID KENT PCN (EPCN25),")
    project.edit(
        "pcns.csv",
        f"U04973,{GARDEN_CITY},91Q,2019-10-01,,,,",
        f"U04973,{GARDEN_CITY},91Q,2019-10-01,,,2026-10-31,",
    )
    project.write(
        "pcns.csv",
        project.read("pcns.csv")
        + "U12550,MPA PCN,91Q,2023-01-01,,,,,,east-kent,derived: member practices' 2019 CCG "
        "(EPCMEM) 09C:1,false,,EPCN25; EPCMEM; KM-HCP; DERIVED\n",
    )
    project.edit(
        "pcn_memberships.csv",
        "G82122,U04973,2019-10-01,,,,,,EPCN25\n",
        "G82122,U04973,2019-10-01,,,2026-10-31,,,EPCN25\nG82122,U12550,2026-11-01,,,,,,EPCN25\n",
    )
    drop_column(project, "practices.csv", "postcode")
    drop_field(project, "practices.schema.yaml", "postcode", "ccg_2019_code")
    project.edit(
        "schemas/objectives.schema.yaml",
        "- name: source\n",
        "- name: theme\n  type: string\n  title: Theme\n  description: A one-word theme.\n"
        "- name: source\n",
    )


def publish(project: Project, output: Path) -> PublishResult:
    validation = project.validate()
    assert validation.report.ok, render_issues(validation.report.issues)
    return stages.publish_validated(validation, output)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTPUT with 1.0.0 (the tiny project) and 2.0.0 (after a week of changes)."""
    root = tmp_path_factory.mktemp("releases")
    project = copy_base(root / "project")
    output = root / "output"
    publish(project, output)
    a_week_of_changes(project)
    set_release(project, "2.0.0", "2026-12-01")
    publish(project, output)
    return output


@pytest.fixture(scope="module")
def week(releases: Path) -> Diff:
    return diff_snapshots(
        release_snapshot(releases / "1.0.0"), release_snapshot(releases / "2.0.0")
    )


def rows(diff: Diff) -> list[tuple[str, ...]]:
    return [(c.resource, c.key, c.kind, c.field, c.old, c.new, c.bump) for c in diff.changes]


GARDEN = 'GARDEN CITY PCN, "GCP" – Dartford'
WEEK = [
    ("milestones", "2019-10-01|pcn-opened-u87442", "changed", "description",
     "MID KENT PCN (U87442) opened", "MID KENT AND STOUR PCN (U87442) opened", "patch"),
    ("milestones", "2023-01-01|pcn-opened-u12550", "added", "", "", "", "minor"),
    ("milestones", "2026-10-31|pcn-closed-u04973", "added", "", "", "", "minor"),
    ("objectives", "", "field-added", "theme", "", "string", "minor"),
    ("partnerships", "dartford-gravesham-swanley", "pcn-count-changed", "", "1", "0", "none"),
    ("partnerships", "east-kent", "pcn-count-changed", "", "2", "3", "none"),
    ("pcn_memberships", "G82122|U04973|2019-10-01", "changed", "end_date", "", "2026-10-31",
     "minor"),
    ("pcn_memberships", "G82122|U12550|2026-11-01", "added", "", "", "", "minor"),
    ("pcn_memberships", "G82122|U12550|2026-11-01", "practice-moved", "pcn_code", "U04973",
     "U12550", "none"),
    ("pcns", "U04973", "changed", "close_date", "", "2026-10-31", "minor"),
    ("pcns", "U12550", "added", "", "", "", "minor"),
    ("pcns", "U87442", "changed", "former_names", "ASHFORD STOUR PCN (MAP22)",
     "ASHFORD STOUR PCN (MAP22); MID KENT PCN (EPCN25)", "patch"),
    ("pcns", "U87442", "changed", "pcn_name", "MID KENT PCN", "MID KENT AND STOUR PCN", "patch"),
    ("pcns", "U04973", "pcn-closed", "close_date", "", "2026-10-31", "none"),
    ("pcns", "U12550", "pcn-opened", "open_date", "", "2023-01-01", "none"),
    ("pcns", "U87442", "pcn-renamed", "pcn_name", "MID KENT PCN", "MID KENT AND STOUR PCN", "none"),
    ("practices", "", "field-removed", "postcode", "string", "", "major"),
]  # fmt: skip

WEEK_NOTABLE = [
    "PCN U12550 MPA PCN opened on 2023-01-01",
    f"PCN U04973 {GARDEN} closed on 2026-10-31 (last day open)",
    "PCN U87442 renamed from MID KENT PCN to MID KENT AND STOUR PCN",
    f"Practice G82122 SWANSCOMBE HEALTH CENTRE moved from PCN U04973 {GARDEN} to PCN U12550 "
    "MPA PCN on 2026-11-01",
    "Partnership Dartford, Gravesham and Swanley: 0 PCNs open on 2026-12-01, was 1 on 2026-11-24",
    "Partnership East Kent: 3 PCNs open on 2026-12-01, was 2 on 2026-11-24",
    "objectives: field theme added (string)",
    "practices: field postcode removed",
]


# --- the diff of a known week -------------------------------------------------------------------


def test_the_diff_of_a_week_is_exactly_what_changed(week: Diff) -> None:
    assert rows(week) == WEEK


def test_the_week_needs_a_major_release_because_a_field_was_removed(week: Diff) -> None:
    assert week.bump == "major"
    assert [c.description for c in week.needing("major")] == ["practices: field postcode removed"]


def test_the_week_in_words(week: Diff) -> None:
    assert notable(week) == WEEK_NOTABLE


def test_counts_per_resource(week: Diff) -> None:
    counts = {name: tuple(vars(c).values()) for name, c in week.counts().items()}
    assert counts == {
        "milestones": (2, 0, 1, 0),
        "objectives": (0, 0, 0, 1),
        "pcn_memberships": (1, 0, 1, 0),
        "pcns": (1, 0, 2, 0),
        "practices": (0, 0, 0, 1),
    }


def test_the_release_carries_its_changelog(releases: Path) -> None:
    text = (releases / "2.0.0" / "CHANGELOG.md").read_text("utf-8")
    assert text.startswith(
        "# Changelog\n\n## 2.0.0 (2026-12-01)\n\n"
        "1 PCN opened, 1 PCN closed, 1 PCN renamed, 1 practice moved to another PCN, "
        "2 partnerships' counts of PCNs changed. Records: 4 added, 0 removed, 4 changed; "
        "2 schema changes. Compared with 1.0.0 (2026-11-24), the changes need a major release.\n"
    )
    assert "| pcns | 1 | 0 | 2 | 0 |" in text
    bullets = [line[2:] for line in text.splitlines() if line.startswith("- ")]
    assert bullets == WEEK_NOTABLE
    first = (releases / "1.0.0" / "CHANGELOG.md").read_text("utf-8")
    assert first.startswith("# Changelog\n\n## 1.0.0 (2026-11-24)\n\nFirst release. 10 tables")
    # the index shows this beside its Tables column, which counts the generated tables too
    assert "(the tables generated at publication, such as `changes`, besides)" in first


def test_the_cumulative_changelog_has_every_release_newest_first(releases: Path) -> None:
    text = (releases / "CHANGELOG.md").read_text("utf-8")
    assert text.startswith("# Changelog\n")
    newer, older = text.index("## 2.0.0 (2026-12-01)"), text.index("## 1.0.0 (2026-11-24)")
    assert newer < older
    for version in ("1.0.0", "2.0.0"):
        own = (releases / version / "CHANGELOG.md").read_text("utf-8")
        assert own.removeprefix("# Changelog\n\n").strip() in text


def test_the_change_list_is_a_resource_a_researcher_can_filter(releases: Path, week: Diff) -> None:
    folder = releases / "2.0.0"
    with (folder / "data/changes.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [
        (r["resource"], r["key"], r["kind"], r["field"], r["old_value"], r["new_value"], r["bump"])
        for r in table
    ] == WEEK
    assert {r["previous_version"] for r in table} == {"1.0.0"}
    assert {r["version"] for r in table} == {"2.0.0"}
    assert [r["description"] for r in table] == [c.description for c in week.changes]
    as_json = json.loads((folder / "data/changes.json").read_text("utf-8"))
    assert as_json == table  # every value is text, so both forms hold the same
    moved = [r for r in table if r["kind"] == "practice-moved"]
    assert moved[0]["description"].startswith("Practice G82122 SWANSCOMBE HEALTH CENTRE moved")


def test_both_releases_validate_with_their_change_lists(releases: Path) -> None:
    """Both releases verify (frictionless validates every CSV table, each JSON twin equals its
    CSV), and frictionless itself reads each change list in both forms, the empty one too."""
    assert verify(releases) == {"1.0.0": [], "2.0.0": []}
    for version, count in (("1.0.0", 0), ("2.0.0", len(WEEK))):
        package = Package(str(releases / version / "datapackage.json"))
        for name in ("changes", "changes-json"):
            report = package.get_resource(name).validate()
            assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])
            assert report.task.stats.get("rows", 0) == count, name
            assert report.task.stats["fields"] == 10, name  # the header-only form is read


def test_the_first_release_has_an_empty_change_list_in_both_forms(releases: Path) -> None:
    data = releases / "1.0.0" / "data"
    header = "previous_version,version,resource,key,kind,field,old_value,new_value,description,bump"
    assert (data / "changes.csv").read_text("utf-8") == header + "\n"
    assert json.loads((data / "changes.json").read_text("utf-8")) == [header.split(",")]


def test_sources_equal_to_their_release_have_no_differences(tmp_path: Path) -> None:
    project = copy_base(tmp_path / "project")
    first = small_first_release_output() / "1.0.0"  # the tiny project, published (read only)
    diff = diff_snapshots(release_snapshot(first), sources_snapshot(project.validate()))
    assert diff.empty, rows(diff)
    assert diff.bump == "none"


def test_a_release_compared_with_itself_is_empty(releases: Path) -> None:
    for version in ("1.0.0", "2.0.0"):
        snapshot = release_snapshot(releases / version)
        assert diff_snapshots(snapshot, snapshot).empty


def test_the_week_backwards_removes_what_it_added(releases: Path, week: Diff) -> None:
    back = diff_snapshots(
        release_snapshot(releases / "2.0.0"), release_snapshot(releases / "1.0.0")
    )
    assert back.bump == "major"
    kinds = {(c.resource, c.key, c.field, c.kind) for c in back.changes if c.group != READING}
    assert ("pcns", "U12550", "", "removed") in kinds
    assert ("practices", "", "postcode", "field-added") in kinds
    assert ("objectives", "", "theme", "field-removed") in kinds
    reopened = [c for c in back.changes if c.key == "U04973" and c.field == "close_date"]
    assert [(c.kind, c.old, c.new, c.bump) for c in reopened] == [
        ("changed", "2026-10-31", "", "patch")
    ]


# --- the version policy -------------------------------------------------------------------------


EDITS: list[tuple[str, str, str, str, str]] = [
    # (what, file, old, new, bump)
    ("nothing", "package.yaml", "version: 1.0.0", "version: 1.0.0", "none"),
    ("a value corrected", "practices.csv", "HOLLINGTON SURGERY", "HOLLINGTON SURGERY LTD", "patch"),
    ("a schema's words", "schemas/pcns.schema.yaml", "title: PCN name", "title: Name", "patch"),
    ("a record added", "practices.csv", "G82122,", "G82999,NEW SURGERY,ME1 1AA,09W,EPCN25\n"
     "G82122,", "minor"),
    ("a record closed", "pcn_memberships.csv", "G82122,U04973,2019-10-01,,,,", "G82122,U04973,"
     "2019-10-01,,,2026-01-31,", "minor"),
    ("a constraint loosened", "schemas/practices.schema.yaml", "pattern: ^[A-Z][0-9]{5}$",
     "pattern: ^[A-Z][0-9]{5,6}$", "major"),
    ("a required constraint dropped", "schemas/pcns.schema.yaml", "  constraints:\n    required: "
     "true\n- name: sub_icb_code", "- name: sub_icb_code", "minor"),
    ("a record removed", "practices.csv", "G82109,THE RAILSIDE SURGERY,,09W,EPCN25; EPCMEM\n", "",
     "major"),
    ("a type changed", "schemas/claims.schema.yaml", "type: number", "type: integer", "major"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "name", "old", "new", "bump"), EDITS, ids=[e[0] for e in EDITS])
def test_the_smallest_bump_each_change_needs(
    tmp_path: Path, what: str, name: str, old: str, new: str, bump: str
) -> None:
    project = copy_base(tmp_path / "project")
    project.edit(name, old, new)
    validation = project.validate()
    assert validation.report.ok, render_issues(validation.report.issues)
    first = small_first_release_output() / "1.0.0"  # the tiny project, published (read only)
    diff = diff_snapshots(release_snapshot(first), sources_snapshot(validation))
    assert diff.bump == bump, rows(diff)


@pytest.mark.parametrize(
    ("old", "new", "bump"),
    [
        ("1.0.0", "1.0.0", "none"),
        ("1.0.0", "0.9.0", "none"),
        ("1.0.0", "1.0.1", "patch"),
        ("1.0.9", "1.1.0", "minor"),
        ("1.4.2", "2.0.0", "major"),
        ("1.4.2", "3.1.0", "major"),
    ],
)
def test_version_bump(old: str, new: str, bump: str) -> None:
    assert version_bump(old, new) == bump


def test_next_version() -> None:
    assert [next_version("1.4.2", b) for b in ("none", "patch", "minor", "major")] == [
        "1.4.2",
        "1.4.3",
        "1.5.0",
        "2.0.0",
    ]


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in [folder, *sorted(folder.rglob("*"))]
    }


@pytest.fixture
def after_a_week(tmp_path: Path) -> tuple[Project, Path]:
    """1.0.0 published into OUTPUT, and the sources after a week of changes (still 1.0.0)."""
    project = copy_base(tmp_path / "project")
    output = copy_small_first_release(tmp_path / "output")
    a_week_of_changes(project)
    return project, output


@pytest.mark.parametrize("declared", ["1.0.1", "1.1.0"])
@pytest.mark.parametrize("check", [False, True])
def test_too_small_a_bump_is_refused_naming_the_change(
    after_a_week: tuple[Project, Path], declared: str, check: bool
) -> None:
    project, output = after_a_week
    set_release(project, declared, "2026-12-01")
    before = stamps(output)
    args = ["publish", "--sources", project.sources, "--schemas", project.schemas]
    result = invoke(*args, "--output", output, *(["--check"] if check else []))
    assert result.exit_code == 1
    kind = version_bump("1.0.0", declared)
    assert f"version {declared} is a {kind} release after 1.0.0, but the changes need a major" in (
        result.stderr
    )
    assert "practices: field postcode removed" in result.stderr
    assert "set `version: 2.0.0`" in result.stderr
    assert stamps(output) == before


def test_the_library_refusal_names_the_change(after_a_week: tuple[Project, Path]) -> None:
    project, output = after_a_week
    set_release(project, "1.1.0", "2026-12-01")
    with pytest.raises(ReleaseError, match="practices: field postcode removed"):
        stages.publish_validated(project.validate(), output)


def test_the_right_bump_lands_with_its_changelog_and_change_list(
    after_a_week: tuple[Project, Path],
) -> None:
    project, output = after_a_week
    set_release(project, "2.0.0", "2026-12-01")
    args = ["publish", "--sources", project.sources, "--schemas", project.schemas]
    checked = invoke(*args, "--output", output, "--check")
    assert checked.exit_code == 0, checked.output
    result = invoke(*args, "--output", output)
    assert result.exit_code == 0, result.output
    assert (output / "2.0.0" / "CHANGELOG.md").is_file()
    with (output / "2.0.0" / "data/changes.csv").open(encoding="utf-8", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(WEEK)
    assert "## 2.0.0 (2026-12-01)" in (output / "CHANGELOG.md").read_text("utf-8")
    again = invoke(*args, "--output", output)
    assert again.exit_code == 0 and "already published as 2.0.0" in again.stdout
    assert invoke("verify", "--output", output).exit_code == 0


def test_a_larger_bump_than_needed_is_allowed(after_a_week: tuple[Project, Path]) -> None:
    project, output = after_a_week
    set_release(project, "2.0.0", "2026-12-01")  # a major release where a minor would do
    assert publish(project, output).status == "published"


# --- the CLI -------------------------------------------------------------------------------------


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_diff_help_teaches_by_example() -> None:
    result = invoke("diff", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "ics-data diff latest sources" in result.stdout


def test_diff_json_is_the_library_result(releases: Path, week: Diff) -> None:
    result = invoke("diff", "1.0.0", "2.0.0", "--output", releases, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == week.to_dict()


def test_diff_text_and_markdown(releases: Path, week: Diff) -> None:
    text = invoke("diff", "1.0.0", "2.0.0", "--output", releases)
    assert text.exit_code == 0
    assert text.stdout == render_text(week) + "\n"
    assert "major  practices: field postcode removed" in text.stdout
    assert "The changes need a major release: 2.0.0 after 1.0.0." in text.stdout
    markdown = invoke("diff", "1.0.0", "2.0.0", "--output", releases, "--format", "markdown")
    assert markdown.stdout == render_markdown(week)
    assert "- PCN U87442 renamed from MID KENT PCN to MID KENT AND STOUR PCN" in markdown.stdout
    assert "| U87442 | changed | pcn_name | MID KENT PCN | MID KENT AND STOUR PCN | patch |" in (
        markdown.stdout
    )


@pytest.mark.parametrize(("new", "differs"), [("1.0.0", False), ("2.0.0", True)])
def test_diff_exit_code(releases: Path, new: str, differs: bool) -> None:
    plain = invoke("diff", "1.0.0", new, "--output", releases)
    assert plain.exit_code == 0
    flagged = invoke("diff", "1.0.0", new, "--output", releases, "--exit-code")
    assert flagged.exit_code == (1 if differs else 0)
    if not differs:
        assert flagged.stdout.endswith("No differences.\n")


def test_diff_takes_folders_latest_and_sources(releases: Path, tmp_path: Path) -> None:
    project = copy_base(tmp_path / "project")
    a_week_of_changes(project)
    set_release(project, "2.0.0", "2026-10-15")  # before U04973 closed
    by_folder = invoke("diff", releases / "1.0.0", releases / "2.0.0", "--format", "json")
    assert json.loads(by_folder.stdout)["changes"] == [c.to_dict() for c in diff_changes(releases)]
    result = invoke(
        "diff",
        "latest",
        "sources",
        "--output",
        releases,
        "--sources",
        project.sources,
        "--schemas",
        project.schemas,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["old"] == {"label": "2.0.0", "version": "2.0.0", "released": "2026-12-01"}
    assert data["new"]["label"] == "sources"
    # the same data as 2.0.0 read on an earlier day: U04973 was still open
    assert [(c["kind"], c["key"], c["old_value"], c["new_value"]) for c in data["changes"]] == [
        ("pcn-count-changed", "dartford-gravesham-swanley", "0", "1")
    ]
    assert data["bump"] == "none"


def diff_changes(releases: Path) -> tuple[Change, ...]:
    return diff_snapshots(
        release_snapshot(releases / "1.0.0"), release_snapshot(releases / "2.0.0")
    ).changes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["9.9.9", "sources"], "no release 9.9.9"),
        (["nonsense", "sources"], "'nonsense' is not a version, a release folder"),
    ],
)
def test_diff_of_unknown_releases_says_so(releases: Path, args: list[str], message: str) -> None:
    result = invoke("diff", *args, "--output", releases)
    assert result.exit_code == 1
    assert message in result.stderr


def test_diff_latest_without_releases(tmp_path: Path) -> None:
    result = invoke("diff", "latest", "sources", "--output", tmp_path / "none")
    assert result.exit_code == 1
    assert "no releases in" in result.stderr


def test_resolve_reads_a_version_in_output(releases: Path) -> None:
    snapshot = resolve("2.0.0", releases, Path("sources"), Path("schemas"))
    assert (snapshot.version, snapshot.released.isoformat()) == ("2.0.0", "2026-12-01")
    assert "changes" not in snapshot.tables  # the change list is never itself compared


def test_a_claims_computed_figure_that_changes_is_read_out(
    project: Project, tmp_path: Path
) -> None:
    """On the shipped sources: a PCN that opened before 2022-07-01 changes the PCN count the
    claim 'forty-one-pcns' is checked against (its figure is corrected with it)."""
    output = first_release_output()  # the Kent fixture, published once (read only)
    project.edit("claims.yaml", "figure: 41\n", "figure: 42\n")
    project.write(
        "pcns.csv",
        project.read("pcns.csv")
        + "U99999,NEW TOWN PCN,91Q,2022-01-01,,,,,,east-kent,derived: member practices' 2019 "
        "CCG (EPCMEM) 09C:1,false,EPCN25; EPCMEM; KM-HCP; DERIVED\n",
    )
    project.write(
        "pcn_names.csv", project.read("pcn_names.csv") + "U99999,1,NEW TOWN PCN,,,,,,,EPCN25\n"
    )
    diff = diff_snapshots(release_snapshot(output / "1.0.0"), sources_snapshot(project.validate()))
    readings = [(c.kind, c.key, c.old, c.new) for c in diff.readings()]
    assert readings == [
        ("pcn-opened", "U99999", "", "2022-01-01"),
        ("pcn-count-changed", "east-kent", "17", "18"),
        ("claim-figure-changed", "forty-one-pcns", "41", "42"),
    ]
    (claim,) = [c for c in diff.readings() if c.kind == "claim-figure-changed"]
    assert claim.description == (
        "Claim forty-one-pcns: the records now give 42 primary care networks on 2022-07-01, "
        "41 before; the claim says 42"
    )
    assert diff.bump == "minor"


# --- schema changes, table-driven ----------------------------------------------------------------


def one_table(fields: list[dict[str, Any]], rows: list[dict[str, str]], key: str = "id") -> Any:
    from datetime import date

    from pipeline.changes.snapshot import Snapshot, TableData

    schema = {"fields": [{"name": "id", "type": "string"}, *fields], "primaryKey": [key]}
    return Snapshot("s", "1.0.0", date(2026, 1, 1), {"t": TableData("t", schema, tuple(rows))})


SCHEMA_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str, str]]]] = [
    ("required added", {"type": "string"}, {"type": "string", "constraints": {"required": True}},
     [("constraint-tightened", "major", "t.f: required added")]),
    ("required: false is no constraint", {"type": "string", "constraints": {"required": False}},
     {"type": "string"}, []),
    ("enum narrowed", {"type": "string", "constraints": {"enum": ["a", "b"]}},
     {"type": "string", "constraints": {"enum": ["a"]}},
     [("constraint-tightened", "major", "t.f: enum narrowed: no longer b")]),
    ("enum widened", {"type": "string", "constraints": {"enum": ["a"]}},
     {"type": "string", "constraints": {"enum": ["a", "b"]}},
     [("constraint-loosened", "minor", "t.f: enum widened: now also b")]),
    ("pattern changed", {"type": "string", "constraints": {"pattern": "^a"}},
     {"type": "string", "constraints": {"pattern": "^b"}},
     [("constraint-changed", "major", 't.f: pattern changed from "^a" to "^b"')]),
    ("maximum raised", {"type": "integer", "constraints": {"maximum": 4}},
     {"type": "integer", "constraints": {"maximum": 5}},
     [("constraint-loosened", "minor", "t.f: maximum raised from 4 to 5")]),
    ("minimum raised", {"type": "integer", "constraints": {"minimum": 1}},
     {"type": "integer", "constraints": {"minimum": 2}},
     [("constraint-tightened", "major", "t.f: minimum raised from 1 to 2")]),
    ("type changed", {"type": "integer"}, {"type": "number"},
     [("type-changed", "major", "t.f: type changed from integer to number")]),
    ("description changed", {"type": "string", "description": "x"},
     {"type": "string", "description": "y"},
     [("doc-changed", "patch", "t.f: description changed")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "before", "after", "expected"), SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES]
)
def test_schema_changes(
    what: str, before: dict[str, Any], after: dict[str, Any], expected: list[tuple[str, ...]]
) -> None:
    row = [{"id": "1", "f": "1"}]
    diff = diff_snapshots(
        one_table([{"name": "f", **before}], row), one_table([{"name": "f", **after}], row)
    )
    assert [(c.kind, c.bump, c.description) for c in diff.changes] == expected


def test_a_field_renamed_is_told_from_one_removed_and_another_added() -> None:
    before = one_table([{"name": "pcn", "type": "string"}], [{"id": "1", "pcn": "U1"}])
    renamed = one_table([{"name": "pcn_code", "type": "string"}], [{"id": "1", "pcn_code": "U1"}])
    other = one_table([{"name": "pcn_code", "type": "string"}], [{"id": "1", "pcn_code": "U2"}])
    assert [(c.kind, c.old, c.new, c.bump) for c in diff_snapshots(before, renamed).changes] == [
        ("field-renamed", "pcn", "pcn_code", "major")
    ]
    assert [(c.kind, c.field) for c in diff_snapshots(before, other).changes] == [
        ("field-removed", "pcn"),
        ("field-added", "pcn_code"),
    ]


def test_a_primary_key_changed_still_matches_records_by_the_key_both_hold() -> None:
    name = {"name": "name", "type": "string"}
    before = one_table([name], [{"id": "1", "name": "x"}])
    after = one_table(
        [name, {"name": "code", "type": "string"}], [{"id": "1", "name": "y", "code": "B"}], "code"
    )
    found = [(c.kind, c.key, c.field, c.old, c.new) for c in diff_snapshots(before, after).changes]
    assert found == [
        ("key-changed", "", "", '["id"]', '["code"]'),
        ("field-added", "", "code", "", "string"),
        ("changed", "1", "name", "x", "y"),
    ]


def test_a_key_filled_in_is_the_same_record_changed(tmp_path: Path) -> None:
    """A membership known to start only between bounds, then exactly: its key gains its start
    date, yet it is one record corrected (patch), not one removed (major) and one added."""
    project = copy_base(tmp_path / "project")
    project.edit(
        "pcn_memberships.csv",
        "G82027,U11490,,2025-01-21,2026-08-01,",
        "G82027,U11490,2025-03-01,,,",
    )
    validation = project.validate()
    assert validation.report.ok, render_issues(validation.report.issues)
    first = small_first_release_output() / "1.0.0"  # the tiny project, published (read only)
    diff = diff_snapshots(release_snapshot(first), sources_snapshot(validation))
    assert [(c.key, c.kind, c.field, c.old, c.new, c.bump) for c in diff.changes] == [
        ("G82027|U11490|2025-03-01", "changed", "start_date", "", "2025-03-01", "patch"),
        ("G82027|U11490|2025-03-01", "changed", "start_date_earliest", "2025-01-21", "", "patch"),
        ("G82027|U11490|2025-03-01", "changed", "start_date_latest", "2026-08-01", "", "patch"),
    ]
    back = diff_snapshots(sources_snapshot(validation), release_snapshot(first))
    assert [(c.key, c.kind, c.field, c.old, c.new) for c in back.changes] == [
        (c.key, c.kind, c.field, c.new, c.old) for c in diff.changes
    ]


def committed(releases: Path, tmp_path: Path, keep: tuple[str, ...]) -> Path:
    """A git repository whose first commit holds the releases KEEP of RELEASES and whose work
    tree holds all of them: a pull request that adds the others."""
    folder = tmp_path / "repository"
    output = folder / "output"
    shutil.copytree(releases, output)
    for release in {"1.0.0", "2.0.0"} - set(keep):
        (output / release).rename(tmp_path / release)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *identity, *args], cwd=folder, check=True, capture_output=True)
    for release in {"1.0.0", "2.0.0"} - set(keep):
        (tmp_path / release).rename(output / release)
    return output


@pytest.mark.parametrize(
    ("keep", "old"),
    [
        (("1.0.0", "2.0.0"), "2.0.0"),  # the base already holds the newest release
        (("1.0.0",), "1.0.0"),  # the pull request adds 2.0.0: compared with 1.0.0, its base's
        ((), "git:HEAD, which holds no release"),  # a first release: every resource added
    ],
)
def test_diff_from_a_commits_newest_release(
    releases: Path, tmp_path: Path, keep: tuple[str, ...], old: str
) -> None:
    output = committed(releases, tmp_path, keep)
    result = invoke("diff", "git:HEAD", "2.0.0", "--output", output, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["old"]["label"] == old
    kinds = {c["kind"] for c in data["changes"]}
    if old == "2.0.0":
        assert data["changes"] == []
    elif old == "1.0.0":
        assert data["changes"] == [c.to_dict() for c in diff_changes(releases)]
    else:
        assert kinds == {"resource-added"}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("--output=/tmp/x", "is not a git revision"),
        ("HEAD HEAD", "is not a git revision"),
        ("", "is not a git revision"),
        ("no-such-branch", "git cannot list 'no-such-branch'"),
    ],
)
def test_diff_from_a_commit_refuses_what_is_not_one(
    releases: Path, tmp_path: Path, ref: str, message: str
) -> None:
    output = committed(releases, tmp_path, ("1.0.0",))
    result = invoke("diff", f"git:{ref}", "sources", "--output", output)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output
