"""How one typed value is written: as CSV text (frictionless's own writer for its type) and as a
JSON value. Every format of a release writes cells through these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pipeline.core.memo import by_descriptor

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


def field_types(schema: dict[str, Any]) -> list[tuple[str, TextWriter]]:
    """Each field of a Table Schema descriptor, with the writer of its values as text."""
    return [(f["name"], text_writer(f)) for f in schema["fields"]]


# frictionless's Field, and its writer and reader, for each field descriptor a process has seen:
# building a Field validates its descriptor, which costs more than writing a small table, and a
# writer or reader is a pure function of the value.
_FIELDS: dict[str, tuple[TextWriter, Callable[[Any], Any]]] = {}


def _field(descriptor: dict[str, Any]) -> tuple[TextWriter, Callable[[Any], Any]]:
    from frictionless import Field  # imported on first use: a no-op publish never needs it

    def make() -> tuple[TextWriter, Callable[[Any], Any]]:
        field = Field.from_descriptor(descriptor)
        return TextWriter(field), field.create_cell_reader()

    return by_descriptor(_FIELDS, descriptor, make, 4096)


def text_writer(descriptor: dict[str, Any]) -> TextWriter:
    """The writer of a field's values as text, made once per field descriptor."""
    return _field(descriptor)[0]


def cell_reader(descriptor: dict[str, Any]) -> Callable[[Any], Any]:
    """frictionless's reader of a field's cells, (value, notes) for a cell, made once per field
    descriptor."""
    return _field(descriptor)[1]


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
