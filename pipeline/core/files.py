"""Small file helpers every layer shares: how a path is shown, a file's SHA-256, and writing a
file atomically only when its bytes change."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# Zip entries carry this timestamp (the earliest a zip can hold), so their bytes never depend on
# the clock.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def display_path(path: Path) -> str:
    """A path as the user typed it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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
