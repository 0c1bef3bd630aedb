"""The dataset model: source records as loaded, their schemas and package metadata, the typed
rows validation makes of them, and the tables a release publishes. Plain frozen values."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.core.files import display_path
from pipeline.core.issues import ValidationReport
from pipeline.core.timeline import Life, row_life

if TYPE_CHECKING:
    from frictionless import Schema


T = TypeVar("T")
NO_LINES: Mapping[str, int] = MappingProxyType({})  # a CSV record's fields are all on its line


@dataclass(frozen=True, slots=True)  # slots: a 1000x project holds 730,000 of them
class Record:
    """One record: its values as typed, its position, and the line of each of its fields."""

    index: int
    line: int
    values: dict[str, str | None]
    field_lines: Mapping[str, int] = field(default_factory=lambda: NO_LINES)  # shared, empty

    def line_of(self, name: str) -> int:
        return self.field_lines.get(name, self.line)


@dataclass(frozen=True)
class SourceTable:
    """The records of one source file, as the person typed them."""

    resource: str
    path: Path
    format: str  # "yaml" or "csv"
    fields: tuple[str, ...]
    records: tuple[Record, ...]

    @cached_property
    def file(self) -> str:
        return display_path(self.path)


@dataclass(frozen=True)
class ResourceSchema:
    """One resource's Table Schema descriptor, and the file it was read from."""

    resource: str
    path: Path
    descriptor: dict[str, Any]
    # the frictionless Schema that checking the descriptor built (`sources.schemas`), if any
    checked: Schema | None = field(default=None, compare=False, repr=False)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.descriptor.get("fields", []))

    @property
    def primary_key(self) -> tuple[str, ...]:
        key = self.descriptor.get("primaryKey", [])
        return (key,) if isinstance(key, str) else tuple(key)

    @property
    def foreign_keys(self) -> list[dict[str, Any]]:
        return list(self.descriptor.get("foreignKeys", []))

    def field(self, name: str) -> dict[str, Any]:
        for f in self.descriptor.get("fields", []):
            if f["name"] == name:
                return dict(f)
        raise KeyError(name)

    @cached_property
    def frictionless(self) -> Schema:
        """The frictionless Schema of the descriptor, for its fields' readers (the foreign keys
        are checked across resources, by `check.references`): the one the schema check built
        (`checked`), else one built now, once for this value. Callers never change it."""
        if self.checked is not None:
            return self.checked
        from frictionless import Schema  # a heavy library, loaded by the commands that check

        return Schema.from_descriptor(self.descriptor)


@dataclass(frozen=True)
class Metadata:
    """`sources/package.yaml`: the release version, the package metadata, the source registry."""

    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def version(self) -> str:
        return str(self.data["version"])

    @property
    def release_date(self) -> date:
        value = self.data["release_date"]
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    @property
    def source_ids(self) -> frozenset[str]:
        return frozenset(str(s["id"]) for s in self.data.get("sources", []))


@dataclass(frozen=True, slots=True)
class Row:
    """A record with typed values (None where empty or invalid), and where it came from."""

    record: Record
    values: dict[str, Any]


@dataclass(frozen=True)
class Table:
    source: SourceTable
    schema: ResourceSchema
    rows: tuple[Row, ...]

    @property
    def resource(self) -> str:
        return self.source.resource


@dataclass(frozen=True)
class Dataset:
    """Every resource's typed rows, with the package metadata: what `build` turns into files."""

    metadata: Metadata | None
    tables: dict[str, Table] = field(default_factory=dict)
    _once: dict[str, tuple[tuple[Row, ...], Any]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def rows(self, resource: str) -> tuple[Row, ...]:
        table = self.tables.get(resource)
        return table.rows if table else ()

    def values(self, resource: str) -> list[dict[str, Any]]:
        return [row.values for row in self.rows(resource)]

    def lives(self, resource: str) -> tuple[Life | None, ...]:
        """The life of each row of RESOURCE (`core.timeline.row_life`; None for a resource
        without dates), worked out once: the rules, the claims and the structure all ask."""
        return self.once(
            f"lives {resource}",
            resource,
            lambda data: tuple(row_life(resource, r.values) for r in data.rows(resource)),
        )

    def rows_with_lives(self, resource: str) -> Iterator[tuple[Row, Life | None]]:
        """Each row of RESOURCE with its life (`lives`)."""
        return zip(self.rows(resource), self.lives(resource), strict=True)

    def once(self, name: str, resource: str, make: Callable[[Dataset], T]) -> T:
        """MAKE(self), a value worked out from the rows of RESOURCE alone, made once for this
        dataset while those rows are the same (two checks ask for the registered patients'
        sums). Callers only read it."""
        rows = self.rows(resource)
        found = self._once.get(name)
        if found is None or found[0] is not rows:
            found = self._once[name] = (rows, make(self))
        kept: T = found[1]
        return kept


@dataclass(frozen=True)
class Validation:
    """The typed dataset and the report of every problem found in it."""

    dataset: Dataset
    report: ValidationReport

    @property
    def ok(self) -> bool:
        return self.dataset.metadata is not None and self.report.ok


@dataclass(frozen=True)
class TableOut:
    """One published table: its schema descriptor and rows of typed values, sorted by key. A
    source table's rows are the dataset's own value dicts (not copies): readers only read them."""

    name: str
    schema: dict[str, Any]
    rows: tuple[dict[str, Any], ...]
    title: str
    description: str
    # the frictionless Schema of `schema` that validation built, for a source table
    checked: Schema | None = field(default=None, compare=False, repr=False)

    @cached_property
    def frictionless(self) -> Schema:
        """The frictionless Schema of the table's descriptor, whose fields' writers every format
        writes cells with: the one validation built (`checked`), else one built now, once for
        this table. Callers never change it."""
        if self.checked is not None:
            return self.checked
        from frictionless import Schema  # a heavy library, loaded by the commands that build

        return Schema.from_descriptor(self.schema)


def sort_key(row: dict[str, Any], key: Sequence[str]) -> tuple[Any, ...]:
    # None sorts first; values of one field share a type, so the comparison is total
    return tuple((row.get(k) is not None, _sortable(row.get(k))) for k in key)


def _sortable(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, tuple):  # yearmonth
        return tuple(value)
    return value
