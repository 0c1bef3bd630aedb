"""The data team's month, end to end, in a throwaway copy: a hand rename and a hand move are
published; a refresh with each upstream file leaves them alone (no change, no false citation,
no block); `ics-data release` plans the next release; the review gate refuses what a newer
mapping file proposes until someone has looked; publish; the changelog and the changes table
say what happened."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import Project, copy_project

from pipeline.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"
EPCN = {
    "EPCN22": FIXTURES / "epcn_2022-04-27_kent_medway.xlsx",
    "EPCN23": FIXTURES / "epcn_2023-01-26_kent_medway.xlsx",
    "EPCN25": FIXTURES / "epcn_2025-01-20_kent_medway.xlsx",
}
MAP = {
    "MAP22": FIXTURES / "gp-reg-pat-prac-map_2022-01-01_kent_medway.csv",
    "MAP26": FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.zip",
}
HAND = """  - id: HAND-2026-11-20
    title: Changes notified to the ICS data team on 2026-11-20 (a rename and a practice move)
    path: https://www.kentandmedway.icb.nhs.uk/
    vintage: "2026-11-20"
"""
OLD, NEW = "HERNE BAY PCN", "HERNE BAY AND RECULVER PCN"


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def rows(project: Project, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(project.read(name), newline="")))


def hand_edits(project: Project) -> None:
    """What a person types: the registry entry for their evidence, the rename (pcns and
    pcn_names) and the move (the old membership ends, the new one starts)."""
    project.edit("package.yaml", "  - id: DERIVED\n", HAND + "  - id: DERIVED\n")
    row = next(line for line in project.read("pcns.csv").splitlines() if line.startswith("U21470,"))
    renamed = row.replace(f",{OLD},", f",{NEW},").replace("; DERIVED", "; DERIVED; HAND-2026-11-20")
    project.edit("pcns.csv", row, renamed)
    name = next(
        line for line in project.read("pcn_names.csv").splitlines() if line.startswith("U21470,")
    )
    ended = name.replace(f",{OLD},,,,,,,", f",{OLD},,,,2026-11-19,,,") + "; HAND-2026-11-20"
    project.edit(
        "pcn_names.csv",
        name + "\n",
        f"{ended}\nU21470,2,{NEW},2026-11-20,,,,,,HAND-2026-11-20\n",
    )
    project.edit(
        "pcn_memberships.csv",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,,,,EPCN25\n",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,2026-11-30,,,EPCN25; HAND-2026-11-20\n"
        "G82002-U25255-1,G82002,U25255,2026-12-01,,,,,,HAND-2026-11-20\n",
    )


def folders(project: Project, output: Path) -> list[Any]:
    return ["--sources", project.sources, "--schemas", project.schemas, "--output", output]


def refresh_args(project: Project) -> list[Any]:
    return ["--sources", project.sources, "--schemas", project.schemas]


def december(tmp_path: Path) -> Path:
    """A mapping file of 2026-12-01, after the hand edits: the NHS has caught up with both, and
    a new PCN (a test code) takes two practices."""
    header, *lines = MAP["MAP26"].with_suffix(".csv").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        line = line.replace("01Aug2026", "01Dec2026").replace(f",U21470,{OLD},", f",U21470,{NEW},")
        if ",G82002," in line:
            line = line.replace(",U34235,DOVER TOWN PCN,", ",U25255,DEAL & SANDWICH PCN,")
        for practice in (",G82122,", ",G82212,"):
            if practice in line:
                cells = line.split(",")
                cells[5], cells[6] = "U99001", "SWANSCOMBE & GREENHITHE PCN"
                line = ",".join(cells)
        out.append(line)
    path = tmp_path / "gp-reg-pat-prac-map.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("gp-reg-pat-prac-map.csv", "\r\n".join([header, *out]) + "\r\n")
    return path


def test_the_month(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    output = tmp_path / "output"
    assert invoke("publish", *folders(project, output)).exit_code == 0  # 1.0.0

    # 1. the hand rename and the hand move, planned and published as 1.1.0
    hand_edits(project)
    assert invoke("validate", *refresh_args(project)).exit_code == 0
    planned = invoke("release", "--date", "2026-11-25", *folders(project, output))
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.startswith("1.0.0 (2026-11-24) -> 1.1.0 (2026-11-25): a minor release.")
    assert f"PCN U21470 renamed from {OLD} to {NEW}" in planned.stdout
    published = invoke("publish", *folders(project, output))
    assert published.exit_code == 0, published.output
    milestones = (output / "1.1.0" / "data" / "milestones.csv").read_text("utf-8")
    assert f"{OLD} (U21470) opened" in milestones  # history keeps the 2019 name
    assert NEW not in milestones

    # 2. a refresh with each upstream file: the hand edits stay, nothing cites a file for a
    # value it does not hold, nothing blocks
    edited = {name: project.read(name) for name in ("pcns.csv", "pcn_names.csv")}
    memberships = project.read("pcn_memberships.csv")
    for ident, path in [*EPCN.items(), *MAP.items()]:
        option = "--epcn" if ident in EPCN else "--gp-map"
        result = invoke("refresh", option, path, "--allow-older", *refresh_args(project))
        assert result.exit_code == 0, (ident, result.output)
        assert "Traceback" not in result.output
        assert {n: project.read(n) for n in edited} == edited, ident
        hand_rows = [r for r in rows(project, "pcn_memberships.csv") if "HAND" in r["source"]]
        assert sorted((r["membership_id"], r["end_date"], r["source"]) for r in hand_rows) == [
            ("G82002-U25255-1", "", "HAND-2026-11-20"),
            ("G82002-U34235-1", "2026-11-30", "EPCN25; HAND-2026-11-20"),
        ], ident
    assert project.read("pcn_memberships.csv") == memberships
    assert invoke("validate", *refresh_args(project)).exit_code == 0

    # 3. a newer mapping file: a new PCN with a proposed partnership, and a new registry entry
    # whose path is only the file's name
    result = invoke("refresh", "--gp-map", december(tmp_path), *refresh_args(project))
    assert result.exit_code == 0, result.output
    assert "Review before publishing" in result.stdout
    # both sides of a refresh share the release date: said once
    # (the new PCN opened between two files, so on that day it may or may not be open)
    assert "Dartford, Gravesham and Swanley: 7 to 8 PCNs open on 2026-11-25, was 7\n" in (
        result.stdout
    )
    assert project.read("pcn_names.csv").count(NEW) == 1  # the NHS name agrees: no change
    validated = invoke("validate", *refresh_args(project))
    assert validated.exit_code == 0
    assert "[review-pending, warning]" in validated.stdout
    assert "[placeholder-path, warning]" in validated.stdout

    # 4. ics-data release, the review gate refusing, then passing once cleared
    planned = invoke("release", "--date", "2026-12-04", *folders(project, output))
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.startswith("1.1.0 (2026-11-25) -> 1.2.0 (2026-12-04): a minor release.")
    assert "Before publishing, clear what awaits review (2):" in planned.stdout
    refused = invoke("publish", "--check", *folders(project, output))
    assert refused.exit_code == 1
    assert "2 items await review before a release" in refused.stderr
    assert "pcns.csv:" in refused.stderr and "package.yaml:" in refused.stderr
    project.write(
        "pcns.csv",
        "".join(
            line.replace(",true,", ",false,") if line.startswith("U99001,") else line
            for line in project.read("pcns.csv").splitlines(keepends=True)
        ),
    )
    project.edit(
        "package.yaml",
        'path: "gp-reg-pat-prac-map.zip"',
        'path: "https://example.org/gp-reg-pat-prac-map.zip"',
    )
    published = invoke("publish", *folders(project, output))
    assert published.exit_code == 0, published.output

    # 5. the changelog and the changes table say what happened
    changelog = (output / "1.2.0" / "CHANGELOG.md").read_text("utf-8")
    assert "## 1.2.0 (2026-12-04)" in changelog
    assert "Compared with 1.1.0 (2026-11-25)" in changelog
    assert "PCN U99001 SWANSCOMBE & GREENHITHE PCN opened between 2026-08-02 and 2026-12-01" in (
        changelog
    )
    assert "pcn_names: record" not in changelog  # the opening explains the new name's row
    first = (output / "1.1.0" / "CHANGELOG.md").read_text("utf-8")
    assert (
        "Practice G82002 ST JAMES' SURGERY moved from PCN U34235 DOVER TOWN PCN to PCN U25255"
        in (first)
    )
    changes = list(
        csv.DictReader(io.StringIO((output / "1.1.0" / "data" / "changes.csv").read_text("utf-8")))
    )
    kinds = {(c["resource"], c["kind"]) for c in changes}
    assert ("pcns", "pcn-renamed") in kinds and ("pcn_names", "added") in kinds
    catalog = json.loads((output / "catalog.json").read_text("utf-8"))
    assert [r["version"] for r in catalog["releases"]] == ["1.0.0", "1.1.0", "1.2.0"]
    assert invoke("verify", "--output", output).exit_code == 0
    shutil.rmtree(output)


def test_a_move_refresh_cannot_merge_is_a_review_item_naming_both_records(
    tmp_path: Path,
) -> None:
    """A move entered by hand in 2024 on older evidence, and an ePCN of 2025 that still has the
    practice in its old PCN: refresh writes nothing and names both records and their sources."""
    project = copy_project(tmp_path / "project")
    project.edit(
        "pcn_memberships.csv",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,,,,EPCN25\n",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,2024-05-31,,,EPCN25; KM-ICS\n"
        "G82002-U25255-1,G82002,U25255,2024-06-01,,,,,,KM-ICS\n",
    )
    assert invoke("validate", *refresh_args(project)).exit_code == 0
    before = project.read("pcn_memberships.csv")
    result = invoke("refresh", "--epcn", EPCN["EPCN25"], *refresh_args(project))
    assert result.exit_code == 1
    assert "refresh cannot merge the upstream periods with the records below" in result.stderr
    assert (
        "G82002-U25255-1 (line 3, source KM-ICS) and G82002-U34235-1 (line 2, source EPCN25; "
        "KM-ICS): practice G82002 is in U25255 and in U34235"
    ) in result.stderr
    assert "Traceback" not in result.output
    assert project.read("pcn_memberships.csv") == before


def test_an_end_after_the_files_date_is_not_reopened(tmp_path: Path) -> None:
    """An ePCN that shows a membership open on its date agrees with an end after that date."""
    project = copy_project(tmp_path / "project")
    project.edit(
        "pcn_memberships.csv",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,,,,EPCN25\n",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,2026-11-30,,,EPCN25; KM-ICS\n"
        "G82002-U25255-1,G82002,U25255,2026-12-01,,,,,,KM-ICS\n",
    )
    result = invoke("refresh", "--epcn", EPCN["EPCN25"], "--dry-run", *refresh_args(project))
    assert result.exit_code == 0, result.output
    assert "no change: the sources already hold these facts" in result.stdout


def test_a_rename_dated_after_the_file_stays_whatever_it_cites(tmp_path: Path) -> None:
    """A rename typed by hand from 2026-11-20, citing an older registry entry: MAP26 (2026-08-01)
    shows the old name because it predates the rename, so refresh changes nothing."""
    project = copy_project(tmp_path / "project")
    project.edit("pcns.csv", f"U21470,{OLD},", f"U21470,{NEW},")
    name = next(
        line for line in project.read("pcn_names.csv").splitlines() if line.startswith("U21470,")
    )
    ended = name.replace(f",{OLD},,,,,,,", f",{OLD},,,,2026-11-19,,,")
    project.edit("pcn_names.csv", name + "\n", f"{ended}\nU21470,2,{NEW},2026-11-20,,,,,,KM-ICS\n")
    assert invoke("validate", *refresh_args(project)).exit_code == 0
    result = invoke("refresh", "--gp-map", MAP["MAP26"], "--dry-run", *refresh_args(project))
    assert result.exit_code == 0, result.output
    assert "no change: the sources already hold these facts" in result.stdout


def test_an_empty_membership_id_is_one_message_with_the_id_to_use(project: Project) -> None:
    project.edit(
        "pcn_memberships.csv",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,,,,EPCN25\n",
        "G82002-U34235-1,G82002,U34235,2019-10-01,,,2026-11-30,,,EPCN25\n"
        ",G82002,U25255,2026-12-01,,,,,,EPCN25\n",
    )
    (issue,) = project.validate().report.issues
    assert issue.code == "membership-id"
    assert "use G82002-U25255-1" in issue.message


def test_a_file_that_disagrees_with_a_newer_hand_rename_is_a_review_item(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "project")
    hand_edits(project)
    header, *lines = MAP["MAP26"].with_suffix(".csv").read_text(encoding="utf-8").splitlines()
    october = [
        line.replace("01Aug2026", "01Oct2026").replace(
            f",U21470,{OLD},", ",U21470,HERNE BAY & RECULVER PCN,"
        )
        for line in lines
    ]
    path = tmp_path / "gp-reg-pat-prac-map.csv"
    path.write_text("\r\n".join([header, *october]) + "\r\n", encoding="utf-8")
    names = project.read("pcn_names.csv")
    result = invoke("refresh", "--gp-map", path, "--dry-run", *refresh_args(project))
    assert result.exit_code == 0, result.output
    review = result.stdout[result.stdout.index("Review before publishing") :]
    assert (
        "[kept-newer] PCN U21470: gp-reg-pat-prac-map.csv (2026-10-01) names it HERNE BAY & "
        "RECULVER PCN; the sources hold HERNE BAY AND RECULVER PCN"
    ) in review
    assert project.read("pcn_names.csv") == names
