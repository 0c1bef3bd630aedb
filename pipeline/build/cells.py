"""How one typed value is written: as CSV text (frictionless's own writer for its type) and as a
JSON value. Every format of a release writes cells through these."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frictionless import Field


def field_types(schema: dict[str, Any]) -> list[tuple[str, Field]]:
    from frictionless import Field  # imported on first use: a no-op publish never needs it

    return [(f["name"], Field.from_descriptor(f)) for f in schema["fields"]]


def cell_text(field: Field, value: Any) -> str:
    if value is None:
        return ""
    text, _ = field.write_cell(value)
    return "" if text is None else str(text)


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
