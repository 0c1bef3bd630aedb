"""Datasette metadata for the release's SQLite file (`formats/<name>.metadata.json`):

    datasette formats/<name>.sqlite -m formats/<name>.metadata.json

Titles and descriptions of the database, of every table and of every column (from the schemas),
a label column for each table that others point at (so datasette shows a PCN's or a practice's
name beside its code wherever a foreign key holds the code), units where a column has a
physical unit (ages in years), the licence and the sources. A pure function of the tables and
the package metadata, like every other format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.core.model import Metadata, TableOut

# The column that names a record, by preference: what datasette shows beside a code.
LABELS = ("pcn_name", "practice_name", "icb_name", "name", "title", "statement", "event")
# Units datasette can show (it reads them with pint); counts of people have none.
UNITS = {"age_from": "year", "age_to": "year"}
FIELDS_DESCRIPTION = "Every field of every table: its type, title, description and constraints."


def label_column(table: TableOut) -> str | None:
    names = [f["name"] for f in table.schema["fields"] if f.get("type") == "string"]
    return next((label for label in LABELS if label in names), None)


def _describe(field: dict[str, Any]) -> str:
    title = str(field.get("title", "")).strip()
    description = " ".join(str(field.get("description", "")).split())
    return f"{title}. {description}".strip(". ").strip() if title else description


def datasette_metadata(tables: Sequence[TableOut], metadata: Metadata) -> dict[str, Any]:
    data = metadata.data
    licence = (data.get("licenses") or [{}])[0]
    sources = "; ".join(f"{s['id']}: {' '.join(str(s['title']).split())}" for s in data["sources"])
    described: dict[str, Any] = {}
    for table in tables:
        entry: dict[str, Any] = {
            "title": table.title,
            "description": " ".join(table.description.split()),
            "columns": {f["name"]: _describe(f) for f in table.schema["fields"]},
        }
        label = label_column(table)
        if label:
            entry["label_column"] = label
        units = {f["name"]: UNITS[f["name"]] for f in table.schema["fields"] if f["name"] in UNITS}
        if units:
            entry["units"] = units
        described[table.name] = entry
    described["fields"] = {"title": "Fields", "description": FIELDS_DESCRIPTION}
    return {
        "title": f"{data['title']}, version {metadata.version}",
        "description": " ".join(str(data["description"]).split()),
        "license": str(licence.get("title") or licence.get("name") or ""),
        "license_url": str(licence.get("path") or ""),
        "source": " ".join(str(data.get("attribution", "")).split()) or sources,
        "source_url": str(data.get("homepage") or ""),
        "databases": {
            metadata.name: {
                "title": str(data["title"]),
                "description": f"Release {metadata.version}. Sources: {sources}.",
                "license": str(licence.get("title") or licence.get("name") or ""),
                "license_url": str(licence.get("path") or ""),
                "tables": described,
            }
        },
    }


def render_datasette(tables: Sequence[TableOut], metadata: Metadata) -> bytes:
    text = json.dumps(datasette_metadata(tables, metadata), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")
