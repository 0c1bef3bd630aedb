"""CLI tests with Click's CliRunner: exit codes, help with an example, output formats, and
no traceback ever for bad data or a bad file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import Project

from pipeline.cli import cli
from pipeline.validate import validate_project


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def validate(project: Project, *extra: str) -> Result:
    return run("validate", "--sources", project.sources, "--schemas", project.schemas, *extra)


def no_traceback(result: Result) -> None:
    """Bad data ends in a message and an exit code, never in an exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output


# --- exit codes -------------------------------------------------------------------------------


def test_valid_sources_exit_0_with_a_summary(project: Project) -> None:
    result = validate(project)
    assert result.exit_code == 0, result.output
    assert "Sources are valid." in result.stdout
    assert re.search(r"2022-07-01\s+41", result.stdout)  # PCNs open at the claim's date
    assert re.search(r"forty-one-pcns\s+claimed 41\s+computed 41\s.*agrees", result.stdout)
    assert "pcn_memberships" in result.stdout


def test_invalid_sources_exit_1_with_file_line_and_code(project: Project) -> None:
    project.edit("pcns.csv", "U04973,GARDEN", "U1234,GARDEN")
    result = validate(project)
    assert result.exit_code == 1
    no_traceback(result)
    file = project.path("pcns.csv")
    assert f'{file}:3  pcns[1].pcn_code  "U1234" does not match ^U[0-9]{{5}}$   [pattern]' in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith("Fix the source records, or the schema if it is wrong.")
    assert "5 problems in 2 files." in result.stdout


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


def test_github_format_prints_annotations(project: Project) -> None:
    project.edit("pcns.csv", ",,,,,,dartford-gravesham-swanley,", ",,,,,,east-kentt,")
    project.path("objectives.yaml").unlink()
    result = validate(project, "--format", "github")
    assert result.exit_code == 1

    def prop(path: Path) -> str:  # property values escape ':' and ','
        return str(path).replace(":", "%3A").replace(",", "%2C")

    pcns, objectives = prop(project.path("pcns.csv")), prop(project.path("objectives.yaml"))
    assert result.stdout.splitlines() == [
        f"::error file={objectives},title=missing-file::objectives: no source file for resource "
        f"'objectives': expected objectives.yaml or objectives.csv in {project.sources}",
        f'::error file={pcns},line=3,title=enum::pcns[1].partnership: "east-kentt" is not one '
        "of ['dartford-gravesham-swanley', 'east-kent', 'medway-swale', 'west-kent']",
        f"::error file={pcns},line=3,title=foreign-key::pcns[1].partnership: "
        '"east-kentt" is not a partnerships.id',
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
    ("csv-nul", lambda p: p.edit("practices.csv", "ST JAMES' SURGERY", "ST JAMES\x00 SURGERY")),
    ("yaml-escape-char", lambda p: p.edit("objectives.yaml", "Enhance ", "Enhance\x1b")),
    ("unclosed-quote-csv", lambda p: p.edit("practices.csv", "ST JAMES' SURGERY", '"ST JAMES')),
    ("claim-figure-text", lambda p: p.edit("claims.yaml", "figure: 41", "figure: forty-one")),
    ("claim-date-bad", lambda p: p.edit("claims.yaml", 'as_at: "2022-07-01"', "as_at: July 2022")),
    ("all-dates-bad", lambda p: p.write("pcns.csv", p.read("pcns.csv").replace("2019-10-01", "x"))),
]  # fmt: skip


@pytest.mark.parametrize("change", [c for _, c in BAD_FILES], ids=[n for n, _ in BAD_FILES])
def test_bad_file_gives_a_report_not_a_traceback(
    project: Project, change: Callable[[Project], object]
) -> None:
    change(project)
    for fmt in ("text", "json", "github"):
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
    project.edit("claims.yaml", "figure: 41", "figure: 42")
    output = tmp_path / "output"
    result = run(
        "publish", "--sources", project.sources, "--schemas", project.schemas, "--output", output
    )
    assert result.exit_code == 1
    no_traceback(result)
    assert "[claim-mismatch]" in result.stderr
    assert "Nothing was published." in result.stderr
    assert not output.exists() or not any(output.iterdir())
