"""CSV source files (`sources/<resource>.csv`, the long lists): a header row naming the fields,
then one record per row, each kept with its line and its cells as typed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipeline.core.files import display_path
from pipeline.core.issues import Issue
from pipeline.core.model import Record, SourceTable


def parse_csv(text: str, path: Path, resource: str) -> tuple[SourceTable | None, list[Issue]]:
    file = display_path(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        return None, [Issue(file, 1, "csv-syntax", f"no header row: {exc}", resource)]
    names = [name.strip() for name in header]
    issues = _header_issues(names, file, resource)
    records: list[Record] = []
    start = reader.line_num + 1
    # each named column, the first of a repeated name (a repeated column is reported; the
    # first counts); a cell of nothing but whitespace is no value
    columns = [(i, name) for i, name in enumerate(names) if name and names.index(name) == i]
    width = len(names)
    # one string object per distinct cell: dates, codes and sources repeat down a long file
    # (at 1000x the shipped size, 3 million cells hold 0.8 million distinct values)
    distinct: dict[str, str] = {}
    same = distinct.setdefault
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # An unclosed quote swallows the lines after it: the mistake is where the row began,
            # and the rows read so far are not the file's records, so none are checked.
            issues.append(
                Issue(
                    file,
                    start,
                    "csv-syntax",
                    f"CSV cannot be read from the row on this line: {exc}; a value that starts "
                    'with " must end with ", and a " inside it is written ""',
                    resource,
                )
            )
            return None, issues
        line = start
        start = reader.line_num + 1
        if (
            not row
            or (row[0].isspace() or not row[0])
            and all(not cell or cell.isspace() for cell in row)
        ):
            continue  # blank lines are layout, not records
        if len(row) != width:
            issues.append(_shape_issue(row, names, file, line, resource, len(records)))
        if len(row) >= width:
            values = {
                name: None if not (cell := row[i]) or cell.isspace() else same(cell, cell)
                for i, name in columns
            }
        else:
            values = {
                name: same(row[i], row[i])
                if i < len(row) and row[i] and not row[i].isspace()
                else None
                for i, name in columns
            }
        records.append(Record(len(records), line, values))
    if not records:
        if not issues:
            issues.append(
                Issue(file, 0, "empty-file", "the file has a header but no records", resource)
            )
        return None, issues
    return SourceTable(resource, path, "csv", tuple(n for n in names if n), tuple(records)), issues


def _header_issues(names: list[str], file: str, resource: str) -> list[Issue]:
    """A column with no name, or a name used twice, at the header's line."""
    issues = []
    for column, name in enumerate(names, start=1):
        if not name:
            issues.append(Issue(file, 1, "blank-header", f"column {column} has no name", resource))
        elif names.index(name) != column - 1:
            issues.append(
                Issue(file, 1, "duplicate-header", f"column {name!r} appears twice", resource, name)
            )
    return issues


def _shape_issue(
    row: list[str], names: list[str], file: str, line: int, resource: str, index: int
) -> Issue:
    """A row with more or fewer cells than the header has names."""
    if len(row) > len(names):
        return Issue(
            file,
            line,
            "extra-cell",
            f"this row has {len(row)} cells but the header has {len(names)}; "
            "a value with a comma must be in double quotes",
            resource,
            record=index,
        )
    return Issue(
        file,
        line,
        "missing-cell",
        f"this row has {len(row)} cells but the header has {len(names)}",
        resource,
        names[len(row)],
        record=index,
    )
