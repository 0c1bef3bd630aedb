"""The package metadata in `sources/package.yaml`: the one place where the version is declared."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from pipeline.core.files import display_path
from pipeline.core.issues import Issue, quote
from pipeline.core.model import Metadata
from pipeline.core.text import text_problem
from pipeline.sources.load import FAST_LOADER, NO_OVERLAY, Overlay, parse_yaml_mapping, read_text

SCHEMA = "package.schema.yaml"  # beside this module: the JSON Schema of package.yaml
# the fields whose line breaks are layout (folded into spaces where they are published)
MULTILINE = frozenset({"description", "attribution", "title"})
CODES = {
    "type": "type-error",
    "required": "missing-value",
    "minItems": "missing-value",
    "minLength": "missing-value",
    "pattern": "pattern",
    "additionalProperties": "unknown-field",
}
KINDS = {
    "string": "text",
    "integer": "a whole number",
    "array": "a list (lines starting with '- ')",
    "object": "a mapping of key: value",
}


def load_metadata(
    sources: Path, overlay: Overlay = NO_OVERLAY
) -> tuple[Metadata | None, list[Issue]]:
    """`package.yaml` of SOURCES, checked (OVERLAY: the folder as a change would leave it)."""
    if overlay.metadata is not None:
        return overlay.metadata, []
    path = sources / "package.yaml"
    file = display_path(path)
    if not overlay.exists(path):
        return None, [
            Issue(
                file,
                0,
                "missing-file",
                "no package.yaml: it declares the release version and the package metadata",
            )
        ]
    text, issues = read_text(path, overlay)
    if text is None:
        return None, issues
    document, issues = parse_yaml_mapping(text, file)
    if document is None:
        return None, issues
    data = document.data
    plain = json_ready(data)
    issues.extend(check_metadata(plain, document.root, file))
    if not issues:
        issues.extend(check_meaning(plain, document.root, file))
    if issues:
        return None, issues
    return Metadata(path, data), []


def json_ready(value: Any) -> Any:
    """The YAML values as JSON would hold them: a YAML date becomes its ISO text (a timestamp
    with a time or zone then fails the date pattern, as it should)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def package_schema() -> dict[str, Any]:
    text = resources.files("pipeline.sources").joinpath(SCHEMA).read_text("utf-8")
    schema: dict[str, Any] = yaml.load(text, Loader=FAST_LOADER)  # the package's own file
    return schema


def check_metadata(data: Any, root: yaml.Node, file: str) -> list[Issue]:
    """package.yaml against its JSON Schema, then the text policy on every string in it."""
    validator = Draft202012Validator(package_schema())
    issues = []
    for error in validator.iter_errors(data):
        path = list(error.absolute_path)
        extra: list[Any] = []
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {})
            extra = [key for key in error.instance if key not in allowed]
        for key in extra or [None]:
            where = path + ([key] if key is not None else [])
            issues.append(
                Issue(
                    file,
                    line_of(root, where),
                    CODES.get(str(error.validator), "constraint"),
                    schema_message(error, key),
                    "package",
                    dotted(where),
                    "" if isinstance(error.instance, dict | list) else str(error.instance),
                )
            )
    for where, value in strings(data, []):
        field = next((str(p) for p in reversed(where) if isinstance(p, str)), "")
        found = text_problem(value, multiline=field in MULTILINE)
        if found:
            issues.append(
                Issue(
                    file, line_of(root, where), found[0], found[1], "package", dotted(where), value
                )
            )
    return issues


def schema_message(error: Any, key: object) -> str:
    hint = error.schema.get("x-hint", "")
    if key is not None:
        known = ", ".join(error.schema.get("properties", {}))
        return f"{key!r} is not a key here; the keys are: {known}"
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else ""
        return f"package.yaml needs {missing!r} here"
    if error.validator == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else wanted
        kinds = " or ".join(KINDS.get(w, w) for w in wanted)
        return f"must be {kinds}, found {kind_of(error.instance)}"
    if error.validator in ("minItems", "minLength"):
        return "must not be empty"
    if error.validator == "pattern":
        return f"{quote(error.instance)} is not {hint or 'valid'}"
    return str(error.message)


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {quote(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def strings(value: Any, where: list[Any]) -> Iterator[tuple[list[Any], str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, [*where, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, [*where, index])
    elif isinstance(value, str):
        yield where, value


def dotted(where: list[Any]) -> str:
    return "".join(
        f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(where)
    )


def line_of(root: yaml.Node, where: list[Any]) -> int:
    """The 1-based line of the node at WHERE (a key's own line for a mapping entry), or of the
    nearest node above it that exists."""
    node, line = root, root.start_mark.line + 1
    for part in where:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return int(line)


def check_meaning(data: dict[str, Any], root: yaml.Node, file: str) -> list[Issue]:
    """What a JSON Schema cannot say: the date is a day of the calendar; source ids unique."""
    issues = []
    try:
        date.fromisoformat(data["release_date"])
    except ValueError:
        issues.append(
            Issue(
                file,
                line_of(root, ["release_date"]),
                "type-error",
                f"{quote(data['release_date'])} is not a day of the calendar",
                "package",
                "release_date",
                data["release_date"],
            )
        )
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["sources"]):
        where = ["sources", index, "id"]
        if entry["id"] in seen:
            issues.append(
                Issue(
                    file,
                    line_of(root, where),
                    "duplicate-key",
                    f"source id {entry['id']!r} is declared twice (first on line "
                    f"{seen[entry['id']]})",
                    "package",
                    dotted(where),
                    entry["id"],
                )
            )
        else:
            seen[entry["id"]] = line_of(root, where)
    return issues
