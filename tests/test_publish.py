"""`ics-data publish`, `verify` and `releases` on the shipped sources, end to end.

Every release is written under tmp_path. The shipped sources are validated once per module and
published once into a reference folder; tests that need a release of their own copy it or publish
again (the tiny golden project, tests/golden/project, where the size of the data does not matter).
Tests that must run in a fresh process (another time zone, locale or hash seed; a publish killed
mid-write; two publishes at once) run `python -m pipeline` with a `sitecustomize` module put on
PYTHONPATH, which can call setlocale, say what the process runs under and when it takes the
lock, and stop before, half-way through or after a given file is written or renamed: until killed
(so the test can SIGKILL it at exactly that moment) or until the test lets it go on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import (
    GOLDEN_PROJECT,
    copy_output,
    first_release_output,
    first_release_sources,
    small_first_release_output,
)
from frictionless import Package

from pipeline import stages
from pipeline.archive import STAGING_PREFIX
from pipeline.build.tables import render_csv, render_json
from pipeline.check.validate import validate_project
from pipeline.cli import cli
from pipeline.core.errors import InvalidSources, ReleaseError
from pipeline.core.files import file_sha256
from pipeline.core.issues import render_text
from pipeline.core.model import TableOut, Validation
from pipeline.release.fingerprint import CACHE
from pipeline.release.plan import build_package
from pipeline.release.publish import publish
from pipeline.release.verify import json_twins, verify, verify_release
from pipeline.sources.schemas import generic_schemas

REPO = Path(__file__).resolve().parent.parent
SOURCES = first_release_sources()  # the Kent fixture, declaring the first release
SCHEMAS = generic_schemas()
VERSION = "1.0.0"
SMALL_SOURCES, SMALL_SCHEMAS = GOLDEN_PROJECT / "sources", GOLDEN_PROJECT / "schemas"
NAME = "kent-medway-ics"
ZIP = f"{NAME}-{VERSION}.zip"
# a table per schema; a release may add generated tables (`structure`) beside them
SOURCE_TABLES = sorted(p.name.removesuffix(".schema.yaml") for p in SCHEMAS.glob("*.schema.yaml"))

# Imported by every subprocess started here (PYTHONPATH), before `pipeline` is imported.
SITECUSTOMIZE = """
import os

if os.environ.get("ICS_TEST_SETLOCALE"):
    import locale

    locale.setlocale(locale.LC_ALL, "")

if os.environ.get("ICS_TEST_SAY_ENV"):  # what the process runs under, for the test to compare
    import json
    import locale
    import sys
    import time

    _said = {
        "utc_offset": time.strftime("%z"),
        "decimal_point": locale.localeconv()["decimal_point"],
        "encoding": locale.getpreferredencoding(False),
        "hash": hash("ics-data"),
    }
    sys.stderr.write(f"ENV {json.dumps(_said)}\\n")
    sys.stderr.flush()

# an event is "<before|partial|after> <write|replace> <file name>"
_HANG = os.environ.get("ICS_TEST_HANG", "")  # stop there until killed
_PAUSE = os.environ.get("ICS_TEST_PAUSE", "")  # stop there until ICS_TEST_RESUME exists

if os.environ.get("ICS_TEST_ANNOUNCE_LOCK"):
    import fcntl
    import sys

    _flock = fcntl.flock

    def flock(fd, operation):
        if operation & fcntl.LOCK_EX:
            sys.stderr.write("LOCKING\\n")
            sys.stderr.flush()
        return _flock(fd, operation)

    fcntl.flock = flock

if _HANG or _PAUSE:
    import pathlib
    import sys
    import time

    def _event(phase, op, name):
        event = f"{phase} {op} {name}"
        if event in (_HANG, _PAUSE):
            sys.stderr.write(f"HANG {event}\\n")
            sys.stderr.flush()
        if event == _HANG:
            time.sleep(600)  # until the test kills the process
        if event == _PAUSE:
            while not os.path.exists(os.environ["ICS_TEST_RESUME"]):
                time.sleep(0.01)

    _write_bytes = pathlib.Path.write_bytes
    _replace = os.replace

    def write_bytes(self, data):
        _event("before", "write", self.name)
        if _HANG == f"partial write {self.name}":
            with self.open("wb") as handle:
                handle.write(bytes(data)[: len(data) // 2])
                handle.flush()
                os.fsync(handle.fileno())
            _event("partial", "write", self.name)
        written = _write_bytes(self, data)
        _event("after", "write", self.name)
        return written

    def replace(src, dst, *args, **kwargs):
        name = os.path.basename(os.fspath(dst))
        _event("before", "replace", name)
        _replace(src, dst, *args, **kwargs)
        _event("after", "replace", name)

    pathlib.Path.write_bytes = write_bytes
    os.replace = replace
"""


# --- helpers ----------------------------------------------------------------------------------


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones included, staging leftovers too), by relative path;
    not the publish fingerprints in `.cache/`, a cache beside the releases (test_fingerprint)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] != CACHE
    }


def stamps_of(folder: Path) -> dict[str, tuple[int, int, int]]:
    """(mtime_ns, size, inode) of every file and folder: any write, rename or new entry shows."""
    paths = [folder, *sorted(folder.rglob("*"))]
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size, p.stat().st_ino)
        for p in paths
    }


def set_version(sources: Path, version: str, day: str = "2026-12-04") -> None:
    """Declare VERSION; a version other than the published one also gets a later date DAY, as
    publish requires of a new release."""
    path = sources / "package.yaml"
    text, count = re.subn(
        r"^version: .*$", f"version: {version}", path.read_text("utf-8"), flags=re.M
    )
    assert count == 1
    if version != VERSION:
        text = re.sub(r"^release_date: .*$", f"release_date: {day}", text, count=1, flags=re.M)
    path.write_bytes(text.encode("utf-8"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_bytes(text.replace(old, new, 1).encode("utf-8"))


def rename_faversham(sources: Path) -> None:
    """A correction of a PCN's name (a patch) in the golden project."""
    edit(sources / "pcns.csv", "FAVERSHAM PCN", "FAVERSHAM PRIMARY CARE NETWORK")


def rename_garden_city(sources: Path) -> None:
    """A correction of a PCN's name (a patch): in pcns and in its row of pcn_names."""
    for name in ("pcns.csv", "pcn_names.csv"):
        edit(sources / name, "GARDEN CITY PCN", "GARDEN CITY PRIMARY CARE NETWORK")


def copy_project(root: Path, project: Path | None = None) -> tuple[Path, Path]:
    """A copy of the shipped project (or of PROJECT's sources and schemas) under ROOT."""
    shutil.copytree(SOURCES if project is None else project / "sources", root / "sources")
    shutil.copytree(SCHEMAS if project is None else project / "schemas", root / "schemas")
    return root / "sources", root / "schemas"


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def publish_args(output: Path, sources: Path = SOURCES, schemas: Path = SCHEMAS) -> list[Any]:
    return ["publish", "--sources", sources, "--schemas", schemas, "--output", output]


def subprocess_env(hooks: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICS_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hooks), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def start_publish(
    hooks: Path,
    output: Path,
    cwd: Path,
    sources: Path = SOURCES,
    schemas: Path = SCHEMAS,
    **env: str,
) -> subprocess.Popen[str]:
    args = ["publish", "--sources", str(sources), "--schemas", str(schemas)]
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args, "--output", str(output)],
        cwd=cwd,
        env=subprocess_env(hooks, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="backslashreplace",  # a child in an 8-bit locale writes its own encoding
    )


def wait_for(proc: subprocess.Popen[str], prefix: str, timeout: float = 60) -> str:
    """Read the child's stderr until a line starts with `prefix`; fail if it ends first."""
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = []
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith(prefix):
                return line.strip()
    finally:
        selector.close()
    proc.kill()
    proc.communicate()
    pytest.fail(f"the publish never said {prefix!r}; stderr: {''.join(seen)}")


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    proc.communicate()


# --- fixtures ---------------------------------------------------------------------------------


def validated(sources: Path, schemas: Path) -> Validation:
    result = validate_project(sources, schemas)
    assert result.report.ok, render_text(result.report.issues)
    return result


@pytest.fixture(scope="module")
def validation() -> Validation:
    return validated(SOURCES, SCHEMAS)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTPUT after one publish of the shipped sources through the library (the session's
    `first_release_output`), without the fingerprint that publish recorded beside it: a
    republish of a copy here takes the full way, building and comparing every byte. Read only."""
    output = tmp_path_factory.mktemp("reference") / "output"
    shutil.copytree(first_release_output(), output, ignore=shutil.ignore_patterns(CACHE))
    return output


@pytest.fixture(scope="module")
def reference_files(reference: Path) -> dict[str, bytes]:
    return files_of(reference)


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hooks")
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def other_locale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A locale unlike C: Turkish (dotless i, comma decimals) in its 8-bit charset, ISO-8859-9,
    so that Python's default encoding is not UTF-8 either; compiled under tmp_path when
    localedef can (in a fifth of the time the UTF-8 charmap takes); else POSIX, the one other
    locale every system has."""
    folder = tmp_path_factory.mktemp("locales")
    if shutil.which("localedef"):
        name = "tr_TR.ISO-8859-9"
        done = subprocess.run(
            ["localedef", "-i", "tr_TR", "-f", "ISO-8859-9", str(folder / name)],
            capture_output=True,
        )
        if (folder / name).is_dir() and done.returncode in (0, 1):
            return {"LOCPATH": str(folder), "LC_ALL": name, "LANG": name}
    return {"LC_ALL": "POSIX", "LANG": "POSIX"}


@pytest.fixture
def output(tmp_path: Path, reference: Path) -> Path:
    """A copy of the reference OUTPUT, for one test to change."""
    return copy_output(reference, tmp_path / "output")


@pytest.fixture(scope="module")
def small_validation() -> Validation:
    return validated(SMALL_SOURCES, SMALL_SCHEMAS)


@pytest.fixture(scope="module")
def small_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTPUT after one publish of the tiny golden project (tests/golden/project, the session's
    `small_first_release_output`, without its recorded fingerprint, as `reference`), the same
    package in the same layout with a few rows a table: for the checks that frictionless reads
    whole, and for the publishes killed or run at once, which the size of the data does not
    change. Read only."""
    output = tmp_path_factory.mktemp("small") / "output"
    shutil.copytree(small_first_release_output(), output, ignore=shutil.ignore_patterns(CACHE))
    return output


@pytest.fixture(scope="module")
def small_files(small_reference: Path) -> dict[str, bytes]:
    return files_of(small_reference)


@pytest.fixture
def small_output(tmp_path: Path, small_reference: Path) -> Path:
    """A copy of the small reference OUTPUT, for one test to change."""
    return copy_output(small_reference, tmp_path / "output")


# --- layout -----------------------------------------------------------------------------------


def read_descriptor(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "datapackage.json").read_text("utf-8"))
    return data


def tables_of(folder: Path) -> list[str]:
    """The tables of a release: its CSV resources (each has a JSON twin)."""
    return [r["name"] for r in read_descriptor(folder)["resources"] if r["format"] == "csv"]


def check_layout(output: Path) -> None:
    folder = output / VERSION
    descriptor = read_descriptor(folder)
    assert descriptor["version"] == VERSION
    assert descriptor["name"] == NAME
    tables = tables_of(folder)
    assert set(SOURCE_TABLES) <= set(tables)
    names = {r["name"] for r in descriptor["resources"]}
    assert names == set(tables) | {f"{t}-json" for t in tables}

    on_disk = set(files_of(folder))
    data = {f"data/{t}.{fmt}" for t in tables for fmt in ("csv", "json")}
    assert {p for p in on_disk if p.startswith("data/")} == data
    assert {"datapackage.json", "README.md", "CHANGELOG.md"} <= on_disk
    assert "changes" in tables  # the change list, empty in a first release
    listed = {f["path"]: f for f in descriptor["files"]}
    assert set(listed) == on_disk - {"datapackage.json"}  # every file described, none extra
    assert (output / ZIP).is_file()
    root = {p.name for p in output.iterdir()}
    assert {VERSION, ZIP, "catalog.json", "CHANGELOG.md"} <= root
    assert not [n for n in root if n.startswith(STAGING_PREFIX)]
    for resource in descriptor["resources"]:
        content = (folder / resource["path"]).read_bytes()
        assert resource["hash"] == f"sha256:{hashlib.sha256(content).hexdigest()}"
        assert listed[resource["path"]]["bytes"] == len(content)
        assert resource["schema"]["fields"]

    catalog = json.loads((output / "catalog.json").read_text("utf-8"))
    assert catalog["latest"] == VERSION
    (entry,) = catalog["releases"]
    assert entry["version"] == VERSION
    assert entry["datapackage_sha256"] == file_sha256(folder / "datapackage.json")
    assert entry["zip"]["hash"] == f"sha256:{file_sha256(output / ZIP)}"

    with zipfile.ZipFile(output / ZIP) as archive:
        inside = {
            info.filename.removeprefix(f"{NAME}-{VERSION}/"): archive.read(info)
            for info in archive.infolist()
        }
    assert inside == files_of(folder)


def test_library_publish_writes_the_release_layout(reference: Path) -> None:
    check_layout(reference)


def test_cli_publish_writes_the_same_bytes_as_the_library(
    tmp_path: Path, reference_files: dict[str, bytes]
) -> None:
    output = tmp_path / "out"
    result = invoke(*publish_args(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"published {VERSION} in ")
    check_layout(output)
    assert files_of(output) == reference_files


# --- reproducible -----------------------------------------------------------------------------


def other_time_zone() -> str:
    """A time zone whose offset from UTC now is not this process's."""
    here = time.strftime("%z")
    zones = ("Pacific/Auckland", "America/St_Johns")  # never at the same offset
    return next(z for z in zones if datetime.now(ZoneInfo(z)).strftime("%z") != here)


@pytest.mark.slow
def test_release_is_byte_identical_under_other_tz_locale_hash_seed_and_folder(
    tmp_path: Path, hooks: Path, reference_files: dict[str, bytes], other_locale: dict[str, str]
) -> None:
    """The reference was published in this process; one publish in another process differs
    from it in everything at once: a relative --output two folders deep, run from its own
    folder; another time zone, a locale set from the environment (unlike C), another hash seed.
    The child says what it ran under, so each difference is checked to have held."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    seed = "4243" if os.environ.get("PYTHONHASHSEED") == "4242" else "4242"
    proc = start_publish(
        hooks,
        Path("deeper") / "folder" / "out",
        cwd,
        TZ=other_time_zone(),
        PYTHONHASHSEED=seed,
        ICS_TEST_SETLOCALE="1",
        ICS_TEST_SAY_ENV="1",
        **other_locale,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.startswith(f"published {VERSION}")
    said = [json.loads(x.removeprefix("ENV ")) for x in err.splitlines() if x.startswith("ENV ")]
    assert len(said) == 1, f"the child did not say what it ran under (sitecustomize): {err}"
    ran = said[0]
    assert ran["utc_offset"] != time.strftime("%z")
    assert ran["hash"] != hash("ics-data")
    if other_locale["LC_ALL"].startswith("tr_TR"):
        assert (ran["decimal_point"], ran["encoding"]) == (",", "ISO-8859-9")  # set, not C
    files = files_of(cwd / "deeper" / "folder" / "out")  # the relative --output, from CWD
    assert sorted(files) == sorted(reference_files)
    for path in reference_files:
        assert files[path] == reference_files[path], f"{path} differs"


# --- immutable --------------------------------------------------------------------------------


def test_republishing_the_same_content_touches_nothing(output: Path) -> None:
    before, stamps = files_of(output), stamps_of(output)
    result = invoke(*publish_args(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"already published as {VERSION}")
    assert files_of(output) == before
    assert stamps_of(output) == stamps


def test_republishing_into_a_committed_output_creates_no_file(
    tmp_path: Path, reference: Path
) -> None:
    """A fresh clone holds only the committed files: a no-op publish must leave `git status`
    clean, so it may not leave a lock file (or anything else) behind."""
    output = tmp_path / "output"
    for path, content in files_of(reference).items():
        if not path.startswith("."):
            (output / path).parent.mkdir(parents=True, exist_ok=True)
            (output / path).write_bytes(content)
    stamps = stamps_of(output)
    result = invoke(*publish_args(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"already published as {VERSION}")
    assert stamps_of(output) == stamps


def test_library_republish_reports_unchanged(validation: Validation, output: Path) -> None:
    result = stages.publish_validated(validation, output)
    assert (result.version, result.status) == (VERSION, "unchanged")


def test_changed_content_under_the_same_version_is_refused(
    tmp_path: Path, small_output: Path
) -> None:
    output = small_output
    sources, schemas = copy_project(tmp_path / "project", GOLDEN_PROJECT)
    rename_faversham(sources)
    stamps = stamps_of(output)
    result = invoke(*publish_args(output, sources, schemas))
    assert result.exit_code == 1
    assert f"version {VERSION} is already published" in result.stderr
    assert "Hint: bump `version` in" in result.stderr
    assert "package.yaml" in result.stderr
    assert stamps_of(output) == stamps

    with pytest.raises(ReleaseError, match="already published"):
        stages.publish_validated(validate_project(sources, schemas), output)
    assert stamps_of(output) == stamps


def test_a_version_lower_than_the_newest_is_refused(tmp_path: Path, output: Path) -> None:
    sources, schemas = copy_project(tmp_path / "project")
    set_version(sources, "0.9.0")
    stamps = stamps_of(output)
    result = invoke(*publish_args(output, sources, schemas))
    assert result.exit_code == 1
    assert f"version 0.9.0 is lower than the newest release {VERSION}" in result.stderr
    assert "Hint: bump `version` in" in result.stderr
    assert stamps_of(output) == stamps


def test_a_higher_version_is_a_second_release(tmp_path: Path, output: Path) -> None:
    sources, schemas = copy_project(tmp_path / "project")
    set_version(sources, "1.1.0")
    rename_garden_city(sources)
    first = {p: c for p, c in files_of(output).items() if p.startswith(VERSION) or p == ZIP}
    result = invoke(*publish_args(output, sources, schemas))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("published 1.1.0")

    after = files_of(output)
    assert {p: after[p] for p in first} == first  # the first release is untouched
    assert (output / "1.1.0" / "datapackage.json").is_file()
    assert (output / f"{NAME}-1.1.0.zip").is_file()
    catalog = json.loads((output / "catalog.json").read_text("utf-8"))
    assert [r["version"] for r in catalog["releases"]] == [VERSION, "1.1.0"]
    assert catalog["latest"] == "1.1.0"
    for entry in catalog["releases"]:
        package = output / entry["version"] / "datapackage.json"
        assert entry["datapackage_sha256"] == file_sha256(package)
    pcns = (output / "1.1.0" / "data" / "pcns.csv").read_text("utf-8")
    assert "GARDEN CITY PRIMARY CARE NETWORK" in pcns

    listed = invoke("releases", "--output", output)
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [VERSION, "1.1.0"]
    as_json = json.loads(invoke("releases", "--output", output, "--format", "json").stdout)
    assert [row["version"] for row in as_json] == [VERSION, "1.1.0"]

    # republishing the older version's sources now is a no-op, not a refusal
    again = invoke(*publish_args(output))
    assert again.exit_code == 0
    assert again.stdout.startswith(f"already published as {VERSION}")


# --- publish --check: every decision, no write -----------------------------------------------


def test_check_into_a_missing_output_creates_nothing(tmp_path: Path) -> None:
    output = tmp_path / "none"
    result = invoke(*publish_args(output), "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{VERSION} can be published")
    assert not output.exists()


@pytest.mark.parametrize(
    ("version", "change", "exit_code", "said"),
    [
        (VERSION, False, 0, f"already published as {VERSION}"),
        (VERSION, True, 1, "Hint: bump `version` in"),
        ("0.9.0", False, 1, "lower than the newest release"),
        ("1.1.0", True, 0, "1.1.0 can be published"),
    ],
)
def test_check_decides_like_publish_and_touches_nothing(
    tmp_path: Path, small_output: Path, version: str, change: bool, exit_code: int, said: str
) -> None:
    """The decisions of the version policy, on the golden project (they do not depend on the
    size of the data)."""
    output = small_output
    sources, schemas = copy_project(tmp_path / "project", GOLDEN_PROJECT)
    set_version(sources, version)
    if change:
        rename_faversham(sources)
    stamps = stamps_of(output)
    result = invoke(*publish_args(output, sources, schemas), "--check")
    assert result.exit_code == exit_code, result.output
    assert said in result.output
    assert stamps_of(output) == stamps


# --- invalid sources --------------------------------------------------------------------------


@pytest.fixture
def invalid_sources(tmp_path: Path) -> tuple[Path, Path]:
    sources, schemas = copy_project(tmp_path / "project")
    edit(sources / "pcns.csv", "U04973,GARDEN CITY PCN", "U4973,GARDEN CITY PCN")
    return sources, schemas


def test_invalid_sources_print_the_report_and_create_no_output(
    tmp_path: Path, invalid_sources: tuple[Path, Path]
) -> None:
    sources, schemas = invalid_sources
    output = tmp_path / "never"
    result = invoke(*publish_args(output, sources, schemas))
    assert result.exit_code == 1
    report = validate_project(sources, schemas).report
    assert not report.ok
    assert render_text(report.issues) in result.stderr
    assert '"U4973" does not match' in result.stderr
    assert "Nothing was published." in result.stderr
    assert not output.exists()

    with pytest.raises(InvalidSources, match="not valid"):
        stages.publish_validated(validate_project(sources, schemas), output)
    assert not output.exists()


def test_invalid_sources_leave_an_existing_output_untouched(
    output: Path, invalid_sources: tuple[Path, Path]
) -> None:
    sources, schemas = invalid_sources
    set_version(sources, "2.0.0")
    stamps = stamps_of(output)
    result = invoke(*publish_args(output, sources, schemas))
    assert result.exit_code == 1
    assert "[pattern]" in result.stderr
    assert stamps_of(output) == stamps


def drop_qks_icb(sources: Path) -> None:
    path = sources / "icbs.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if not x.startswith("QKS,")), encoding="utf-8")


def ons_code_not_in_icbs(sources: Path) -> None:
    edit(sources / "ics.yaml", "ons_code: E54000032", "ons_code: E54000099")


@pytest.mark.parametrize(
    ("project", "damage", "why"),
    [
        (GOLDEN_PROJECT, drop_qks_icb, "icbs has no single row of ICB QKS E54000032"),
        (REPO, ons_code_not_in_icbs, "icbs has no single row of ICB QKS E54000099"),
    ],
    ids=["no-icbs-row", "ics-ons-code-not-in-icbs"],
)
def test_sources_the_structure_table_cannot_be_built_from_are_invalid(
    tmp_path: Path, project: Path, damage: Any, why: str
) -> None:
    """Records valid one by one, whose ICS has no ICB row to give the structure, once crashed
    publish with a traceback (sqlite3.IntegrityError writing the generated `structure` table);
    now validation says why, at the ics record, and nothing is written."""
    shutil.copytree(project / "sources", tmp_path / "sources")
    shutil.copytree(project / "schemas", tmp_path / "schemas")
    damage(tmp_path / "sources")
    output = tmp_path / "out"
    result = invoke(*publish_args(output, tmp_path / "sources", tmp_path / "schemas"))
    assert result.exit_code == 1
    lines = [x for x in result.stderr.splitlines() if x.endswith("[missing-icb]")]
    assert lines, result.output
    assert all(why in x and "ics.yaml:" in x for x in lines)
    assert "Traceback" not in result.output
    assert not output.exists()


# --- atomic: killed publishes -----------------------------------------------------------------

# Moments to kill a publish at, and what the next publish says: half-way through a data file and
# a page of the site, and just after the renames of the zip into OUTPUT and of the release folder
# (the moment of publication). A publish killed after its rename has published; the next run
# finds the same content and completes the catalog and the site. Each moment costs a whole
# publish in a subprocess, so the moments are one per kind of state left behind; the publishes
# are of the tiny golden project, whose release has every one of these files (what a kill leaves
# behind does not depend on how many rows the tables hold).
KILL_POINTS = [
    ("partial write pcns.json", "published"),  # staging only
    ("after replace " + ZIP, "published"),  # the zip in place, its folder not yet
    ("after replace " + VERSION, "unchanged"),  # published, no catalog or site yet
    ("before replace index.html", "unchanged"),  # catalog and release pages written, index not
]


@pytest.mark.slow
def test_a_killed_publish_leaves_no_release_or_a_complete_one(
    tmp_path: Path,
    hooks: Path,
    small_validation: Validation,
    small_reference: Path,
    small_files: dict[str, bytes],
) -> None:
    # The publishes after the kills build the same files (the build is a pure function of the
    # sources, see the reproducibility test): build them once, to keep this test fast.
    # Every output here is empty before its publish, so each builds a first release.
    built = build_package(small_validation, tmp_path / "no-releases")

    points = [point for point, _ in KILL_POINTS]
    outputs = [tmp_path / f"out{n}" for n in range(len(points))]
    procs = [
        start_publish(hooks, out, tmp_path, SMALL_SOURCES, SMALL_SCHEMAS, ICS_TEST_HANG=point)
        for out, point in zip(outputs, points, strict=True)
    ]
    try:
        for proc, point in zip(procs, points, strict=True):
            assert wait_for(proc, "HANG ") == f"HANG {point}"
            kill(proc)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    for out, (point, status) in zip(outputs, KILL_POINTS, strict=True):
        left = files_of(out)
        assert any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir()), point
        if (out / VERSION).exists():
            assert files_of(out / VERSION) == files_of(small_reference / VERSION), point
        if (out / ZIP).exists():  # renamed into place whole, or not at all
            assert left[ZIP] == small_files[ZIP], point

        result = publish(built, out)
        assert result.status == status, point
        assert files_of(out) == small_files, f"after a publish killed at {point}"
        assert not any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())
        # byte-identical to the reference release, which verifies (test_verify_passes_...)


@pytest.mark.slow
def test_two_publishes_at_once_both_end_well(
    tmp_path: Path, hooks: Path, small_files: dict[str, bytes]
) -> None:
    """The first publish stops inside its lock (zip in place, release folder not yet renamed);
    the second starts and reaches the lock; then the first goes on. With the lock the second
    waits and finds the release published; without it the second would publish in between and
    the first would fail to rename its folder onto the second's. Both publish the tiny golden
    project: the lock does not depend on the size of the data."""
    output, resume = tmp_path / "out", tmp_path / "resume"
    point = "after replace " + ZIP
    project = (SMALL_SOURCES, SMALL_SCHEMAS)
    first = start_publish(
        hooks, output, tmp_path, *project, ICS_TEST_PAUSE=point, ICS_TEST_RESUME=str(resume)
    )
    try:
        assert wait_for(first, "HANG ") == f"HANG {point}"
        second = start_publish(hooks, output, tmp_path, *project, ICS_TEST_ANNOUNCE_LOCK="1")
        wait_for(second, "LOCKING")
        time.sleep(0.2)  # the second is now blocked in flock (or about to be)
        resume.touch()
        said = []
        for proc in (first, second):
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            said.append(out)
    finally:
        resume.touch()
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert said[0].startswith(f"published {VERSION}")
    assert said[1].startswith(f"already published as {VERSION}")
    assert files_of(output) == small_files


# --- verify and releases ----------------------------------------------------------------------


def test_verify_passes_an_intact_release(reference: Path) -> None:
    result = invoke("verify", "--output", reference)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{VERSION}: ok\ncatalogue: ok"


def test_verify_an_unknown_version_or_empty_output(tmp_path: Path, reference: Path) -> None:
    result = invoke("verify", "--output", reference, "9.9.9")
    assert result.exit_code == 1
    assert "no release 9.9.9" in result.stderr
    empty = invoke("verify", "--output", tmp_path)
    assert empty.exit_code == 1
    assert "no releases" in empty.stderr


def flip_byte(path: Path, needle: bytes, replacement: bytes) -> None:
    data = path.read_bytes()
    assert len(needle) == len(replacement) and needle in data
    path.write_bytes(data.replace(needle, replacement, 1))


def tamper_csv(output: Path) -> str:
    flip_byte(output / VERSION / "data/pcns.csv", b"U04973", b"U04974")
    return "data/pcns.csv"


def delete_file(output: Path) -> str:
    (output / VERSION / "data/practices.json").unlink()
    return "data/practices.json"


def extra_file(output: Path) -> str:
    (output / VERSION / "data/notes.txt").write_text("not part of the release\n")
    return "data/notes.txt"


def tamper_zip(output: Path) -> str:
    flip_byte(output / ZIP, b"U04973", b"U04974")
    return ZIP


def delete_descriptor(output: Path) -> str:
    (output / VERSION / "datapackage.json").unlink()
    return "datapackage.json"


def append_row(output: Path) -> str:
    path = output / VERSION / "data/pcns.csv"
    path.write_bytes(path.read_bytes() + path.read_bytes().splitlines(keepends=True)[-1])
    return "data/pcns.csv"


def delete_zip(output: Path) -> str:
    (output / ZIP).unlink()
    return ZIP


def descriptor_not_an_object(output: Path) -> str:
    (output / VERSION / "datapackage.json").write_text("[]\n")
    return "datapackage.json"


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (tamper_csv, "hash-mismatch"),
        (append_row, "byte-count"),
        (delete_file, "missing-file"),
        (extra_file, "extra-file"),
        (tamper_zip, "hash-mismatch"),
        (delete_zip, "missing-file"),
        (delete_descriptor, "missing-file"),
        (descriptor_not_an_object, "missing-file"),
    ],
)
def test_verify_names_a_damaged_file(output: Path, damage: Any, code: str) -> None:
    name = damage(output)
    result = invoke("verify", "--output", output, VERSION)
    assert result.exit_code == 1
    text = result.output
    line = next((x for x in text.splitlines() if name in x and f"[{code}]" in x), None)
    assert line is not None, text
    assert f"{VERSION}: " in text


def test_verify_reports_every_release_when_one_has_lost_its_descriptor(
    tmp_path: Path, small_output: Path
) -> None:
    output = small_output
    sources, schemas = copy_project(tmp_path / "project", GOLDEN_PROJECT)
    set_version(sources, "1.1.0")
    assert invoke(*publish_args(output, sources, schemas)).exit_code == 0
    (output / VERSION / "datapackage.json").unlink()
    results = verify(output)
    assert set(results) == {VERSION, "1.1.0"}
    assert results["1.1.0"] == []
    assert [i.code for i in results[VERSION]] == ["missing-file"]


def test_verify_revalidates_a_file_changed_together_with_its_hash(small_output: Path) -> None:
    """Someone edits a CSV and updates its size and hash in datapackage.json to match: the
    hashes agree, so frictionless must catch the bad value, and the zip no longer matches."""
    folder = small_output / VERSION
    path = folder / "data/pcns.csv"
    flip_byte(path, b"U04973", b"X04973")
    content = path.read_bytes()
    text = (folder / "datapackage.json").read_text("utf-8")
    descriptor = json.loads(text)
    old_hash = next(f["hash"] for f in descriptor["files"] if f["path"] == "data/pcns.csv")
    text = text.replace(old_hash, f"sha256:{hashlib.sha256(content).hexdigest()}")
    (folder / "datapackage.json").write_text(text, encoding="utf-8")
    assert verify_release(folder) != []
    result = invoke("verify", "--output", small_output)
    assert result.exit_code == 1
    assert "X04973" in result.output
    assert "[constraint-error]" in result.output
    assert f"{ZIP}  the zip does not hold exactly the release's files" in result.output


def rehash(folder: Path, name: str) -> None:
    """Give datapackage.json the size and hash of data file NAME as it is now."""
    content = (folder / name).read_bytes()
    descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    for entry in [*descriptor["files"], *descriptor["resources"]]:
        if entry["path"] == name:
            entry["hash"] = f"sha256:{hashlib.sha256(content).hexdigest()}"
            if "bytes" in entry:
                entry["bytes"] = len(content)
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")


def test_a_json_table_changed_with_its_hash_is_told_from_its_csv_twin(small_output: Path) -> None:
    """A JSON table is checked as equal to its CSV twin, cell by cell as frictionless types
    both: a value changed in the JSON alone (its hash updated) is named with the row and the
    field, even when it is a valid value; a value frictionless cannot type is caught the same
    way (a number written as the text "4" is the same number to frictionless, and passes)."""
    folder = small_output / VERSION
    path = folder / "data/pcns.json"
    flip_byte(path, b'"FAVERSHAM PCN"', b'"FEVERSHAM PCN"')
    rehash(folder, "data/pcns.json")
    problems = verify_release(folder)
    assert [(p.code, p.resource, p.field) for p in problems] == [
        ("json-differs", "pcns-json", "pcn_name")
    ]
    assert "'FEVERSHAM PCN' where its CSV twin data/pcns.csv has 'FAVERSHAM PCN'" in (
        problems[0].message
    )
    claims = folder / "data/claims.json"
    text = claims.read_text("utf-8")
    assert '"figure": 4,' in text
    claims.write_text(text.replace('"figure": 4,', '"figure": "four",', 1), "utf-8")
    rehash(folder, "data/claims.json")
    assert ("json-differs", "claims-json", "figure") in [
        (p.code, p.resource, p.field) for p in verify_release(folder)
    ]


def _bom(folder: Path) -> str:
    path = folder / "data/pcns.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return "data/pcns.json"


def _utf16(folder: Path) -> str:
    path = folder / "data/pcns.json"
    path.write_bytes(path.read_text("utf-8").encode("utf-16"))
    return "data/pcns.json"


def _key_order(folder: Path) -> str:
    path = folder / "data/ics.json"
    path.write_text(json.dumps(json.loads(path.read_text("utf-8")), sort_keys=True), "utf-8")
    return "data/ics.json"


def _deep(folder: Path) -> str:
    path = folder / "data/ics.json"
    data = json.loads(path.read_text("utf-8"))
    data[0]["name"] = "[" * 3000 + "]" * 3000  # placeholder, replaced as raw JSON below
    text = json.dumps(data).replace('"' + "[" * 3000 + "]" * 3000 + '"', "[" * 3000 + "]" * 3000)
    path.write_text(text, "utf-8")
    return "data/ics.json"


def _json_dialect(folder: Path) -> str:
    descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    resource = next(r for r in descriptor["resources"] if r["name"] == "pcns-json")
    resource["dialect"] = {"json": {"property": "rows"}}
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), "utf-8")
    return ""


@pytest.mark.parametrize("tamper", [_bom, _utf16, _key_order, _deep, _json_dialect])
def test_a_json_table_frictionless_would_refuse_is_refused(
    small_output: Path, tamper: Callable[[Path], str]
) -> None:
    """Whatever the JSON twin comparison does not stand in for (an encoding, the order of the
    keys, a dialect on the JSON table, nesting too deep to read) is still found, by the
    comparison or by frictionless reading the package whole; never a traceback."""
    folder = small_output / VERSION
    changed = tamper(folder)
    if changed:
        rehash(folder, changed)
    problems = verify_release(folder)
    assert problems, tamper.__name__


def _edit_descriptor(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    change(descriptor)
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), "utf-8")


def test_packages_outside_the_twin_layout_are_left_to_frictionless(small_output: Path) -> None:
    """A duplicate resource is found (by frictionless, reading the package whole); tables with
    no schema are valid to frictionless and to verify alike; never a traceback."""
    folder = small_output / VERSION

    def duplicate(d: dict[str, Any]) -> None:
        d["resources"].append(dict(next(r for r in d["resources"] if r["name"] == "ics-json")))

    _edit_descriptor(folder, duplicate)
    assert verify_release(folder)

    def no_schema(d: dict[str, Any]) -> None:
        d["resources"] = [r for r in d["resources"] if not r["name"].startswith("ics-json")]
        for r in d["resources"]:
            if r["name"] in ("objectives", "objectives-json"):
                del r["schema"]

    _edit_descriptor(folder, no_schema)
    assert json_twins(json.loads((folder / "datapackage.json").read_text("utf-8"))) is None
    assert verify_release(folder) == []


def test_numbers_are_equal_as_the_json_writer_keeps_them() -> None:
    """The JSON writer keeps a number as a float (17 digits); the CSV keeps every digit."""
    from decimal import Decimal

    from pipeline.release.verify import _same

    assert _same(1900000.123456789, Decimal("1900000.1234567890123456789"))
    assert _same(41, Decimal("41")) and not _same(41, Decimal("42"))
    assert not _same(True, 1) and not _same("41", 41)


def test_a_release_without_csv_twins_is_validated_by_frictionless_whole(small_output: Path) -> None:
    """A descriptor whose JSON tables are not the CSV twins (here: a JSON schema with a field
    of its own) takes frictionless's full validation, which reads the JSON itself."""
    folder = small_output / VERSION
    descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    assert json_twins(descriptor)
    resource = next(r for r in descriptor["resources"] if r["name"] == "pcns-json")
    resource["schema"]["fields"][1]["description"] = "changed in the JSON table alone"
    assert json_twins(descriptor) is None
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
    assert verify_release(folder) == []  # valid: frictionless read both, and found nothing


def test_a_changed_release_folder_refuses_a_republish(output: Path) -> None:
    """A file added to a published release makes it differ from the sources: publish refuses
    (and says so) rather than rewrite the release."""
    extra_file(output)
    stamps = stamps_of(output)
    result = invoke(*publish_args(output))
    assert result.exit_code == 1
    assert "different content" in result.stderr
    assert stamps_of(output) == stamps


def test_releases_lists_versions(reference: Path, tmp_path: Path) -> None:
    result = invoke("releases", "--output", reference)
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    assert line.split()[:2] == [VERSION, "2026-11-24"]
    assert f"{len(read_descriptor(reference / VERSION)['resources'])} resources" in line
    (tmp_path / "2.0.0").write_text("a file named like a version is not a release\n")
    for folder in (tmp_path, tmp_path / "missing"):
        empty = invoke("releases", "--output", folder)
        assert empty.exit_code == 0
        assert "no releases" in empty.stdout


# --- what a researcher reads ------------------------------------------------------------------


def schema_fields(descriptor: dict[str, Any], resource: str) -> list[dict[str, Any]]:
    (found,) = [r for r in descriptor["resources"] if r["name"] == resource]
    fields: list[dict[str, Any]] = found["schema"]["fields"]
    return fields


def check_csv_with_pandas(folder: Path) -> None:
    descriptor = read_descriptor(folder)
    for resource in tables_of(folder):
        frame = pd.read_csv(folder / f"data/{resource}.csv", dtype=str, keep_default_na=False)
        fields = schema_fields(descriptor, resource)
        assert list(frame.columns) == [f["name"] for f in fields]
        for field in fields:
            pattern = field.get("constraints", {}).get("pattern")
            if pattern:  # codes keep their exact form, leading zeros and letters included
                values = [v for v in frame[field["name"]] if v != ""]
                assert all(re.fullmatch(pattern, v) for v in values), (resource, field["name"])
    pcns = pd.read_csv(folder / "data/pcns.csv", dtype=str)
    assert "U04973" in set(pcns["pcn_code"])
    organisations = pd.read_csv(folder / "data/organisations.csv", dtype=str)
    assert {"09J", "09C", "91Q"} <= set(organisations["code"])
    practices = pd.read_csv(folder / "data/practices.csv", dtype=str)
    assert "09J" in set(practices["ccg_2019_code"])


JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "date": (str,),
    "year": (int,),
    "yearmonth": (str,),
}


def check_json_types(folder: Path) -> None:
    descriptor = read_descriptor(folder)
    seen: set[str] = set()
    for resource in tables_of(folder):
        with (folder / f"data/{resource}.json").open(encoding="utf-8") as handle:
            rows = json.load(handle)
        with (folder / f"data/{resource}.csv").open(encoding="utf-8", newline="") as handle:
            csv_rows = list(csv.DictReader(handle))
        fields = schema_fields(descriptor, f"{resource}-json")
        if not csv_rows:  # an empty table (the first change list): a header-only array of arrays
            assert rows == [[f["name"] for f in fields]], resource
            continue
        assert len(rows) == len(csv_rows) > 0
        for row, csv_row in zip(rows, csv_rows, strict=True):
            assert list(row) == [f["name"] for f in fields]
            for field in fields:
                value, text = row[field["name"]], csv_row[field["name"]]
                if value is None:
                    assert text == "", (resource, field["name"])
                    seen.add("null")
                    continue
                kind = field["type"]
                assert isinstance(value, JSON_TYPES[kind]), (resource, field["name"], value)
                if kind in ("integer", "number", "year"):
                    assert not isinstance(value, bool)
                    assert float(text) == value
                elif kind == "boolean":
                    assert text == str(value).lower()
                elif kind == "date":
                    assert date.fromisoformat(value).isoformat() == value == text
                else:
                    assert value == text
                seen.add(kind)
    assert {"null", "string", "integer", "number", "boolean", "date"} <= seen


def check_frictionless(folder: Path) -> None:
    report = Package(str(folder / "datapackage.json")).validate()
    assert report.valid, report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])
    assert len(report.tasks) == len(read_descriptor(folder)["resources"])
    for task in report.tasks:
        # JSON tables are read, not opaque files; a first release's change list has no rows,
        # and its JSON form (a header-only array of arrays) is read too
        # a first release's change list and the decisions recorded so far (none) may be empty
        empty_ok = task.name.startswith(("changes", "decisions"))
        assert task.stats.get("rows", 0) > 0 or empty_ok, task.name
        assert task.stats["fields"] > 0, task.name


def test_csv_loads_in_pandas_keeping_codes_as_strings(reference: Path) -> None:
    check_csv_with_pandas(reference / VERSION)


def test_json_loads_with_typed_values(reference: Path) -> None:
    check_json_types(reference / VERSION)


def test_an_empty_table_is_written_in_a_form_frictionless_reads(tmp_path: Path) -> None:
    """No shipped table is empty, but one may be (a first release's change list): its JSON is
    a header-only array of arrays, since frictionless cannot read an empty array."""
    schema = {"fields": [{"name": "code", "type": "string"}, {"name": "n", "type": "integer"}]}
    table = TableOut("empty", schema, (), "Empty", "")
    (tmp_path / "empty.csv").write_bytes(render_csv(table))
    (tmp_path / "empty.json").write_bytes(render_json(table))
    assert json.loads((tmp_path / "empty.json").read_text("utf-8")) == [["code", "n"]]
    for fmt in ("csv", "json"):
        resource = {"name": fmt, "type": "table", "path": f"empty.{fmt}", "schema": schema}
        package = Package({"resources": [resource]}, basepath=str(tmp_path))
        report = package.validate()
        assert report.valid, report.flatten(["type", "note"])
        assert report.tasks[0].stats.get("rows", 0) == 0


def test_the_zip_unpacked_elsewhere_loads_and_an_independent_frictionless_validates_it(
    tmp_path: Path, reference: Path
) -> None:
    """What a researcher downloads: the zip, unpacked anywhere, is the release folder byte for
    byte, and frictionless (not the pipeline's own checks) validates it whole. Its paths are
    relative and inside it, so it is the release folder's own validation too."""
    with zipfile.ZipFile(io.BytesIO((reference / ZIP).read_bytes())) as archive:
        assert archive.testzip() is None
        archive.extractall(tmp_path / "download")
    folder = tmp_path / "download" / f"{NAME}-{VERSION}"
    assert files_of(folder) == files_of(reference / VERSION)
    for entry in [*read_descriptor(folder)["resources"], *read_descriptor(folder)["files"]]:
        assert not Path(entry["path"]).is_absolute() and ".." not in Path(entry["path"]).parts
    check_csv_with_pandas(folder)
    check_json_types(folder)
    check_frictionless(folder)
