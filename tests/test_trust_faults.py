"""Faults never break a published release, nor show a traceback (issue 10, cases 7, 8, 10).

A fault after the rename reports the release as published, with its own exit code and how to
complete the catalogue; a no-op publish removes only its own package's strays; every OS error
and Ctrl-C is one message (exit 1, or 130)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import copy_small_first_release
from shipped import shipped_output

from pipeline.cli import cli
from pipeline.core.errors import EXIT_CATALOGUE, EXIT_INTERRUPTED
from pipeline.release.verify import verify, verify_catalogue

REPO = Path(__file__).resolve().parent.parent
# The tiny golden project (the shipped package, a few rows a table): a fault is handled the same
# whatever the size of the data, and each test here publishes.
GOLDEN = REPO / "tests" / "golden" / "project"
SOURCES, SCHEMAS = GOLDEN / "sources", GOLDEN / "schemas"
VERSION = "1.0.0"
NAME = "kent-medway-ics"


def run(*args: str | Path) -> Any:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    return result


def publish_into(output: Path) -> Any:
    return run("publish", "--sources", SOURCES, "--schemas", SCHEMAS, "--output", output)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTPUT holding the golden project's release, published once. Read only."""
    output = tmp_path_factory.mktemp("published") / "output"
    assert publish_into(output).exit_code == 0
    return output


def staging_left(output: Path) -> list[str]:
    return sorted(p.name for p in output.rglob(".staging-*"))


def disk_full(*_: object, **__: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device", "output/index.html")


def interrupt(*_: object, **__: object) -> None:
    raise KeyboardInterrupt


# --- 7. after the rename, a release is published -----------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code", "reason"),
    [
        (disk_full, EXIT_CATALOGUE, "No space left on device"),
        (interrupt, EXIT_INTERRUPTED, "interrupted"),
    ],
)
@pytest.mark.parametrize("where", ["write_site", "write_changelog", "write_catalog"])
def test_a_fault_after_the_rename_says_published_and_how_to_complete(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: Callable[..., None],
    code: int,
    reason: str,
    where: str,
) -> None:
    output = tmp_path / "output"
    monkeypatch.setattr(f"pipeline.release.publish.{where}", fault)
    result = publish_into(output)
    assert result.exit_code == code
    assert f"release {VERSION} published; the catalogue could not be updated: {reason}" in (
        result.stderr
    )
    assert "ics-data site" in result.stderr
    assert verify(output)[VERSION] == []  # the release itself is whole
    assert verify_catalogue(output) != []  # verify does not say all is well
    assert staging_left(output) == []
    monkeypatch.undo()
    completed = run("site", "--output", output)
    assert completed.exit_code == 0, completed.output
    assert verify_catalogue(output) == []
    assert run("verify", "--output", output).exit_code == 0


def test_the_next_publish_completes_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "output"
    monkeypatch.setattr("pipeline.release.publish.write_site", disk_full)
    assert publish_into(output).exit_code == EXIT_CATALOGUE
    monkeypatch.undo()
    again = publish_into(output)
    assert again.exit_code == 0 and "already published" in again.stdout
    assert verify_catalogue(output) == []


def test_a_full_disk_while_writing_a_page_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "output"
    shutil.copytree(shipped_output(), output)
    (output / "index.html").unlink()
    (output / "releases" / f"{VERSION}.html").unlink()

    def fsync(descriptor: int) -> None:
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith("index.html"):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipeline.core.files.os.fsync", fsync)
    result = run("site", "--output", output)
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert staging_left(output) == []
    assert (output / "releases" / f"{VERSION}.html").is_file()  # pages before the index
    assert not (output / "index.html").exists()  # never an index linking a missing page


# --- 8. a no-op publish touches only its own strays --------------------------------------------


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("my-backup-2.0.0.zip", True),
        ("other-package-1.0.1.zip", True),
        (f"{NAME}-extra-2.0.0.zip", True),
        (f"{NAME}-2.0.0.zip.bak", True),
        (f"{NAME}-02.0.0.zip", True),
        (f"{NAME}-2.0.0.zip", False),  # this package's zip of an absent release: a killed publish
        (".staging-1.0.1-999", False),
    ],
)
def test_a_no_op_publish_removes_only_its_own_strays(
    tmp_path: Path, published: Path, name: str, kept: bool
) -> None:
    output = tmp_path / "output"
    shutil.copytree(published, output)
    shutil.rmtree(output / ".cache", ignore_errors=True)  # the full way, through the lock
    (output / name).write_bytes(b"a user's file")
    result = publish_into(output)
    assert result.exit_code == 0, result.output
    assert (output / name).exists() == kept


# --- 10. no traceback for any OS error ---------------------------------------------------------


def read_only(*_: object, **__: object) -> None:
    raise PermissionError(errno.EACCES, "Permission denied", "output/.staging-1.0.0")


def no_more_files(*_: object, **__: object) -> None:
    raise OSError(errno.EMFILE, "Too many open files")


@pytest.mark.parametrize(
    ("target", "fault", "message"),
    [
        ("pipeline.release.publish.write_files", disk_full, "No space left on device"),
        ("pipeline.release.publish.write_files", read_only, "Permission denied"),
        ("pipeline.release.publish.write_zip", no_more_files, "Too many open files"),
        ("pipeline.release.publish.publish_lock", read_only, "Permission denied"),
        ("pipeline.release.publish.write_files", interrupt, "Interrupted"),
    ],
)
def test_an_os_error_before_the_rename_is_one_message_and_nothing_published(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    fault: Callable[..., None],
    message: str,
) -> None:
    output = tmp_path / "output"
    monkeypatch.setattr(target, fault)
    result = publish_into(output)
    assert result.exit_code == (EXIT_INTERRUPTED if fault is interrupt else 1)
    assert message in result.stderr
    assert result.stderr.count("\n") <= 2  # one message and a hint
    assert not (output / VERSION).exists() and staging_left(output) == []


def test_an_output_whose_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = publish_into(tmp_path / "file" / "output")
    assert result.exit_code == 1 and "Not a directory" in result.stderr


@pytest.mark.parametrize("command", ["validate", "verify", "releases", "site"])
def test_ctrl_c_in_any_command_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setattr("pipeline.check.validate.validate_project", interrupt)
    monkeypatch.setattr("pipeline.release.verify.verify", interrupt)
    monkeypatch.setattr("pipeline.release.catalog.release_rows", interrupt)
    monkeypatch.setattr("pipeline.release.publish.write_catalogue", interrupt)
    output = tmp_path / "output"
    copy_small_first_release(output)
    args = {"validate": ["--sources", SOURCES, "--schemas", SCHEMAS]}.get(command, [])
    result = run(command, *args, *([] if command == "validate" else ["--output", output]))
    assert result.exit_code == EXIT_INTERRUPTED and "Interrupted" in result.stderr


def test_deep_nesting_is_one_message(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    with (sources / "package.yaml").open("a", encoding="utf-8") as handle:
        handle.write("deep: " + "[" * 1000 + "]" * 1000 + "\n")
    result = run("validate", "--sources", sources, "--schemas", SCHEMAS)
    assert result.exit_code == 1 and "[yaml-limit]" in result.stdout


@pytest.mark.slow
def test_ctrl_c_while_the_libraries_load_exits_130(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised by the import of click (as Ctrl-C during start-up would)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import builtins\n"
        "_import = builtins.__import__\n"
        "def _hook(name, *args, **kwargs):\n"
        "    if name == 'click':\n"
        "        raise KeyboardInterrupt\n"
        "    return _import(name, *args, **kwargs)\n"
        "builtins.__import__ = _hook\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_INTERRUPTED
    assert "Traceback" not in proc.stderr and "Interrupted" in proc.stderr


@pytest.mark.parametrize(("key", "value"), [("files", 5), ("resources", 5), ("sources", "x")])
def test_a_damaged_release_is_named_not_a_traceback(
    tmp_path: Path, key: str, value: object
) -> None:
    import json

    output = tmp_path / "output"
    shutil.copytree(shipped_output(), output)
    path = output / VERSION / "datapackage.json"
    descriptor = json.loads(path.read_text("utf-8"))
    descriptor[key] = value
    path.write_text(json.dumps(descriptor), "utf-8")
    site = run("site", "--output", output)
    assert site.exit_code == 1 and "cannot be rebuilt" in site.stderr
    assert run("verify", "--output", output).exit_code == 1
    assert run("releases", "--output", output).exit_code in (0, 1)
