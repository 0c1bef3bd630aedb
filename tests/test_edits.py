"""The guided edits (`ics-data move`, `rename`, `close`, `open`, `add-source`): the month played
with the commands only, on a copy of the Kent fixture; each refusal with its message; a dry run
writes nothing; an edit touches only the lines it must."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Project, copy_project

from pipeline.cli import cli
from pipeline.upstream.edit import EditRefused, write_edit
from pipeline.upstream.edits import move_practice

HAND = "HAND-2026-11-20"


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def folders(project: Project) -> list[Any]:
    return ["--sources", project.sources, "--schemas", project.schemas]


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines only BEFORE has and the lines only AFTER has."""
    old, new = before.splitlines(), after.splitlines()
    return [line for line in old if line not in new], [line for line in new if line not in old]


def test_the_month_with_the_commands_only(tmp_path: Path) -> None:
    """A source added, a move, a rename, a PCN opened and one closed: each step prints its
    change, touches only its lines and leaves the sources valid; the diff names each change in
    words; the release `ics-data release` plans is published."""
    project = copy_project(tmp_path / "project")
    output = tmp_path / "output"
    assert invoke("publish", *folders(project), "--output", output).exit_code == 0  # 1.0.0
    files = ("package.yaml", "pcns.csv", "pcn_names.csv", "pcn_memberships.csv")
    steps: list[tuple[list[Any], dict[str, tuple[int, int]]]] = [
        (
            ["add-source", HAND, "--title", "Changes notified on 2026-11-20", "--path",
             "https://www.kentandmedway.icb.nhs.uk/", "--vintage", "2026-11-20"],
            {"package.yaml": (0, 4)},
        ),
        (
            ["move", "G82002", "--to", "U25255", "--on", "2026-12-01", "--source", HAND],
            {"pcn_memberships.csv": (1, 2)},
        ),
        (
            ["rename", "U21470", "--to", "HERNE BAY AND RECULVER PCN", "--on", "2026-11-20",
             "--source", HAND],
            {"pcns.csv": (1, 1), "pcn_names.csv": (1, 2)},
        ),
        (
            ["open", "pcn", "--code", "U99001", "--name", "SWANSCOMBE PCN", "--on",
             "2026-12-01", "--partnership", "dartford-gravesham-swanley", "--source", HAND],
            {"pcns.csv": (0, 1), "pcn_names.csv": (0, 1)},
        ),
        (
            ["close", "U04973", "--on", "2026-11-30", "--source", HAND],
            {"pcns.csv": (1, 1), "pcn_names.csv": (1, 1), "pcn_memberships.csv": (3, 3)},
        ),
    ]  # fmt: skip
    for args, expected in steps:
        before = {name: project.read(name) for name in files}
        result = invoke(*args, *folders(project))
        assert result.exit_code == 0, (args, result.output)
        after = {name: project.read(name) for name in files}
        counts = {
            name: tuple(len(side) for side in changed_lines(before[name], after[name]))
            for name in files
            if before[name] != after[name]
        }
        assert counts == expected, args
        for name in expected:  # the change printed is the change written, as a small diff
            assert f"{name}\n@@ " in result.stdout
            for line in changed_lines(before[name], after[name])[1]:
                assert f"+{line}" in result.stdout
        assert result.stdout.rstrip().splitlines()[-1].startswith("Written: ")
        assert invoke("validate", *folders(project)).exit_code == 0, args

    diff = invoke("diff", "latest", "sources", *folders(project), "--output", output).stdout
    assert (
        "Practice G82002 ST JAMES' SURGERY moved from PCN U34235 DOVER TOWN PCN to PCN U25255 "
        "DEAL & SANDWICH PCN on 2026-12-01" in diff
    )
    assert "PCN U21470 renamed from HERNE BAY PCN to HERNE BAY AND RECULVER PCN" in diff
    assert "PCN U99001 SWANSCOMBE PCN opened on 2026-12-01" in diff
    assert "PCN U04973 GARDEN CITY PCN closed on 2026-11-30" in diff
    assert f'"EPCN25; {HAND}"' in diff  # the records cite the source added

    planned = invoke("release", "--date", "2026-12-04", *folders(project), "--output", output)
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.startswith("1.0.0 (2026-11-24) -> 1.1.0 (2026-12-04)")
    published = invoke("publish", *folders(project), "--output", output)
    assert published.exit_code == 0, published.output
    changelog = (output / "1.1.0" / "CHANGELOG.md").read_text("utf-8")
    assert "PCN U04973 GARDEN CITY PCN closed on 2026-11-30" in changelog
    # a release of the current edition (build.edition): it cites the evidence added, and its
    # README's first command validates it
    bib = (output / "1.1.0" / "CITATION.bib").read_text("utf-8")
    assert f"@misc{{kent-medway-ics-1.1.0-{HAND}," in bib
    readme = (output / "1.1.0" / "README.md").read_text("utf-8")
    first = readme.index("```")
    assert readme[first:].startswith(
        '```sh\npip install "frictionless[json]"\nfrictionless validate'
    )


def test_a_dry_run_prints_the_change_and_writes_nothing(project: Project) -> None:
    before = digest(project.sources)
    result = invoke(
        "move", "G82002", "--to", "U25255", "--on", "2026-12-01", "--source", "EPCN25",
        "--dry-run", *folders(project),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "-G82002-U34235-1,G82002,U34235,2019-10-01,,,,,,EPCN25\n" in result.stdout
    assert "+G82002-U34235-1,G82002,U34235,2019-10-01,,,2026-11-30,,,EPCN25\n" in result.stdout
    assert "+G82002-U25255-1,G82002,U25255,2026-12-01,,,,,,EPCN25\n" in result.stdout
    assert result.stdout.endswith("Dry run: nothing was written.\n")
    assert digest(project.sources) == before


def test_an_edit_is_not_written_over_a_file_changed_since_it_was_read(project: Project) -> None:
    edit = move_practice(
        project.sources, project.schemas, "G82002", "U25255", date(2026, 12, 1), "EPCN25"
    )
    project.write("pcn_memberships.csv", project.read("pcn_memberships.csv") + "\n")
    before = digest(project.sources)
    with pytest.raises(EditRefused, match="changed while the edit was made"):
        write_edit(edit)
    assert digest(project.sources) == before


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


MOVE = ["move", "G82002", "--to", "U25255", "--on", "2026-12-01", "--source", "EPCN25"]

# (arguments, exit code, what the message says); each refused with nothing written
REFUSALS = [
    (
        ["move", "G82003", "--to", "U25255", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        'no practice G82003 in sources/practices.csv; did you mean "G82002" or "G82006"',
    ),
    (
        ["move", "G82002", "--to", "U25256", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        'no PCN U25256 in sources/pcns.csv; did you mean "U25255"',
    ),
    (
        ["move", "G82002", "--to", "U25255", "--on", "2026-12-01", "--source", "EPCN26"],
        1,
        'source EPCN26 is not registered in sources/package.yaml; did you mean "EPCN22" or '
        '"EPCN23" or "EPCN25"?',
    ),
    (
        ["move", "G82006", "--to", "U25255", "--on", "2019-10-01", "--source", "EPCN25"],
        1,
        "G82006-U17834-1 of PCN U17834 starts 2019-10-01 (sources/pcn_memberships.csv:3): a "
        "move on 2019-10-01 would end it on 2019-09-30, before it starts",
    ),
    (
        ["move", "G82017", "--to", "U25255", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        "practice G82017 is in no PCN on 2026-11-30: its last membership G82017-U47228-1 "
        "ended 2023-12-31 (sources/pcn_memberships.csv:",
    ),
    (
        ["move", "G82067", "--to", "U25255", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        "practice G82067 is in no PCN on 2026-11-30: it has no membership in "
        "sources/pcn_memberships.csv",
    ),
    (
        ["move", "G82002", "--to", "U82359", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        "PCN U82359 is not open on 2026-12-01: it opened 2019-10-01 and closed 2023-11-30 "
        "(sources/pcns.csv:45)",
    ),
    (
        ["move", "G82002", "--to", "U34235", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        "practice G82002 is in PCN U34235 already (sources/pcn_memberships.csv:2)",
    ),
    (
        ["rename", "U87442", "--to", "X PCN", "--on", "2022-03-01", "--source", "EPCN25"],
        1,
        'PCN U87442\'s name "MID KENT PCN" holds from between 2022-01-02 and 2022-04-27 '
        "(sources/pcn_names.csv:48): a rename on 2022-03-01 must come after it",
    ),
    (
        ["rename", "U21470", "--to", "X PCN", "--on", "2019-10-01", "--source", "EPCN25"],
        1,
        'PCN U21470\'s name "HERNE BAY PCN" holds from 2019-10-01 (sources/pcn_names.csv:16)',
    ),
    (
        ["rename", "U21470", "--to", "HERNE BAY PCN", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        'PCN U21470 is named "HERNE BAY PCN" already (sources/pcn_names.csv:16)',
    ),
    (
        ["rename", "U82359", "--to", "X PCN", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        "PCN U82359 is not open on 2026-12-01",
    ),
    (
        ["close", "U82359", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        "PCN U82359 is closed already: its last day was 2023-11-30 (sources/pcns.csv:45)",
    ),
    (
        ["close", "U04973", "--on", "2019-09-30", "--source", "EPCN25"],
        1,
        "PCN U04973 is not open on 2019-09-30: it opened 2019-10-01 (sources/pcns.csv:3)",
    ),
    (
        ["close", "G82017", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        "practice G82017 is in no PCN on 2026-12-01: its last membership G82017-U47228-1",
    ),
    (
        ["close", "G82006", "--on", "2019-09-30", "--source", "EPCN25"],
        1,
        "G82006-U17834-1 of PCN U17834 starts 2019-10-01 (sources/pcn_memberships.csv:3): "
        "closing it on 2019-09-30 would end it on 2019-09-30, before it starts",
    ),
    (
        ["close", "U0497", "--on", "2026-12-01", "--source", "EPCN25"],
        1,
        'U0497 is neither a PCN in sources/pcns.csv nor a practice in sources/practices.csv; '
        'did you mean "U04973"?',
    ),
    (
        ["open", "pcn", "--code", "U04973", "--name", "X PCN", "--on", "2026-12-01",
         "--partnership", "west-kent", "--source", "EPCN25"],
        1,
        'PCN U04973 exists already (sources/pcns.csv:3): it is "GARDEN CITY PCN"',
    ),
    (
        ["open", "pcn", "--code", "U99001", "--name", "X PCN", "--on", "2026-12-01",
         "--source", "EPCN25"],
        1,
        "under the partnership rule ccg-2019 (ics.yaml) every PCN of the ICS is in a "
        "partnership: give --partnership",
    ),
    (
        ["open", "pcn", "--code", "U99001", "--name", "X PCN", "--on", "2026-12-01",
         "--partnership", "west-kentt", "--source", "EPCN25"],
        1,
        '--partnership west-kentt: no such id in partnerships; did you mean "west-kent"',
    ),
    (
        ["open", "pcn", "--code", "U99001", "--name", "X PCN", "--on", "2026-12-01",
         "--sub-icb", "91R", "--partnership", "west-kent", "--source", "EPCN25"],
        1,
        '--sub-icb 91R: no such code in organisations; did you mean "91Q"',
    ),
    (
        ["add-source", "EPCN25", "--title", "x", "--path", "https://a.uk/", "--vintage",
         "2026-12-01"],
        1,
        "source EPCN25 is registered already (sources/package.yaml:51)",
    ),
    (
        ["add-source", "hand.1", "--title", "x", "--path", "https://a.uk/", "--vintage",
         "2026-12-01"],
        1,
        '"hand.1" is not an id the records can cite',
    ),
    (
        ["add-source", "HAND-1", "--title", "x", "--path", "javascript:alert(1)", "--vintage",
         "2026-12-01"],
        1,
        "the edited sources would not be valid, so nothing was written:\nsources/package.yaml:",
    ),
    (
        ["add-source", "HAND-1", "--title", "x", "--path", "https://a.uk/", "--vintage",
         "2027-1-1"],
        2,
        "'2027-1-1' is not a day written YYYY-MM-DD",
    ),
    (
        [*MOVE[:5], "2026-02-30", *MOVE[6:]],
        2,
        "'2026-02-30' is not a day of the calendar",
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One copy of the Kent fixture for every refusal: a refusal writes nothing."""
    return copy_project(tmp_path_factory.mktemp("refusals") / "project")


@pytest.mark.parametrize(
    ("args", "code", "message"), REFUSALS, ids=[f"{i}-{r[0][0]}" for i, r in enumerate(REFUSALS)]
)
def test_a_day_or_code_the_records_contradict_is_refused(
    shared: Project, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, message: str
) -> None:
    monkeypatch.chdir(shared.root)  # files are named as the person would see them: sources/...
    before = digest(shared.sources)
    result = invoke(*args, "--sources", "sources", "--schemas", "schemas")
    assert result.exit_code == code, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert digest(shared.sources) == before
