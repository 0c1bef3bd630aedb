"""Load the Table Schemas in `schemas/`: one per resource, each checked as a valid Table Schema."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipeline.core.errors import ProjectError
from pipeline.core.files import display_path
from pipeline.core.issues import Issue
from pipeline.core.model import ResourceSchema
from pipeline.sources.bounds import RefusedFile, read_regular_file
from pipeline.sources.load import FAST_LOADER, parse_yaml_mapping, read_text

if TYPE_CHECKING:
    from frictionless import Schema

SCHEMA_SUFFIXES = (".schema.yaml", ".schema.yml", ".schema.json")


def resource_name(path: Path) -> str | None:
    for suffix in SCHEMA_SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


FieldLines = list[dict[str, int]]  # per field: "" -> its first line, key -> the key's line


def load_schemas(schemas: Path) -> tuple[dict[str, ResourceSchema], list[Issue]]:
    found: dict[str, ResourceSchema] = {}
    issues: list[Issue] = []
    for path in sorted(schemas.iterdir()):
        resource = resource_name(path)
        if resource is None:
            continue
        if path.name.endswith(".json"):
            try:
                data = read_regular_file(path, confined=True)
                descriptor: Any = json.loads(data.decode("utf-8"))
                lines: FieldLines = []
            except (RefusedFile, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                issues.append(
                    Issue(
                        display_path(path),
                        getattr(exc, "lineno", 0),
                        "schema-error",
                        f"the schema cannot be read: {exc}",
                        resource,
                    )
                )
                continue
        else:
            text, problems = read_text(path)
            document = None
            if text is not None:
                document, problems = parse_yaml_mapping(text, display_path(path))
            issues.extend(
                Issue(p.file, p.line, p.code, p.message, resource, p.field) for p in problems
            )
            if document is None:
                continue
            descriptor, lines = document.data, field_lines(document.root)
        problems_found, built = check_schema(descriptor, display_path(path), resource, lines)
        issues.extend(problems_found)
        if built is not None:
            found[resource] = ResourceSchema(resource, path, descriptor, built)
    named = {name for path in schemas.iterdir() if (name := resource_name(path)) is not None}
    broken = check_references(found, named)
    for issue in broken:  # a schema with a broken reference is broken: its data goes unchecked
        found.pop(issue.resource, None)
    return found, issues + broken


def check_references(found: dict[str, ResourceSchema], named: set[str]) -> list[Issue]:
    """Each foreign key names a resource that has a schema, and fields that schema has."""
    issues = []
    for schema in found.values():
        for fk in schema.foreign_keys:
            ref = fk.get("reference", {})
            target = ref.get("resource") or schema.resource
            fields = ref.get("fields")
            fields = [fields] if isinstance(fields, str) else list(fields or [])
            if target not in named:
                problem = f"refers to resource {target!r}, which has no schema"
            elif target not in found:
                continue  # its schema is broken, and reported as such
            elif unknown := [f for f in fields if f not in found[target].field_names]:
                problem = f"refers to {', '.join(map(repr, unknown))}, not fields of {target}"
            else:
                continue
            issues.append(
                Issue(
                    display_path(schema.path),
                    0,
                    "schema-error",
                    f"a foreign key {problem}",
                    schema.resource,
                )
            )
    return issues


def field_lines(root: yaml.Node) -> FieldLines:
    """The 1-based lines of each entry under `fields` in a YAML schema, so errors point at it."""
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "fields" and isinstance(value, yaml.SequenceNode):
                return [_key_lines(item) for item in value.value]
    return []


def _key_lines(node: yaml.Node) -> dict[str, int]:
    lines = {"": node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        lines.update({str(k.value): k.start_mark.line + 1 for k, _ in node.value})
    return lines


def check_schema(
    descriptor: Any, file: str, resource: str, lines: FieldLines | None = None
) -> tuple[list[Issue], Schema | None]:
    """The problems of a Table Schema descriptor, each at its line in LINES, and the frictionless
    Schema it makes when it has none (building it is how frictionless checks a descriptor, and
    the checked Schema then types the resource's cells)."""
    if not isinstance(descriptor, dict):
        return [Issue(file, 1, "schema-error", "a schema must be a mapping", resource)], None
    where = _Lines(file, resource, lines or [])
    fields = descriptor.get("fields", [])
    fields = fields if isinstance(fields, list) else []
    issues = _shape_issues(descriptor, fields, where)
    if issues:
        return issues, None
    built, errors = frictionless_schema(descriptor)
    issues = [_descriptor_issue(error, fields, where) for error in errors]
    if issues:
        return issues, None
    issues = _field_issues(fields, where) + _foreign_key_issues(descriptor, fields, where)
    return issues, None if issues else built


@dataclass(frozen=True)
class _Lines:
    """Where a schema's problems are: its file and resource, and the lines of its fields."""

    file: str
    resource: str
    lines: FieldLines

    def line(self, index: int, key: str = "") -> int:
        if not 0 <= index < len(self.lines):
            return 0
        return self.lines[index].get(key, self.lines[index][""])

    def issue(self, line: int, message: str, name: str = "") -> Issue:
        return Issue(self.file, line, "schema-error", message, self.resource, name)


def _shape_issues(descriptor: dict[str, Any], fields: list[Any], where: _Lines) -> list[Issue]:
    """A list of fields, each a mapping with a name: what frictionless needs to read it."""
    issues = [
        # frictionless would read a bare string as the path of a file to load, and crash
        where.issue(
            where.line(index), f"field {index + 1} must be a mapping with a name, found {field!r}"
        )
        for index, field in enumerate(fields)
        if not isinstance(field, dict) or not isinstance(field.get("name"), str)
    ]
    if not issues and not isinstance(descriptor.get("fields"), list):
        issues.append(where.issue(0, "a schema needs a list of fields"))
    return issues


def _descriptor_issue(error: Any, fields: list[Any], where: _Lines) -> Issue:
    """frictionless's error in a descriptor, at the field it is about."""
    index, name = _bad_field(fields, error) if error.type == "field-error" else (-1, "")
    field = f"field {name!r}: " if name else ""
    note = str(error.note or "")
    key = "constraints" if "constraints" in note else ""
    key = "type" if note.startswith("field type") else key
    message = f"not a valid Table Schema: {field}{error.note or error.message}"
    return where.issue(where.line(index, key), message, name)


def _field_issues(fields: list[dict[str, Any]], where: _Lines) -> list[Issue]:
    """What frictionless accepts but the pipeline cannot use: a pattern that is no regular
    expression (frictionless would raise it while reading the data), a field without a title or
    a description (the data dictionary shows both)."""
    issues = []
    for index, field in enumerate(fields):
        pattern = (field.get("constraints") or {}).get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                issues.append(
                    where.issue(
                        where.line(index, "constraints"),
                        f"field {field['name']!r}: pattern {pattern!r} is not a regular "
                        f"expression: {exc}",
                        str(field["name"]),
                    )
                )
        for key in ("title", "description"):
            if not field.get(key):
                issues.append(
                    where.issue(
                        where.line(index),
                        f"field {field.get('name')!r} needs a {key}",
                        str(field.get("name")),
                    )
                )
    return issues


def _foreign_key_issues(
    descriptor: dict[str, Any], fields: list[dict[str, Any]], where: _Lines
) -> list[Issue]:
    names = [f.get("name") for f in fields]
    issues = []
    for fk in descriptor.get("foreignKeys", []):
        fk_fields = fk.get("fields")
        for name in [fk_fields] if isinstance(fk_fields, str) else fk_fields or []:
            if name not in names:
                issues.append(where.issue(0, f"foreign key field {name!r} is not a field"))
    return issues


def _bad_field(fields: list[Any], error: Any) -> tuple[int, str]:
    """frictionless does not say which field is invalid: find it by checking each alone."""
    for index, field in enumerate(fields):
        if not isinstance(field, dict):
            continue
        if any(e.note == error.note for e in frictionless_schema({"fields": [field]})[1]):
            return index, str(field.get("name", ""))
    return -1, ""


def generic_schemas() -> Path:
    """The generic Table Schemas the tool ships (`pipeline/schemas/`): what `init` copies into
    a new project's `schemas/`, and what the tool's own tests run on."""
    return Path(str(resources.files("pipeline").joinpath("schemas")))


def derived_schema(name: str) -> dict[str, Any]:
    """The Table Schema of a table the pipeline generates (`structure`, `changes`, `fields`),
    shipped inside the package in `pipeline/derived_schemas/`."""
    text = resources.files("pipeline").joinpath("derived_schemas", f"{name}.schema.yaml")
    descriptor = yaml.load(text.read_text("utf-8"), Loader=FAST_LOADER)  # the package's own
    if not isinstance(descriptor, dict):
        raise ProjectError(f"pipeline/derived_schemas/{name}.schema.yaml is not a mapping")
    return descriptor


def frictionless_schema(descriptor: dict[str, Any]) -> tuple[Schema | None, tuple[Any, ...]]:
    """frictionless's Schema of a Table Schema descriptor, or the errors it raises instead: what
    `Schema.validate_descriptor` does, keeping the Schema it builds (its metadata validation
    costs tens of milliseconds a schema)."""
    from frictionless import FrictionlessException

    try:
        return _schema_class().from_descriptor(descriptor), ()
    except FrictionlessException as exception:
        return None, tuple(exception.reasons if exception.reasons else [exception.error])


def _schema_class() -> Any:
    """frictionless's Schema, imported on first use: a no-op publish never needs it."""
    from frictionless import Schema

    return Schema
