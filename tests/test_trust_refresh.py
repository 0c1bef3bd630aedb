"""`refresh` writes all source files or none, even when killed between two renames (issue 10,
case 9): the files are staged and synced, one journal is renamed into place, then the renames;
the next run completes a journal or removes a staging folder that never reached it. No
temporary file survives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Project
from test_refresh import mapping, september, snapshot

from pipeline.core.files import JOURNAL, commit_files, recover_files
from pipeline.upstream.refresh import apply_refresh, plan_refresh


class Killed(BaseException):
    """What SIGKILL does to a process, in-process: nothing after it runs (no except, no
    cleanup of ours catches a BaseException that is not KeyboardInterrupt)."""


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or ".tmp" in p.name)


@pytest.mark.parametrize("nth", [2, 3, 4])
def test_killed_between_renames_the_next_run_completes_it(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nth: int
) -> None:
    plan = plan_refresh(project.sources, project.schemas, gp_map=mapping(tmp_path, september))
    assert len(plan.texts) >= 3
    import pipeline.core.files as files

    real, calls = files.os.replace, []

    def replace(source: object, target: object) -> None:
        calls.append(target)
        if len(calls) == nth:  # the journal is the first rename; then one per file
            raise Killed
        real(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(Killed):
        apply_refresh(plan)
    monkeypatch.undo()
    assert (project.sources / JOURNAL).is_file()  # half-way: the journal says what remains
    project.validate()  # the next run of any command that reads the sources
    after = snapshot(project)
    for name, text in plan.texts.items():
        assert after[name] == text.encode("utf-8"), name
    assert leftovers(project.sources) == []


def test_killed_before_the_commit_point_nothing_changes(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_refresh(project.sources, project.schemas, gp_map=mapping(tmp_path, september))
    before = snapshot(project)
    import pipeline.core.files as files

    real, calls = files.os.fsync, []

    def fsync(descriptor: int) -> None:
        calls.append(descriptor)
        if len(calls) == 2:  # the second staged file
            raise Killed
        real(descriptor)

    monkeypatch.setattr(files.os, "fsync", fsync)
    with pytest.raises(Killed):
        apply_refresh(plan)
    monkeypatch.undo()
    project.validate()
    assert snapshot(project) == before


def test_a_torn_staging_folder_alone_is_rolled_back(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "a.csv").write_text("old\n")
    staging = folder / ".commit-staging-123"
    staging.mkdir()
    (staging / "a.csv").write_text("new\n")
    assert recover_files(folder) == []
    assert (folder / "a.csv").read_text() == "old\n" and leftovers(folder) == []


def test_commit_files_replaces_every_file_and_keeps_modes(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "a.csv").write_text("old\n")
    os.chmod(folder / "a.csv", 0o640)
    commit_files(folder, {"a.csv": b"new\n", "b.csv": b"added\n"})
    assert (folder / "a.csv").read_bytes() == b"new\n" and (folder / "b.csv").is_file()
    assert (folder / "a.csv").stat().st_mode & 0o777 == 0o640
    assert leftovers(folder) == []


HOOK = """
import os, sys, time
_replace = os.replace
_count = [0]
def replace(src, dst, *args, **kwargs):
    if str(dst).endswith(".csv"):
        _count[0] += 1
        if _count[0] == 2:
            sys.stderr.write("HANG\\n")
            sys.stderr.flush()
            time.sleep(600)
    return _replace(src, dst, *args, **kwargs)
os.replace = replace
"""


@pytest.mark.slow
def test_sigkill_between_renames_in_a_real_process(project: Project, tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    zipped = mapping(tmp_path, september)
    plan = plan_refresh(project.sources, project.schemas, gp_map=zipped)
    env = {**os.environ, "PYTHONPATH": str(hooks)}
    args = ["refresh", "--gp-map", str(zipped), "--sources", str(project.sources)]
    args += ["--schemas", str(project.schemas)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("HANG"):
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()
    journal = json.loads((project.sources / JOURNAL).read_text())
    assert journal["files"]
    project.validate()
    after = snapshot(project)
    assert all(after[n] == t.encode("utf-8") for n, t in plan.texts.items())
    assert leftovers(project.sources) == []
