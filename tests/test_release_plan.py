"""`ics-data release` plans the next release; `publish` keeps releases in order (a later date, no
skipped version) and refuses while anything awaits review (the review gate)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Project, copy_first_release, copy_small_first_release, copy_small_project
from hypothesis import given
from hypothesis import strategies as st

from pipeline import stages
from pipeline.cli import cli
from pipeline.core.errors import ProjectError, ReleaseError
from pipeline.sources.release_fields import set_release_fields

RENAME = ("GARDEN CITY PCN", "GARDEN CITY PRIMARY CARE NETWORK")  # a patch change
SMALL_RENAME = ("FAVERSHAM PCN", "FAVERSHAM PRIMARY CARE NETWORK")  # the golden project's


@pytest.fixture
def small(tmp_path: Path) -> Project:
    """A copy of the golden project, with a patch change (a PCN's name corrected): for the
    tests of the version policy, which the size of the data does not change."""
    project = copy_small_project(tmp_path / "small")
    project.edit("pcns.csv", *SMALL_RENAME)
    return project


@pytest.fixture
def small_output(tmp_path: Path) -> Path:
    """OUTPUT holding the golden project's first release (1.0.0 of 2026-11-24)."""
    return copy_small_first_release(tmp_path / "small-output")


def rename(project: Project) -> None:
    """Correct a PCN's name, in pcns and in its row of pcn_names."""
    for name in ("pcns.csv", "pcn_names.csv"):
        project.edit(name, *RENAME)


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def output(tmp_path: Path) -> Path:
    """OUTPUT holding one release of the shipped sources (1.0.0 of 2026-11-24)."""
    return copy_first_release(tmp_path / "output")


def folders(project: Project, output: Path) -> list[Any]:
    return ["--sources", project.sources, "--schemas", project.schemas, "--output", output]


def declare(project: Project, version: str, day: str) -> None:
    text = project.read("package.yaml")
    text = re.sub(r"^version: .*$", f"version: {version}", text, count=1, flags=re.M)
    text = re.sub(r"^release_date: .*$", f"release_date: {day}", text, count=1, flags=re.M)
    project.write("package.yaml", text)


# --- ics-data release -------------------------------------------------------------------------


def test_release_writes_only_version_and_date_and_prints_the_changelog_publish_writes(
    project: Project, output: Path
) -> None:
    rename(project)
    before = project.read("package.yaml").splitlines(keepends=True)
    result = invoke("release", "--date", "2026-12-04", *folders(project, output))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1.0.0 (2026-11-24) -> 1.0.1 (2026-12-04): a patch release.")
    after = project.read("package.yaml").splitlines(keepends=True)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert changed == [
        ("version: 1.0.0\n", "version: 1.0.1\n"),
        ("release_date: 2026-11-24\n", "release_date: 2026-12-04\n"),
    ]
    published = invoke("publish", *folders(project, output))
    assert published.exit_code == 0, published.output
    changelog = (output / "1.0.1" / "CHANGELOG.md").read_text("utf-8")
    assert changelog.rstrip() in result.stdout
    assert "PCN U04973 renamed from GARDEN CITY PCN to GARDEN CITY PRIMARY CARE NETWORK" in (
        changelog
    )


def test_release_computes_the_bump_from_the_newest_release_not_the_declared_version(
    project: Project, output: Path
) -> None:
    rename(project)
    declare(project, "1.3.0", "2026-11-01")  # a wrong plan by hand is corrected
    result = invoke("release", "--date", "2026-12-04", *folders(project, output))
    assert result.exit_code == 0, result.output
    assert "version: 1.0.1\n" in project.read("package.yaml")
    again = invoke("release", "--date", "2026-12-04", *folders(project, output))
    assert "sources/package.yaml already declares them." in again.stdout


def test_release_dry_run_writes_nothing(small: Project, small_output: Path) -> None:
    project = small  # a PCN renamed since the first release
    before = project.read("package.yaml")
    result = invoke("release", "--date", "2026-12-04", "--dry-run", *folders(project, small_output))
    assert result.exit_code == 0, result.output
    assert "Nothing written (--dry-run)" in result.stdout
    assert project.read("package.yaml") == before


@pytest.mark.parametrize(
    ("day", "said"),
    [
        ("2026-11-24", "release date 2026-11-24 (--date, or today) is the same date as the newest"),
        ("2026-11-20", "release date 2026-11-20 (--date, or today) is earlier than the newest"),
    ],
)
def test_release_refuses_a_date_not_after_the_newest_release(
    small: Project, small_output: Path, day: str, said: str
) -> None:
    project = small  # a PCN renamed since the first release
    before = project.read("package.yaml")
    result = invoke("release", "--date", day, *folders(project, small_output))
    assert result.exit_code == 1
    assert said in result.stderr and "Traceback" not in result.output
    assert "ics-data release --date 2026-11-25" in result.stderr  # the first day it may have
    assert project.read("package.yaml") == before


def test_release_with_nothing_changed_plans_nothing(tmp_path: Path, small_output: Path) -> None:
    project = copy_small_project(tmp_path / "unchanged")
    result = invoke("release", "--date", "2026-12-04", *folders(project, small_output))
    assert result.exit_code == 1
    assert "nothing changed since 1.0.0 (2026-11-24)" in result.stderr


def test_release_of_invalid_sources_shows_the_problems(project: Project, output: Path) -> None:
    project.edit("pcns.csv", "east-kent", "east-kentt")
    result = invoke("release", "--date", "2026-12-04", *folders(project, output))
    assert result.exit_code == 1
    assert "[foreign-key]" in result.stderr and "Nothing was planned." in result.stderr


def test_a_first_release_keeps_the_declared_version(small: Project, tmp_path: Path) -> None:
    project = small
    result = invoke("release", "--date", "2026-12-04", *folders(project, tmp_path / "none"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("First release: 1.0.0 (2026-12-04).")
    assert "release_date: 2026-12-04\n" in project.read("package.yaml")


def test_release_fields_keep_quotes_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "package.yaml"
    path.write_bytes(b"name: x\nversion: \"1.0.0\"  # the release\nrelease_date: '2026-11-24'\n")
    assert set_release_fields(path, "1.1.0", date(2026, 12, 4))
    assert path.read_bytes() == (
        b"name: x\nversion: \"1.1.0\"  # the release\nrelease_date: '2026-12-04'\n"
    )
    assert not set_release_fields(path, "1.1.0", date(2026, 12, 4))


def test_release_fields_refuse_a_file_they_cannot_edit_in_place(tmp_path: Path) -> None:
    path = tmp_path / "package.yaml"
    path.write_bytes(b"name: x\nversion: >-\n  1.0.0\nrelease_date: 2026-11-24\n")
    with pytest.raises(ProjectError, match="`version:`"):
        set_release_fields(path, "1.1.0", date(2026, 12, 4))
    assert path.read_bytes() == b"name: x\nversion: >-\n  1.0.0\nrelease_date: 2026-11-24\n"


@given(
    st.tuples(*(st.integers(0, 999) for _ in range(3))),
    st.dates(date(2000, 1, 1), date(2999, 12, 31)),
    st.lists(
        st.sampled_from(["title: a b", "# note", "  - id: X", "notes: version: 2"]), max_size=6
    ),
)
def test_release_fields_change_those_two_lines_only(
    parts: tuple[int, int, int], day: date, others: list[str]
) -> None:
    import tempfile  # hypothesis forbids function-scoped fixtures such as tmp_path

    version = ".".join(map(str, parts))
    lines = [*others, "version: 1.0.0", *others, "release_date: 2026-11-24", *others]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "package.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        set_release_fields(path, version, day)
        written = path.read_text(encoding="utf-8").splitlines()
    expected = [f"version: {version}" if line == "version: 1.0.0" else line for line in lines]
    expected = [
        f"release_date: {day.isoformat()}" if line == "release_date: 2026-11-24" else line
        for line in expected
    ]
    assert written == expected


# --- publish keeps releases in order ----------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "day", "extra", "exit_code", "said"),
    [
        ("1.0.1", "2026-11-20", [], 1, "is earlier than the newest release 1.0.0 (2026-11-24)"),
        ("1.0.1", "2026-11-24", [], 1, "is the same date as the newest release 1.0.0"),
        ("1.3.0", "2026-12-04", [], 1, "version 1.3.0 skips versions after the newest release"),
        ("1.0.2", "2026-12-04", [], 1, "the next patch release is 1.0.1"),
        ("1.3.0", "2026-12-04", ["--allow-skip"], 0, "1.3.0 can be published"),
        ("1.0.1", "2026-12-04", [], 0, "1.0.1 can be published"),
    ],
)
def test_publish_check_keeps_releases_in_order(
    small: Project,
    small_output: Path,
    version: str,
    day: str,
    extra: list[str],
    exit_code: int,
    said: str,
) -> None:
    project, output = small, small_output
    declare(project, version, day)
    for command in (["publish", "--check"], ["publish"]):
        result = invoke(*command, *extra, *folders(project, output))
        assert result.exit_code == exit_code, result.output
        if "--check" in command:
            assert said in result.output
    assert (output / version).is_dir() == (exit_code == 0)


# --- the review gate --------------------------------------------------------------------------

PLACEHOLDER = """  - id: MAP26-12
    # added by ics-data refresh; put the download address in path
    title: "NHS England, Patients Registered at a GP Practice, gp-reg-pat-prac-map.csv"
    path: "gp-reg-pat-prac-map.zip"
    vintage: "2026-12-01"
"""


def mark_for_review(project: Project) -> int:
    old = "U04973,GARDEN CITY PCN,91Q,2019-10-01,,,,,,dartford-gravesham-swanley,"
    text = project.read("pcns.csv")
    row = next(line for line in text.splitlines() if line.startswith(old))
    project.edit("pcns.csv", row, row.replace(",false,", ",true,"))
    return project.line_of("pcns.csv", old)


def add_placeholder(project: Project) -> int:
    project.edit("package.yaml", "  - id: DERIVED\n", PLACEHOLDER + "  - id: DERIVED\n")
    return project.line_of("package.yaml", 'path: "gp-reg-pat-prac-map.zip"')


def test_validate_lists_the_review_items_as_warnings(project: Project) -> None:
    pcn_line, path_line = mark_for_review(project), add_placeholder(project)
    result = invoke("validate", "--sources", project.sources, "--schemas", project.schemas)
    assert result.exit_code == 0, result.output
    assert (
        f"pcns.csv:{pcn_line}  pcns[1].partnership_review  pcns U04973: the partnership "
        '"dartford-gravesham-swanley" awaits review; confirm or correct it, then set '
        "partnership_review to false   [review-pending, warning]"
    ) in result.stdout
    assert (
        f"package.yaml:{path_line}  package.sources.path  source MAP26-12 has the "
        'placeholder path "gp-reg-pat-prac-map.zip"'
    ) in result.stdout
    assert "2 warnings, no problems; 2 of them await review, and publish refuses" in result.stdout
    assert re.search(r"placeholder-path +1\n +review-pending +1", result.stdout)


def test_publish_refuses_while_anything_awaits_review_then_passes(
    project: Project, output: Path
) -> None:
    pcn_line, path_line = mark_for_review(project), add_placeholder(project)
    rename(project)
    declare(project, "1.0.1", "2026-12-04")
    for command in (["publish", "--check"], ["publish"]):
        refused = invoke(*command, *folders(project, output))
        assert refused.exit_code == 1
        assert "2 items await review before a release:" in refused.stderr
        assert f"pcns.csv:{pcn_line}  pcns U04973" in refused.stderr
        assert f"package.yaml:{path_line}  source MAP26-12" in refused.stderr
        assert "Hint: clear each as it says" in refused.stderr
    assert not (output / "1.0.1").exists()

    project.edit("pcns.csv", ",true,", ",false,")
    address = "https://example.org/gp-reg-pat-prac-map.zip"  # what the person downloaded
    project.edit("package.yaml", '"gp-reg-pat-prac-map.zip"', f'"{address}"')
    passed = invoke("publish", *folders(project, output))
    assert passed.exit_code == 0, passed.output
    assert (output / "1.0.1").is_dir()


def test_a_first_release_awaiting_review_is_refused_too(project: Project, tmp_path: Path) -> None:
    mark_for_review(project)
    result = invoke("publish", "--check", *folders(project, tmp_path / "none"))
    assert result.exit_code == 1
    assert "1 item awaits review" in result.stderr
    assert not (tmp_path / "none").exists()


def test_release_names_what_awaits_review(project: Project, output: Path) -> None:
    mark_for_review(project)
    result = invoke("release", "--date", "2026-12-04", *folders(project, output))
    assert result.exit_code == 0, result.output
    assert "Before publishing, clear what awaits review (1):" in result.stdout


class Steps:
    """A Progress that keeps what it was told."""

    def __init__(self) -> None:
        self.told: list[str] = []

    def start(self, total: int, label: str) -> None:
        self.told.append(label)

    def advance(self, label: str) -> None:
        self.told.append(label)

    def finish(self) -> None:
        pass


@pytest.mark.parametrize(
    ("version", "day", "said"),
    [
        ("1.0.1", "2026-11-20", "is earlier than the newest release 1.0.0"),
        ("1.3.0", "2026-12-04", "skips versions after the newest release"),
        ("0.9.0", "2026-12-04", "is lower than the newest release 1.0.0"),
        ("1.0.1", "2026-12-04", None),  # a patch for a rename: published, after its files
    ],
)
def test_a_new_version_publish_refuses_is_refused_before_a_file_is_built(
    small: Project, small_output: Path, version: str, day: str, said: str | None
) -> None:
    """At national or 1000x size the files take minutes: a version in the wrong place is said
    before they are built (the same refusal publish makes under its lock, checked again there)."""
    project, output = small, small_output
    declare(project, version, day)
    steps = Steps()
    if said is None:
        stages.publish_release(project.sources, project.schemas, output, progress=steps)
        assert "building the release" in steps.told and (output / version).is_dir()
        return
    with pytest.raises(ReleaseError, match=said):
        stages.publish_release(project.sources, project.schemas, output, progress=steps)
    assert steps.told == [] and not (output / version).exists()


def test_too_small_a_bump_is_refused_before_a_file_is_built(project: Project, output: Path) -> None:
    text = project.read("pcn_memberships.csv")
    first = text.splitlines()[1]
    project.write("pcn_memberships.csv", text.replace(first + "\n", "", 1))  # a removed row
    declare(project, "1.0.1", "2026-12-04")
    steps = Steps()
    with pytest.raises(ReleaseError, match="but the changes need a major release"):
        stages.publish_release(project.sources, project.schemas, output, progress=steps)
    assert steps.told == []


@pytest.mark.parametrize("kind", ["loop", "link", "file", "empty"])
def test_a_link_or_file_where_the_release_goes_is_refused_before_anything_is_written(
    small: Project, small_output: Path, tmp_path: Path, kind: str
) -> None:
    """OUTPUT/1.0.1 that is a link (looping, or to a folder elsewhere), a file or a folder with
    no datapackage.json is no release and no free place for one: `--check` and `publish` both
    refuse it, and nothing is written (a looping link once passed the check, and publish left
    its zip behind)."""
    project, output = small, small_output
    declare(project, "1.0.1", "2026-12-04")
    place = output / "1.0.1"
    if kind == "loop":
        place.symlink_to("1.0.1")
    elif kind == "link":
        (tmp_path / "elsewhere").mkdir()
        place.symlink_to(tmp_path / "elsewhere")
    elif kind == "file":
        place.write_text("not a release", "utf-8")
    else:
        place.mkdir()
    said = "holds no datapackage.json" if kind == "empty" else "is a link or a file"
    before = sorted(p.name for p in output.iterdir())
    for command in (["publish", "--check"], ["publish"]):
        result = CliRunner().invoke(cli, [*command, *map(str, folders(project, output))])
        assert result.exit_code == 1, result.output
        assert said in result.output
        assert "Traceback" not in result.output
    assert sorted(p.name for p in output.iterdir()) == before
