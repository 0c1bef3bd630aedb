"""What a diff compares: the tables of a published release, or of the working sources built in
memory, each cell as the text its CSV file holds (or would hold).

Both sides go through the same text form, so a value compares equal when a reader of the CSV
would see the same thing: a date is `2023-01-01` whether it came from a YAML source or a
published file, and a field whose type changed does not make every record look changed.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.archive import find_releases, read_descriptor
from pipeline.build.cells import cell_reader, cell_text, field_types
from pipeline.check.tables import remembering
from pipeline.core.errors import ProjectError, ReleaseError
from pipeline.core.files import display_path
from pipeline.core.issues import render_text
from pipeline.core.model import (
    Dataset,
    Record,
    ResourceSchema,
    Row,
    SourceTable,
    Table,
    TableOut,
    Validation,
)
from pipeline.core.versions import parse_version

CHANGES = "changes"
# Generated tables are never compared: the change list describes a diff, and `structure` is the
# other tables read on the release date, so its changes are theirs (and a practice leaving a PCN
# would read there as a record removed).
GENERATED = (CHANGES, "structure")
SOURCES_WORD = "sources"
LATEST_WORD = "latest"
GIT_PREFIX = "git:"  # git:REF, the newest release that commit REF holds (a pull request's base)


@dataclass(frozen=True)
class TableData:
    """One table: its schema descriptor and its rows, each cell as CSV text ("" is no value)."""

    name: str
    schema: dict[str, Any]
    rows: tuple[dict[str, str], ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.schema.get("fields", []))

    @property
    def primary_key(self) -> tuple[str, ...]:
        key = self.schema.get("primaryKey", [])
        return (key,) if isinstance(key, str) else tuple(key)

    def field(self, name: str) -> dict[str, Any]:
        return next(f for f in self.schema.get("fields", []) if f["name"] == name)

    def typed_rows(self) -> list[dict[str, Any]]:
        """The rows with values read by the schema's types (dates as dates, None when empty);
        read once per table (the rows are shared: callers only read them)."""
        return list(self._typed)

    @functools.cached_property
    def _typed(self) -> tuple[dict[str, Any], ...]:
        # the cells are CSV text, and dates and codes repeat down a column
        readers = [(name, remembering(cell_reader(self.field(name)))) for name in self.field_names]
        out = []
        for row in self.rows:
            values: dict[str, Any] = {}
            for name, reader in readers:
                value, notes = reader(row.get(name, ""))
                values[name] = None if notes and "type" in notes else value
            out.append(values)
        return tuple(out)


@dataclass(frozen=True)
class Snapshot:
    """A package to compare: what the user named it, its version and release date, its tables."""

    label: str
    version: str
    released: date
    tables: dict[str, TableData]

    def describe(self) -> str:
        if not self.tables:  # no release at all: a first release's diff starts from nothing
            return self.label
        if self.label == self.version:
            return f"{self.version} ({self.released.isoformat()})"
        return f"{self.label} ({self.version}, {self.released.isoformat()})"

    def dataset(self) -> Dataset:
        """The tables as a Dataset of typed rows, so that the rules' counts can run on them."""
        tables = {}
        for name, table in self.tables.items():
            rows = tuple(
                Row(Record(index, index + 2, {}), values)
                for index, values in enumerate(table.typed_rows())
            )
            source = SourceTable(name, Path(f"{name}.csv"), "csv", table.field_names, ())
            schema = ResourceSchema(name, Path(f"{name}.schema.json"), table.schema)
            tables[name] = Table(source, schema, rows)
        return Dataset(None, tables)


def table_data(table: TableOut) -> TableData:
    """A built table as the text its CSV file holds."""
    fields = field_types(table)
    rows = tuple(
        {name: cell_text(field, row.get(name)) for name, field in fields} for row in table.rows
    )
    schema = {**table.schema, "title": table.title, "description": table.description}
    return TableData(table.name, schema, rows)


def sources_snapshot(
    validation: Validation,
    label: str = SOURCES_WORD,
    tables: Sequence[TableOut] | None = None,
) -> Snapshot:
    """The release the sources would make, without its change list (`tables`: the tables
    already built from them, when the caller has them)."""
    metadata = validation.dataset.metadata
    if metadata is None or not validation.ok:
        raise ProjectError(
            "the sources are not valid, so there is nothing to compare:\n"
            + render_text(validation.report.issues),
            hint="fix them first (ics-data validate)",
        )
    from pipeline.build.package import collect_tables  # on first use: verify never builds

    built = collect_tables(validation.dataset) if tables is None else tables
    data = {t.name: table_data(t) for t in built if t.name not in GENERATED}
    return Snapshot(label, metadata.version, metadata.release_date, data)


def read_csv_table(path: Path, name: str, schema: dict[str, Any]) -> TableData:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(
            f"cannot read {display_path(path)}: {exc}",
            hint="ics-data verify checks every file of a release",
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    names = [f["name"] for f in schema.get("fields", [])]
    if header != names:
        raise ReleaseError(
            f"{display_path(path)}: the header {header} is not the schema's fields {names}",
            hint="ics-data verify checks every file of a release",
        )
    rows = tuple(dict(zip(names, row, strict=False)) for row in reader if row)
    return TableData(name, schema, rows)


def release_snapshot(folder: Path, label: str | None = None) -> Snapshot:
    """A published release, read from its datapackage.json and CSV resources."""
    descriptor = read_descriptor(folder)
    version = str(descriptor.get("version", folder.name))
    created = str(descriptor.get("created", ""))[:10]
    try:
        released = date.fromisoformat(created)
    except ValueError as exc:
        raise ReleaseError(
            f"{display_path(folder)}/datapackage.json has no `created` date ({created!r})"
        ) from exc
    tables = {}
    for resource in descriptor.get("resources", []):
        name = str(resource.get("name", ""))
        if resource.get("format") != "csv" or name in GENERATED:
            continue
        # the descriptor keeps a table's title and description on the resource, beside its schema
        schema = {
            **resource["schema"],
            "title": resource.get("title", name),
            "description": resource.get("description", ""),
        }
        tables[name] = read_csv_table(folder / str(resource["path"]), name, schema)
    return Snapshot(label or version, version, released, tables)


def resolve(
    ref: str, output: Path, sources: Path, schemas: Path, *, validation: Validation | None = None
) -> Snapshot:
    """OLD or NEW of `ics-data diff`: `sources`, `latest`, `git:REF`, a version in OUTPUT, or a
    folder."""
    if ref.startswith(GIT_PREFIX):
        return committed_snapshot(ref.removeprefix(GIT_PREFIX), output)
    if ref == SOURCES_WORD:
        from pipeline.check.validate import validate_project  # on first use: verify never checks

        return sources_snapshot(validation or validate_project(sources, schemas))
    if ref == LATEST_WORD:
        releases = find_releases(output)
        if not releases:
            raise ProjectError(
                f"no releases in {display_path(output)} to compare with",
                hint="publish a first release (ics-data publish), or name a release folder",
            )
        return release_snapshot(releases[-1].path)
    try:
        parse_version(ref)
    except ValueError:
        folder = Path(ref)
        if (folder / "datapackage.json").is_file():
            return release_snapshot(folder, display_path(folder))
        raise ProjectError(
            f"{ref!r} is not a version, a release folder, {SOURCES_WORD!r}, {LATEST_WORD!r} or "
            f"{GIT_PREFIX}REF",
            hint="ics-data releases lists the published versions",
        ) from None
    folder = output / ref
    if not (folder / "datapackage.json").is_file():
        known = ", ".join(r.version for r in find_releases(output)) or "none"
        raise ProjectError(
            f"no release {ref} in {display_path(output)} (published: {known})",
            hint="pass --output DIR, or a release folder",
        )
    return release_snapshot(folder)


def committed_snapshot(commit: str, output: Path) -> Snapshot:
    """The newest release that git's COMMIT holds in OUTPUT, read from OUTPUT (a published
    version never changes, and verify checks it); an empty package when COMMIT holds none, so
    that a first release reads as every record added."""
    from pipeline.core.git import tree_names  # on first use: only a pull request's diff asks

    versions = []
    for name in tree_names(output, commit):
        try:
            versions.append((parse_version(name), name))
        except ValueError:
            continue
    label = f"{GIT_PREFIX}{commit}"
    if not versions:
        return Snapshot(f"{label}, which holds no release", "0.0.0", date.min, {})
    newest = max(versions)[1]
    folder = output / newest
    if not (folder / "datapackage.json").is_file():
        raise ProjectError(
            f"{label} holds release {newest}, which is not in {display_path(output)}",
            hint="a published release is never removed: restore it (git checkout -- output)",
        )
    return release_snapshot(folder, newest)
