"""Load the Table Schemas in `schemas/`: one per resource, each checked as a valid Table Schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frictionless import Schema

from pipeline.issues import Issue, display_path
from pipeline.sources import load_yaml_mapping

SCHEMA_SUFFIXES = (".schema.yaml", ".schema.yml", ".schema.json")


@dataclass(frozen=True)
class ResourceSchema:
    resource: str
    path: Path
    descriptor: dict[str, Any]

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

    def frictionless(self) -> Schema:
        """The frictionless Schema without foreign keys (those are checked across resources)."""
        descriptor = {k: v for k, v in self.descriptor.items() if k != "foreignKeys"}
        return Schema.from_descriptor(descriptor)


def resource_name(path: Path) -> str | None:
    for suffix in SCHEMA_SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


def load_schemas(schemas: Path) -> tuple[dict[str, ResourceSchema], list[Issue]]:
    found: dict[str, ResourceSchema] = {}
    issues: list[Issue] = []
    for path in sorted(schemas.iterdir()):
        resource = resource_name(path)
        if resource is None:
            continue
        file = display_path(path)
        if path.name.endswith(".json"):
            try:
                descriptor: Any = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                issues.append(
                    Issue(
                        file,
                        getattr(exc, "lineno", 0),
                        "schema-error",
                        f"the schema cannot be read: {exc}",
                        resource,
                    )
                )
                continue
        else:
            descriptor, problems = load_yaml_mapping(path)
            issues.extend(
                Issue(p.file, p.line, p.code, p.message, resource, p.field) for p in problems
            )
            if descriptor is None:
                continue
        problems_found = check_schema(descriptor, file, resource)
        issues.extend(problems_found)
        if not problems_found:
            found[resource] = ResourceSchema(resource, path, descriptor)
    return found, issues


def check_schema(descriptor: Any, file: str, resource: str) -> list[Issue]:
    if not isinstance(descriptor, dict):
        return [Issue(file, 1, "schema-error", "a schema must be a mapping", resource)]
    report = Schema.validate_descriptor(descriptor)
    issues = [
        Issue(file, 0, "schema-error", f"not a valid Table Schema: {error.message}", resource)
        for error in report.errors
    ]
    if issues:
        return issues
    names = [f.get("name") for f in descriptor.get("fields", [])]
    for field in descriptor.get("fields", []):
        for key in ("title", "description"):
            if not field.get(key):
                issues.append(
                    Issue(
                        file,
                        0,
                        "schema-error",
                        f"field {field.get('name')!r} needs a {key}",
                        resource,
                        str(field.get("name")),
                    )
                )
    for fk in descriptor.get("foreignKeys", []):
        fields = fk.get("fields")
        for name in [fields] if isinstance(fields, str) else fields or []:
            if name not in names:
                issues.append(
                    Issue(
                        file,
                        0,
                        "schema-error",
                        f"foreign key field {name!r} is not a field",
                        resource,
                    )
                )
    return issues
