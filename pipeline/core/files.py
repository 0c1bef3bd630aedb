"""Small file helpers every layer shares: how a path is shown, a file's SHA-256, and writing a
file atomically only when its bytes change."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Zip entries carry this timestamp (the earliest a zip can hold), so their bytes never depend on
# the clock.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def display_path(path: Path) -> str:
    """A path as the user typed it: relative to the working folder when inside it (a link that
    loops, which cannot be resolved, as it was given)."""
    try:
        return str(path.resolve().relative_to(_working_folder()))
    except (ValueError, RuntimeError, OSError):
        return str(path)


def _working_folder() -> Path:
    """The working folder's real path, asked each time (a caller may change folders)."""
    return Path(os.getcwd()).resolve()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_if_changed(target: Path, data: bytes, temporary: Path) -> bool:
    """Replace TARGET with DATA atomically (through TEMPORARY, in the same folder), unless it
    already holds exactly those bytes: a no-op run touches nothing. True when it wrote."""
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:  # a full disk or Ctrl-C leaves no half-written temporary behind
        temporary.unlink(missing_ok=True)
        raise
    return True


def csv_line(cells: list[str], newline: str = "\n") -> str:
    """One CSV row (QUOTE_MINIMAL) ended by NEWLINE. Python's writer quotes only the characters
    of its line terminator: with LF it leaves a carriage return bare, and readers split the row
    there. Written with CRLF, a cell holding either is quoted; the row's CRLF is then replaced."""
    row = io.StringIO()
    csv.writer(row, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(cells)
    return row.getvalue()[:-2] + newline


def csv_table(header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header and the rows (mappings; a missing or None value is an empty cell), each row
    through `csv_line`: what `csv.DictWriter` writes, with a cell holding a CR quoted too."""
    lines = [csv_line(list(header))]
    for row in rows:
        lines.append(csv_line(["" if row.get(n) is None else str(row.get(n)) for n in header]))
    return "".join(lines)


# --- several files at once ------------------------------------------------------------------

JOURNAL = ".commit-journal.json"  # in the folder: the files a commit replaces, once staged
COMMIT_STAGING = ".commit-staging-"


def commit_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Replace the files NAME -> bytes of FOLDER all or none, also if the process is killed
    between two renames: each is staged and synced in a staging folder, then a journal naming
    them is renamed into place (the commit point), then each is renamed over its target. A run
    killed before the journal leaves nothing changed; after it, `recover_files` (called by the
    next run) completes the renames; a rename that fails is undone at once. No temporary
    survives either way."""
    recover_files(folder)
    staging = folder / f"{COMMIT_STAGING}{os.getpid()}"
    staging.mkdir()
    try:
        for name, data in files.items():
            staged = staging / name
            with staged.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            target = folder / name
            mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
            os.chmod(staged, mode)
        fsync_folder(staging)
        journal = folder / f"{JOURNAL}.{os.getpid()}"
        journal.write_text(json.dumps({"staging": staging.name, "files": sorted(files)}))
        _fsync_path(journal)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        (folder / f"{JOURNAL}.{os.getpid()}").unlink(missing_ok=True)
        raise
    originals = {n: (folder / n).read_bytes() if (folder / n).is_file() else None for n in files}
    os.replace(journal, folder / JOURNAL)  # the commit point
    fsync_folder(folder)
    try:
        recover_files(folder)
    except OSError:
        # a rename refused (a full disk, a permission): put back what was replaced, all or none
        (folder / JOURNAL).unlink(missing_ok=True)
        for name, original in originals.items():
            if original is None:
                (folder / name).unlink(missing_ok=True)
            elif (folder / name).read_bytes() != original:
                (folder / name).write_bytes(original)
        shutil.rmtree(staging, ignore_errors=True)
        raise


def recover_files(folder: Path) -> list[str]:
    """Complete a commit a killed run left in FOLDER (a journal), or roll back one that never
    reached its commit point (a staging folder alone). Returns the names it replaced."""
    journal = folder / JOURNAL
    done: list[str] = []
    if journal.is_file():
        try:
            entry = json.loads(journal.read_text(encoding="utf-8"))
            staging = folder / str(entry["staging"])
            names = [str(n) for n in entry["files"]]
        except (OSError, ValueError, KeyError, TypeError):
            names, staging = [], folder / "-"
        for name in names:
            staged = staging / name
            if Path(name).name == name and staged.is_file():  # moved already if absent
                os.replace(staged, folder / name)
                done.append(name)
        fsync_folder(folder)
        journal.unlink()
    if folder.is_dir():
        for leftover in folder.glob(f"{COMMIT_STAGING}*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in folder.glob(f"{JOURNAL}.*"):
            leftover.unlink(missing_ok=True)
    return done


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_path(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_folder(folder: Path) -> None:
    """Make the entries of FOLDER (renames, new files) reach the disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
