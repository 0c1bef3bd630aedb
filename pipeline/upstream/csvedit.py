"""Edit a source CSV in place: change cells, insert rows, keep every untouched line as it was.

A refresh must leave a diff as small as the change in the facts, so a row that is not edited
keeps its exact text (quoting, spacing, line end), edited rows are written back in the file's own
dialect (the csv module's QUOTE_MINIMAL, the file's line end), and new rows go where their key
sorts, so a reviewer sees the new line beside its neighbours instead of at the end of the file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.errors import PipelineError
from pipeline.core.files import csv_line


class CsvEditError(PipelineError):
    """A source CSV cannot be edited safely (unreadable, or its header lacks a column)."""


@dataclass
class CsvRow:
    """One record: its values by column (`""` for empty) and, while untouched, its exact text."""

    values: dict[str, str]
    raw: str | None = None  # the original text of the record, line end included
    line: int = 0  # 1-based line in the original file; 0 for a new row
    prefix: str = ""  # blank lines before the record, kept even when it is edited

    @property
    def edited(self) -> bool:
        return self.raw is None

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def set(self, name: str, value: str) -> bool:
        """Set one cell; return whether it changed."""
        if self.values.get(name, "") == value:
            return False
        self.values[name] = value
        self.raw = None
        return True


@dataclass
class CsvDocument:
    """A CSV source file as a header, a list of rows, and the layout needed to write it back."""

    path: Path
    header: list[str]
    rows: list[CsvRow] = field(default_factory=list)
    header_raw: str = ""
    newline: str = "\n"
    trailing: str = ""  # anything after the last record (blank lines), kept as it was

    @classmethod
    def read(cls, path: Path) -> CsvDocument:
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise CsvEditError(
                f"cannot read {path}: {exc.strerror}", hint="Check --sources."
            ) from None
        except UnicodeDecodeError:
            raise CsvEditError(
                f"{path} is not UTF-8 text", hint="Run ics-data validate and fix the file first."
            ) from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path) -> CsvDocument:
        lines = text.splitlines(keepends=True)
        newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        records = _records(lines, path)
        try:
            header_values, header_raw, _ = next(records)
        except StopIteration:
            raise CsvEditError(
                f"{path} has no header row", hint="Restore the file's header line."
            ) from None
        header = [name.strip() for name in header_values]
        document = cls(path, header, [], header_raw, newline)
        pending = ""  # blank lines between records stay attached to the next record
        for values, raw, line in records:
            if not values or all(value.strip() == "" for value in values):
                pending += raw
                continue
            row = {name: (values[i] if i < len(values) else "") for i, name in enumerate(header)}
            document.rows.append(CsvRow(row, raw, line, pending))
            pending = ""
        document.trailing = pending
        return document

    def require(self, columns: Sequence[str]) -> None:
        missing = [name for name in columns if name not in self.header]
        if missing:
            raise CsvEditError(
                f"{self.path} has no column {', '.join(repr(n) for n in missing)}",
                hint="Add the column to the header (see its schema), then run again.",
            )

    def insert(self, values: dict[str, str], key: Callable[[CsvRow], tuple[str, ...]]) -> CsvRow:
        """Add a row before the first row whose key sorts after it (the end if none does)."""
        row = CsvRow({name: values.get(name, "") for name in self.header})
        new_key = key(row)
        position = next(
            (index for index, other in enumerate(self.rows) if key(other) > new_key),
            len(self.rows),
        )
        self.rows.insert(position, row)
        return row

    def render(self) -> str:
        parts = [self.header_raw or _line(self.header, self.newline)]
        for row in self.rows:
            parts.append(row.prefix)
            if row.raw is not None:
                parts.append(row.raw)
            else:
                parts.append(_line([row.values.get(n, "") for n in self.header], self.newline))
        parts.append(self.trailing)
        return "".join(parts)

    def changed(self) -> bool:
        return any(row.edited for row in self.rows)


def _line(values: Sequence[str], newline: str) -> str:
    return csv_line(list(values), newline)


def _records(lines: list[str], path: Path) -> Iterator[tuple[list[str], str, int]]:
    """Each CSV record with its exact text and first line (a quoted field may span lines)."""
    position = 0
    feed = iter(lines)
    reader = csv.reader(feed, strict=True)
    consumed = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvEditError(
                f"{path}:{consumed + 1}: not valid CSV ({exc})",
                hint="Run ics-data validate and fix the file first.",
            ) from None
        used = reader.line_num - consumed
        raw = "".join(lines[position : position + used])
        if raw and not raw.endswith("\n"):
            raw += "\r\n" if lines[0].endswith("\r\n") else "\n"
        yield values, raw, consumed + 1
        position += used
        consumed = reader.line_num
