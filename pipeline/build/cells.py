"""How one typed value is written: as CSV text (frictionless's own writer for its type) and as a
JSON value. Every format of a release writes cells through these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pipeline.core.model import TableOut

if TYPE_CHECKING:
    from frictionless import Field


class TextWriter:
    """Writes one field's typed values as text, with frictionless's own writer for its type (made
    once: `Field.write_cell` would build a writer for every cell)."""

    def __init__(self, field: Field) -> None:
        self._write = field.create_cell_writer()
        self._text = field.type == "string"  # frictionless writes a string field's text as is

    def __call__(self, value: Any) -> str:
        if value is None:
            return ""
        if self._text and type(value) is str:
            return value
        text, _ = self._write(value)
        return "" if text is None else str(text)


def field_types(table: TableOut) -> list[tuple[str, TextWriter]]:
    """Each field of TABLE, with the writer of its values as text."""
    return [(f.name, TextWriter(f)) for f in table.frictionless.fields]


def _field(descriptor: dict[str, Any]) -> Field:
    from frictionless import Field  # imported on first use: a no-op publish never needs it

    return Field.from_descriptor(descriptor)


def text_writer(descriptor: dict[str, Any]) -> TextWriter:
    """The writer of a field's values as text (building it validates the field's descriptor:
    make one per table, not one per value)."""
    return TextWriter(_field(descriptor))


def cell_reader(descriptor: dict[str, Any]) -> Callable[[Any], Any]:
    """frictionless's reader of a field's cells, (value, notes) for a cell (make one per table,
    as `text_writer`)."""
    return _field(descriptor).create_cell_reader()


def cell_text(writer: TextWriter, value: Any) -> str:
    return writer(value)


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple) and len(value) == 2:  # yearmonth
        return f"{value[0]:04d}-{value[1]:02d}"
    return str(value)
