"""Load the Table Schemas in `schemas/`: one per resource, each checked as a valid Table Schema."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pipeline.core.errors import ProjectError
from pipeline.core.files import display_path
from pipeline.core.issues import Issue
from pipeline.core.memo import ByText, by_descriptor
from pipeline.core.model import ResourceSchema, share_frictionless
from pipeline.sources.bounds import RefusedFile, read_regular_file
from pipeline.sources.load import FAST_LOADER, parse_yaml_mapping, read_text

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
        text: str | None = None
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
            known = _VALID.get((resource, text)) if text is not None else None
            if known is not None:
                found[resource] = ResourceSchema(resource, path, known)
                continue
            document = None
            if text is not None:
                document, problems = parse_yaml_mapping(text, display_path(path))
            issues.extend(
                Issue(p.file, p.line, p.code, p.message, resource, p.field) for p in problems
            )
            if document is None:
                continue
            descriptor, lines = document.data, field_lines(document.root)
        problems_found = check_schema(descriptor, display_path(path), resource, lines)
        issues.extend(problems_found)
        if not problems_found:
            found[resource] = ResourceSchema(resource, path, descriptor)
            if text is not None and not problems:
                _VALID.keep((resource, text), descriptor)
    named = {name for path in schemas.iterdir() if (name := resource_name(path)) is not None}
    broken = check_references(found, named)
    for issue in broken:  # a schema with a broken reference is broken: its data goes unchecked
        found.pop(issue.resource, None)
    return found, issues + broken


# The descriptor of each schema text found valid: no stage changes a descriptor.
_VALID: ByText[dict[str, Any]] = ByText(16 * 1024 * 1024)


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
) -> list[Issue]:
    if not isinstance(descriptor, dict):
        return [Issue(file, 1, "schema-error", "a schema must be a mapping", resource)]
    fields = descriptor.get("fields", [])
    fields = fields if isinstance(fields, list) else []

    def line(index: int, key: str = "") -> int:
        if not lines or not 0 <= index < len(lines):
            return 0
        return lines[index].get(key, lines[index][""])

    issues = []
    for index, field in enumerate(fields):
        if not isinstance(field, dict) or not isinstance(field.get("name"), str):
            # frictionless would read a bare string as the path of a file to load, and crash
            issues.append(
                Issue(
                    file,
                    line(index),
                    "schema-error",
                    f"field {index + 1} must be a mapping with a name, found {field!r}",
                    resource,
                )
            )
    if issues or not isinstance(descriptor.get("fields"), list):
        return issues or [
            Issue(file, 0, "schema-error", "a schema needs a list of fields", resource)
        ]
    for error in descriptor_errors(descriptor):
        index, name = _bad_field(fields, error) if error.type == "field-error" else (-1, "")
        where = f"field {name!r}: " if name else ""
        note = str(error.note or "")
        key = "constraints" if "constraints" in note else ""
        key = "type" if note.startswith("field type") else key
        issues.append(
            Issue(
                file,
                line(index, key),
                "schema-error",
                f"not a valid Table Schema: {where}{error.note or error.message}",
                resource,
                name,
            )
        )
    if issues:
        return issues
    names = [f.get("name") for f in fields]
    for index, field in enumerate(fields):
        pattern = (field.get("constraints") or {}).get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:  # frictionless would raise it while reading the data
                issues.append(
                    Issue(
                        file,
                        line(index, "constraints"),
                        "schema-error",
                        f"field {field['name']!r}: pattern {pattern!r} is not a regular "
                        f"expression: {exc}",
                        resource,
                        str(field["name"]),
                    )
                )
        for key in ("title", "description"):
            if not field.get(key):
                issues.append(
                    Issue(
                        file,
                        line(index),
                        "schema-error",
                        f"field {field.get('name')!r} needs a {key}",
                        resource,
                        str(field.get("name")),
                    )
                )
    for fk in descriptor.get("foreignKeys", []):
        fk_fields = fk.get("fields")
        for name in [fk_fields] if isinstance(fk_fields, str) else fk_fields or []:
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


def _bad_field(fields: list[Any], error: Any) -> tuple[int, str]:
    """frictionless does not say which field is invalid: find it by checking each alone."""
    for index, field in enumerate(fields):
        if not isinstance(field, dict):
            continue
        if any(e.note == error.note for e in descriptor_errors({"fields": [field]})):
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


_DESCRIPTOR_ERRORS: dict[str, tuple[Any, ...]] = {}


def descriptor_errors(descriptor: dict[str, Any]) -> tuple[Any, ...]:
    """frictionless's errors for a Table Schema descriptor, worked out once per descriptor in a
    process (its metadata validation costs tens of milliseconds a schema). What
    `Schema.validate_descriptor` does: build the Schema, and take the errors it raises; the
    Schema a valid descriptor gives is the one `ResourceSchema.frictionless` shares."""
    return by_descriptor(_DESCRIPTOR_ERRORS, descriptor, lambda: _errors(descriptor), 256)


def _errors(descriptor: dict[str, Any]) -> tuple[Any, ...]:
    from frictionless import FrictionlessException

    try:
        schema = _schema_class().from_descriptor(descriptor)
    except FrictionlessException as exception:
        return tuple(exception.reasons if exception.reasons else [exception.error])
    share_frictionless(descriptor, schema)
    return ()


def _schema_class() -> Any:
    """frictionless's Schema, imported on first use: a no-op publish never needs it."""
    from frictionless import Schema

    return Schema
