"""The text of a new project's source files: records as YAML, rows as CSV in the schema's order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml


def yaml_records(comment: str, records: Sequence[Mapping[str, object]]) -> str:
    """Records as a YAML list, every value quoted, so the schema decides its type."""
    lines = [f"# {comment}"]
    if not records:
        return "\n".join([*lines, "[]"]) + "\n"
    for record in records:
        first = True
        for key, value in record.items():
            if value in ("", None):
                continue
            text = json.dumps(str(value), ensure_ascii=False)
            lines.append(f"{'- ' if first else '  '}{key}: {text}")
            first = False
        lines.append("")
    return "\n".join(lines)


def csv_text(schemas: Path, resource: str, rows: Sequence[Mapping[str, str]]) -> str:
    """ROWS as RESOURCE's CSV, with a column for every field of its schema, in order."""
    names = field_names(schemas, resource)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([row.get(name, "") for name in names])
    return out.getvalue()


def field_names(schemas: Path, resource: str) -> list[str]:
    descriptor = yaml.safe_load((schemas / f"{resource}.schema.yaml").read_text(encoding="utf-8"))
    return [str(f["name"]) for f in descriptor["fields"]]
