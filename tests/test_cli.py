"""CLI tests with Click's CliRunner: exit codes, help with an example, output formats, and
no traceback ever for bad data or a bad file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import Project
from hypothesis import given
from hypothesis import strategies as st

from pipeline.check.validate import validate_project
from pipeline.cli import cli

OBJECTIVE_4 = (
    "- number: 4\n  objective: Support broader social economic development\n  source: KM-ICS\n"
)


def edit_(name: str, old: str, new: str) -> Callable[[Project], object]:
    return lambda p: p.edit(name, old, new)


@pytest.fixture
def project(small: Project) -> Project:
    """The tiny golden project: the commands' exit codes and messages do not depend on the
    size of the data (a test about Kent's own records takes `kent`)."""
    return small


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def validate(project: Project, *extra: str) -> Result:
    return run("validate", "--sources", project.sources, "--schemas", project.schemas, *extra)


def no_traceback(result: Result) -> None:
    """Bad data ends in a message and an exit code, never in an exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output


# --- exit codes -------------------------------------------------------------------------------


def test_valid_sources_exit_0_with_a_summary(kent: Project) -> None:
    result = validate(kent)
    assert result.exit_code == 0, result.output
    assert "Sources are valid." in result.stdout
    assert re.search(r"2022-07-01\s+41", result.stdout)  # PCNs open at the claim's date
    assert re.search(r"forty-one-pcns\s+claimed 41\s+computed 41\s.*agrees", result.stdout)
    assert "pcn_memberships" in result.stdout


def test_invalid_sources_exit_1_with_file_line_and_code(kent: Project) -> None:
    kent.edit("pcns.csv", "U04973,GARDEN", "U1234,GARDEN")
    result = validate(kent)
    assert result.exit_code == 1
    no_traceback(result)
    file = kent.path("pcns.csv")
    assert f'{file}:3  pcns[1].pcn_code  "U1234" does not match ^U[0-9]{{5}}$   [pattern]' in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith("Fix the source records, or the schema if it is wrong.")
    # 4 memberships, 1 name, 40 registered rows; the PCN under its mistyped code has no members
    assert "46 problems and 1 warning in 4 files." in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--format", "xml"],
        ["validate", "--no-such-option"],
        ["validate", "extra-argument"],
        ["no-such-command"],
        ["releases", "--format", "github"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "Usage:" in result.stderr
    no_traceback(result)


def test_format_xml_names_the_choices(project: Project) -> None:
    result = validate(project, "--format", "xml")
    assert result.exit_code == 2
    assert "'xml' is not one of 'text', 'json', 'github'" in result.stderr


# --- help -------------------------------------------------------------------------------------


COMMANDS = sorted(cli.commands)


def test_there_are_commands() -> None:
    assert "validate" in COMMANDS


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_every_command_has_help_with_an_example(name: str) -> None:
    for flag in ("--help", "-h"):
        result = run(*([name] if name else []), flag)
        assert result.exit_code == 0, result.output
        assert "Example:" in result.stdout
        example = result.stdout.split("Example:")[1].split("\n\n")[0]
        assert f"ics-data {name}".strip() in example


def test_every_command_help_is_ordered_example_last() -> None:
    for name, command in cli.commands.items():
        assert isinstance(command, click.Command)
        assert command.help is not None, name
        assert command.help.rstrip().splitlines()[-2].strip() == "Example:", name


# --- output formats ---------------------------------------------------------------------------


@pytest.mark.parametrize("broken", [False, True])
def test_json_output_equals_the_library_result(project: Project, broken: bool) -> None:
    if broken:
        project.edit("pcns.csv", ",,,,,,dartford-gravesham-swanley,", ",,,,,,east-kentt,")
        project.edit("objectives.yaml", "- number: 2\n", "- number: 2\n  number: 5\n")
    result = validate(project, "--format", "json")
    assert result.exit_code == (1 if broken else 0)
    library = validate_project(project.sources, project.schemas).report.to_dict()
    assert json.loads(result.stdout) == json.loads(json.dumps(library))
    assert json.loads(result.stdout)["ok"] is not broken


def test_github_format_prints_annotations(kent: Project) -> None:
    kent.edit("pcns.csv", ",,,,,,dartford-gravesham-swanley,", ",,,,,,east-kentt,")
    kent.path("objectives.yaml").unlink()
    result = validate(kent, "--format", "github")
    assert result.exit_code == 1

    def prop(path: Path) -> str:  # property values escape ':' and ','
        return str(path).replace(":", "%3A").replace(",", "%2C")

    pcns, objectives = prop(kent.path("pcns.csv")), prop(kent.path("objectives.yaml"))
    assert result.stdout.splitlines() == [
        f"::error file={objectives},title=missing-file::objectives: no source file for resource "
        f"'objectives': expected objectives.yaml or objectives.csv in {kent.sources}",
        f"::error file={pcns},line=3,title=foreign-key::pcns[1].partnership: "
        '"east-kentt" is not a partnerships.id; did you mean "east-kent" or "west-kent"?',
    ]


def test_github_format_valid(project: Project) -> None:
    result = validate(project, "--format", "github")
    assert result.exit_code == 0
    assert "::error" not in result.stdout


# --- bad files and folders: a message, never a traceback --------------------------------------


def latin1(p: Project) -> None:
    p.path("practices.csv").write_bytes("code,name\nA,caf\u00e9\n".encode("latin-1"))


def extra_schema(text: str) -> Callable[[Project], object]:
    return lambda p: p.write("schemas/extra.schema.yaml", text)


BAD_FILES: list[tuple[str, Callable[[Project], object]]] = [
    ("latin-1", latin1),
    ("binary", lambda p: p.path("pcns.csv").write_bytes(bytes(range(256)) * 4)),
    ("tab", lambda p: p.edit("objectives.yaml", "- number: 3\n  objective", "- number: 3\n\tobj")),
    ("empty-yaml", lambda p: p.write("objectives.yaml", "")),
    ("empty-csv", lambda p: p.write("pcns.csv", "")),
    ("record-list", lambda p: p.write("objectives.yaml", "- [1, 2]\n- - 3\n")),
    ("file-is-scalar", lambda p: p.write("objectives.yaml", "just text\n")),
    ("folder-not-file", lambda p: (p.path("pcns.csv").unlink(), p.path("pcns.csv").mkdir())),
    ("schema-not-mapping", lambda p: p.write("schemas/objectives.schema.yaml", "- a\n- b\n")),
    ("schema-json-garbage", lambda p: p.write("schemas/extra.schema.json", "{not json")),
    ("schema-fields-not-list", extra_schema("fields: 3\n")),
    ("schema-field-not-mapping", extra_schema("fields: [a]\n")),
    ("schema-field-is-a-file", extra_schema("fields: [README.md]\n")),
    ("schema-bad-regex", lambda p: p.edit("schemas/pcns.schema.yaml", "^U[0-9]{5}$", "^U[0-9{5}$")),
    ("schema-folder", lambda p: p.path("schemas/extra.schema.json").mkdir()),
    ("schema-empty", lambda p: p.write("schemas/objectives.schema.yaml", "")),
    ("package-list", lambda p: p.write("package.yaml", "- a\n")),
    ("package-sources-scalar", lambda p: p.edit("package.yaml", "sources:\n", "sources: x\nz:\n")),
    ("package-version-float", lambda p: p.edit("package.yaml", "version: 1.0.0", "version: 1.0")),
    ("package-date-bad", lambda p: p.edit("package.yaml", "date: 2026-11-24", "date: soon")),
    ("python-tag", lambda p: p.edit("package.yaml", "1.0.0", "!!python/name:os.system")),
    ("csv-nul", lambda p: p.edit("practices.csv", "NEWTON PLACE SURGERY", "NEWTON\x00 SURGERY")),
    ("yaml-escape-char", lambda p: p.edit("objectives.yaml", "Enhance ", "Enhance\x1b")),
    ("unclosed-quote-csv", lambda p: p.edit("practices.csv", "NEWTON PLACE SURGERY", '"NEWTON')),
    ("claim-figure-text", lambda p: p.edit("claims.yaml", "figure: 4\n", "figure: four\n")),
    ("claim-date-bad", lambda p: p.edit("claims.yaml", 'as_at: "2022-07-01"', "as_at: July 2022")),
    ("all-dates-bad", lambda p: p.write("pcns.csv", p.read("pcns.csv").replace("2019-10-01", "x"))),
]  # fmt: skip


@pytest.mark.parametrize("change", [c for _, c in BAD_FILES], ids=[n for n, _ in BAD_FILES])
def test_bad_file_gives_a_report_not_a_traceback(
    project: Project, change: Callable[[Project], object]
) -> None:
    change(project)
    for fmt in ("text", "json"):  # github renders the same issues as text, line by line
        result = validate(project, "--format", fmt)
        no_traceback(result)
        assert result.exit_code == 1, result.output
        if fmt == "text":  # each problem on its own line, ending in its code
            assert re.search(r"\[[a-z-]+\]$", result.stdout.splitlines()[0]), result.stdout


def test_missing_sources_folder_is_a_clear_error(project: Project, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = run("validate", "--sources", missing, "--schemas", project.schemas)
    assert result.exit_code == 1
    no_traceback(result)
    assert f"Error: sources folder {missing} does not exist" in result.stderr
    assert "Hint: run from the project folder or pass --sources DIR" in result.stderr


def test_missing_schemas_folder_is_a_clear_error(project: Project, tmp_path: Path) -> None:
    result = run("validate", "--sources", project.sources, "--schemas", tmp_path / "nowhere")
    assert result.exit_code == 1
    no_traceback(result)
    assert "schemas folder" in result.stderr and "--schemas DIR" in result.stderr


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("swapped", "Error: schemas folder {sources} holds no Table Schemas"),
        ("empty-sources", "Error: sources folder {empty} holds no package.yaml and no source"),
        ("empty-schemas", "Error: schemas folder {empty} holds no Table Schemas"),
    ],
    ids=["swapped", "empty-sources", "empty-schemas"],
)
def test_wrong_folder_is_one_clear_error(
    project: Project, tmp_path: Path, which: str, message: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    sources, schemas = {
        "swapped": (project.schemas, project.sources),
        "empty-sources": (empty, project.schemas),
        "empty-schemas": (project.sources, empty),
    }[which]
    result = run("validate", "--sources", sources, "--schemas", schemas)
    assert result.exit_code == 1
    no_traceback(result)
    assert message.format(sources=project.sources, empty=empty) in result.stderr
    assert "Hint: pass --" in result.stderr
    assert result.stdout == ""


def test_default_folders_missing_in_an_empty_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("validate")
    assert result.exit_code == 1
    no_traceback(result)
    assert "Error: sources folder sources does not exist" in result.stderr


def test_debug_shows_the_exception(tmp_path: Path) -> None:
    result = run("--debug", "validate", "--sources", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.exception is not None
    assert type(result.exception).__name__ == "ProjectError"


def test_publish_refuses_invalid_sources_and_writes_nothing(
    project: Project, tmp_path: Path
) -> None:
    project.edit("claims.yaml", "figure: 4\n", "figure: 5\n")
    output = tmp_path / "output"
    result = run(
        "publish", "--sources", project.sources, "--schemas", project.schemas, "--output", output
    )
    assert result.exit_code == 1
    no_traceback(result)
    assert "[claim-mismatch]" in result.stderr
    assert "Nothing was published." in result.stderr
    assert not output.exists() or not any(output.iterdir())


# --- a new user's mistakes, as the text report shows them --------------------------------------

SUMMARY_1 = "1 problem in 1 file. Fix the source records, or the schema if it is wrong."
NEW_USER: list[tuple[str, Callable[[Project], object], list[str]]] = [
    (
        "typo-in-a-practice-code",
        edit_("pcn_memberships.csv", "G82006,U17834", "G8206,U17834"),
        [  # one message: a code that breaks its pattern is not also a reference to nothing
            'sources/pcn_memberships.csv:3  pcn_memberships[1].practice_code  "G8206" does not '
            "match ^[A-Z][0-9]{5}$   [pattern]",
        ],
    ),
    (
        "code-with-a-trailing-space",
        edit_("pcn_memberships.csv", "G82006,U17834", "G82006,U17834 "),
        [
            'sources/pcn_memberships.csv:3  pcn_memberships[1].pcn_code  "U17834 " does not '
            "match ^U[0-9]{5}$   [pattern]",
        ],
    ),
    (
        "typo-in-a-csv-header",
        edit_("practices.csv", "practice_code,practice_name,", "practice_code,practise_name,"),
        [
            "sources/practices.csv:1  practices.practice_name  the header has no column "
            "'practice_name'; add it   [missing-field]",
            "sources/practices.csv:1  practices.practise_name  'practise_name' is not a field of "
            "practices; did you mean 'practice_name'?   [unknown-field]",
        ],
    ),
    (
        "typo-in-a-yaml-field-name",
        edit_("objectives.yaml", "  objective: Enhance", "  objectiv: Enhance"),
        [
            "sources/objectives.yaml:11  objectives[2].objective  a value is required"
            "   [missing-value]",
            "sources/objectives.yaml:12  objectives[2].objectiv  'objectiv' is not a field of "
            "objectives; did you mean 'objective'?   [unknown-field]",
        ],
    ),
    (
        "missing-partnership",
        edit_("pcns.csv", ",,,,,,west-kent,derived", ",,,,,,,derived"),
        [
            "sources/pcns.csv:4  pcns[2].partnership  PCN U05510 belongs to no partnership; "
            "under the partnership rule ccg-2019 every PCN of the ICS belongs to exactly one   "
            "[missing-partnership]",
            SUMMARY_1,
        ],
    ),
    (
        "pcn-dates-the-wrong-way-round",
        edit_("pcns.csv", "2019-10-01,,,2022-03-31", "2022-03-31,,,2019-10-01"),
        [
            "sources/pcns.csv:2  pcns[0].close_date  close_date 2019-10-01 is before open_date "
            "2022-03-31; are the dates the wrong way round?   [date-order]",
            SUMMARY_1,
        ],
    ),
    (
        "date-written-day-first",
        edit_("pcn_memberships.csv", "G82006,U17834,2019-10-01", "G82006,U17834,01/10/2019"),
        [
            "sources/pcn_memberships.csv:3  pcn_memberships[1].start_date  "
            '"01/10/2019" is not a date YYYY-MM-DD   [type-error]',
            SUMMARY_1,
        ],
    ),
    (
        "tab-in-yaml",
        edit_("partnerships.yaml", "  name: East Kent", "\tname: East Kent"),
        [
            "sources/partnerships.yaml:16  partnerships  YAML cannot be read: found character "
            "'\\t' that cannot start any token (while scanning for the next token); indent with "
            "spaces, not tabs   [yaml-syntax]",
            SUMMARY_1,
        ],
    ),
    (
        "duplicate-key",
        edit_("claims.yaml", "  figure: 41\n", "  figure: 41\n  figure: 40\n"),
        [
            "sources/claims.yaml:6  claims[0].figure  field 'figure' appears twice in this "
            "record (first on line 5); YAML would silently keep the last   [duplicate-key]",
            SUMMARY_1,
        ],
    ),
    (
        "unclosed-quote-in-a-crlf-yaml-file",
        lambda p: p.write(
            "ics.yaml",
            p.read("ics.yaml").replace("\n", "\r\n").replace('"2021-04"', '"2021-04'),
        ),
        [
            "sources/ics.yaml:16  ics  a quoted value starting on this line is not closed on it "
            "(a quote on line 17 closes it); add the closing quote   [yaml-syntax]",
            SUMMARY_1,
        ],
    ),
    (
        "colon-in-an-unquoted-value",
        edit_("objectives.yaml", "outcomes (population", "outcomes: (population"),
        [
            "sources/objectives.yaml:4  objectives  YAML cannot be read: mapping values are not "
            "allowed here; a value that contains ': ' must be in quotes, or this line is "
            "indented wrongly   [yaml-syntax]",
            SUMMARY_1,
        ],
    ),
    (
        "text-after-a-closing-quote",
        edit_("objectives.yaml", "Enhance productivity", '"Enhance" productivity'),
        [
            "sources/objectives.yaml:12  objectives  YAML cannot be read: expected <block end>, "
            "but found '<scalar>' (while parsing a block mapping); is there text after a closing "
            "quote, or is this line indented wrongly?   [yaml-syntax]",
            SUMMARY_1,
        ],
    ),
    (
        "empty-yaml-file",
        lambda p: p.write("milestones.yaml", ""),
        [
            "sources/milestones.yaml  milestones  the file is empty; it must hold records"
            "   [empty-file]",
            SUMMARY_1,
        ],
    ),
    (
        "record-is-a-list-not-a-mapping",
        edit_("objectives.yaml", OBJECTIVE_4, "- [4, Support development, KM-ICS]\n"),
        [
            "sources/objectives.yaml:15  objectives[3]  each record must be a mapping of "
            "field: value, found a list   [yaml-structure]",
            SUMMARY_1,  # no claim-mismatch for "3 objectives"
        ],
    ),
    (
        "field-without-its-colon",
        edit_("objectives.yaml", OBJECTIVE_4, "- number 4\n"),
        [
            "sources/objectives.yaml:15  objectives[3]  each record must be a mapping of field: "
            "value, found the text 'number 4'; is the ': ' after the field name missing?"
            "   [yaml-structure]",
            SUMMARY_1,  # no claim-mismatch for "3 objectives"
        ],
    ),
    (
        "comma-in-an-unquoted-name",
        edit_("practices.csv", "DR CJ SHIMMINS & PARTNERS", "DR CJ SHIMMINS, PARTNERS"),
        [
            "sources/practices.csv:3  practices[1]  this row has 6 cells but the header has 5; "
            "a value with a comma must be in double quotes   [extra-cell]",
        ],
    ),
    (
        "crlf-csv-with-a-short-code",
        lambda p: p.write(
            "pcns.csv", p.read("pcns.csv").replace("\n", "\r\n").replace("U04973,G", "U4973,G")
        ),
        [
            'sources/pcn_memberships.csv:55  pcn_memberships[53].pcn_code  "U04973" is not a '
            "pcns.pcn_code   [foreign-key]",
            'sources/pcn_memberships.csv:110  pcn_memberships[108].pcn_code  "U04973" is not a '
            "pcns.pcn_code   [foreign-key]",
            'sources/pcn_memberships.csv:147  pcn_memberships[145].pcn_code  "U04973" is not a '
            "pcns.pcn_code   [foreign-key]",
            'sources/pcn_memberships.csv:243  pcn_memberships[241].pcn_code  "U04973" is not a '
            "pcns.pcn_code   [foreign-key]",
            'sources/pcn_names.csv:3  pcn_names[1].pcn_code  "U04973" is not a pcns.pcn_code   '
            "[foreign-key]",
            'sources/pcns.csv:3  pcns[1].pcn_code  "U4973" does not match ^U[0-9]{5}$   [pattern]',
            "sources/pcns.csv:3  pcns[1].pcn_code  PCN U4973 has no member practice in any file: "
            "kept as published (decisions key: U4973)   [pcn-without-members, warning]",
            # the PCN's 40 rows of registered patients (lines 2-41: U04973 sorts first)
            *(
                f'sources/registered_patients.csv:{n}  registered_patients[{n - 2}].pcn_code  '
                '"U04973" is not a pcns.pcn_code   [foreign-key]'
                for n in range(2, 42)
            ),
            "46 problems and 1 warning in 4 files. Fix the source records, or the schema if it "
            "is wrong.",
        ],
    ),
    (
        "figure-with-its-unit",
        edit_("claims.yaml", "figure: 41", "figure: 41 PCNs"),
        [
            'sources/claims.yaml:5  claims[0].figure  "41 PCNs" is not a number   [type-error]',
            SUMMARY_1,
        ],
    ),
    (
        "pasted-control-character",
        edit_("objectives.yaml", "Enhance productivity", "Enhance\x1bproductivity"),
        [
            "sources/objectives.yaml:12  objectives  control character U+001B is not text; "
            "remove it   [encoding]",
            SUMMARY_1,
        ],
    ),
    (
        "saved-as-latin-1",
        lambda p: p.path("practices.csv").write_bytes(
            p.read("practices.csv").replace("AMHERST", "AMH\u00c9RST").encode("latin-1")
        ),
        [
            "sources/practices.csv:5  practices  byte 0xc9 is not UTF-8; save the file as UTF-8"
            "   [encoding]",
            SUMMARY_1,
        ],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "lines"), [c[1:] for c in NEW_USER], ids=[c[0] for c in NEW_USER]
)
def test_new_user_mistakes_say_what_to_fix_and_where(
    kent: Project,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Project], object],
    lines: list[str],
) -> None:
    change(kent)
    monkeypatch.chdir(kent.root)  # run as a user would, from the kent folder
    result = run("validate")
    assert result.exit_code == 1
    no_traceback(result)
    out = result.stdout.splitlines()
    assert out[: len(lines)] == lines


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.write("practices.csv", "\ufeff" + p.read("practices.csv")),
        lambda p: p.write("claims.yaml", "\ufeff" + p.read("claims.yaml")),
        lambda p: p.write("pcns.csv", p.read("pcns.csv").replace("\n", "\r\n")),
        lambda p: p.write("claims.yaml", p.read("claims.yaml").replace("\n", "\r\n")),
    ],
    ids=["bom-csv", "bom-yaml", "crlf-csv", "crlf-yaml"],
)
def test_bom_and_windows_line_ends_are_fine(
    project: Project, change: Callable[[Project], object]
) -> None:
    change(project)
    result = validate(project)
    assert result.exit_code == 0, result.output


def test_warnings_are_printed_counted_and_annotated_but_do_not_fail() -> None:
    from pipeline.core.issues import (
        SOURCE_ADVICE,
        Issue,
        ValidationReport,
        render_github,
        render_text,
    )

    warning = Issue(
        "sources/pcns.csv", 3, "memberless-pcn", "no members", "pcns", severity="warning"
    )
    error = Issue("sources/pcns.csv", 4, "pattern", "bad code", "pcns", "pcn_code")
    assert ValidationReport((warning,)).ok
    assert not ValidationReport((warning, error)).ok
    assert ValidationReport((warning, error)).warnings == (warning,)
    text = render_text([warning])
    assert "[memberless-pcn, warning]" in text
    assert text.endswith("1 warning, no problems: nothing here stops a publish.")
    assert render_text([warning, error]).endswith(
        "1 problem and 1 warning in 1 file. " + SOURCE_ADVICE
    )
    assert render_github([warning]).startswith("::warning file=sources/pcns.csv,line=3,")
    assert render_github([error]).startswith("::error ")


@pytest.mark.slow
def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """`ics-data --help` loads click and the core, not frictionless, jinja2 or the writers: the
    start-up of every command stays small (its time is measured by make bench)."""
    code = (
        "import sys, pipeline.cli\n"
        "heavy = {'frictionless', 'jinja2', 'pandas', 'pyarrow', 'openpyxl', 'yaml'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_progress_is_silent_off_a_terminal_and_in_json() -> None:
    from pipeline.cli.options import terminal_progress
    from pipeline.core.progress import SILENT

    with terminal_progress("json") as progress:
        assert progress is SILENT
    with terminal_progress("text") as progress:  # pytest's stderr is not a terminal
        assert progress is SILENT


def test_the_bar_counts_the_steps_it_is_told(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli.options import BarProgress

    bar = BarProgress()
    bar.start(3, "building")
    for step in ("a", "b", "c"):
        bar.advance(step)
    assert bar._bar is not None and bar._bar.pos == 3
    bar.finish()
    assert bar._bar is None


@given(
    st.text(alphabet=st.sampled_from("ab \n\r\t\x00\x1b\x7f\x85\xa0\u2028\u2029\u202e\u2066é😀"))
)
def test_the_fast_text_check_agrees_with_the_policy_character_by_character(text: str) -> None:
    from pipeline.core.text import first_refused, text_problem

    for multiline in (True, False):
        assert text_problem(text, multiline=multiline) == first_refused(text, multiline=multiline)


def test_the_claims_summary_keeps_its_columns_for_long_ids_and_figures() -> None:
    from pipeline.cli.report import render_summary
    from pipeline.core.issues import ValidationReport

    claims = [
        {"id": "a", "claimed": 4, "computed": 4, "as_at": "2022-07-01", "status": "agrees"},
        {
            "id": "four-health-and-care-partnerships-and-more",
            "claimed": 1900000,
            "computed": None,
            "as_at": "2022-07-01",
            "status": "context",
        },
    ]
    lines = render_summary(ValidationReport((), {"claims": claims})).splitlines()[-2:]
    for word in ("claimed", "computed", "at 2022"):
        assert len({line.index(word) for line in lines}) == 1, (word, lines)
