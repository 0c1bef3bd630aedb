"""The text policy (`pipeline.core.text`) applied to every value of every source record."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.core.issues import Issue
from pipeline.core.model import ResourceSchema, SourceTable
from pipeline.core.text import (
    FORMULA_START,
    SUSPECT_OR_LF,
    formula_problem,
    table_name_problems,
    text_problem,
)


def check_text(
    tables: Mapping[str, SourceTable], schemas: Mapping[str, ResourceSchema]
) -> list[Issue]:
    """A value with a character the policy refuses, in any field; a formula-like value in a
    text field (other types are checked by their schema: `-5` is a number there)."""
    issues: list[Issue] = []
    for resource, source in tables.items():
        issues.extend(_text_issues(resource, source, schemas.get(resource)))
    return issues


def _text_issues(resource: str, source: SourceTable, schema: ResourceSchema | None) -> list[Issue]:
    issues: list[Issue] = []
    suspect = SUSPECT_OR_LF.search
    kinds = (
        {f["name"]: f.get("type", "string") for f in schema.descriptor["fields"]} if schema else {}
    )
    for record in source.records:
        for name, value in record.values.items():
            if value is None:
                continue
            if suspect(value) is None and not value.startswith(FORMULA_START):
                continue  # most values: nothing to word (the same test as below, inlined)
            found = text_problem(value)
            if found is None and kinds.get(name, "string") == "string":
                message = formula_problem(value)
                found = ("formula", message) if message else None
            if found is not None:
                code, message = found
                issues.append(
                    Issue(
                        source.file,
                        record.line_of(name),
                        code,
                        message,
                        resource,
                        name,
                        value,
                        record.index,
                    )
                )
    return issues


def check_table_names(tables: Mapping[str, SourceTable]) -> list[Issue]:
    """A resource name the formats cannot hold as a SQLite table and an XLSX sheet
    (`core.text.table_name_problems`), at its source file, before a publish stops on it."""
    return [
        Issue(
            tables[name].file,
            1,
            "table-name",
            f"a resource named {name!r} {problem}; rename it (its schema and source file)",
            name,
        )
        for name, problem in table_name_problems(list(tables))
    ]
