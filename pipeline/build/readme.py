"""The release's README.md: a human data dictionary generated from the schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

from pipeline.build.cells import TextWriter, cell_text, field_types
from pipeline.build.citation import from_metadata, render_text
from pipeline.build.edition import edition_of
from pipeline.core.model import Metadata, TableOut
from pipeline.core.templating import template_environment
from pipeline.core.text import link_target


def environment() -> jinja2.Environment:
    """The environment of the release README's template, for one render."""
    env = template_environment(
        False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = md_cell
    env.filters["line"] = md_line
    env.filters["md_link"] = md_link
    return env


def md_line(value: object) -> str:
    """Text as one Markdown line: line breaks folded (a value can start no heading, list or link
    of its own) and `<` written as an entity (no raw HTML)."""
    return " ".join(str(value).split()).replace("<", "&lt;")


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    return md_line(value).replace("|", "\\|")


def md_link(url: object, label: str) -> str:
    """[LABEL](URL) for an http(s) or mailto URL; else the label alone, and the path as code."""
    target = link_target(url)
    if target:
        return (
            f"[{label}](<{target}>)" if "(" in target or ")" in target else f"[{label}]({target})"
        )
    if url:
        return f"{label} (`{md_line(url).replace('`', '')}`)"
    return label


def constraints_text(field: dict[str, Any], key: Sequence[str]) -> str:
    parts = []
    if field["name"] in key:
        parts.append("key")
    for name, value in field.get("constraints", {}).items():
        if name == "required" and value:
            parts.append("required")
        elif name == "unique" and value:
            parts.append("unique")
        elif name == "enum":
            parts.append("one of " + ", ".join(f"`{v}`" for v in value))
        elif name == "pattern":
            parts.append(f"pattern `{value}`")
        else:
            parts.append(f"{name} {value}")
    return "; ".join(parts)


def example_value(table: TableOut, name: str, fields: dict[str, TextWriter]) -> str:
    for row in table.rows:
        if row.get(name) is not None:
            return cell_text(fields[name], row[name])
    return ""


def dictionary(table: TableOut) -> list[dict[str, str]]:
    key = table.schema.get("primaryKey", [])
    key = [key] if isinstance(key, str) else key
    fields = dict(field_types(table))
    return [
        {
            "name": f["name"],
            "type": f["type"],
            "title": f.get("title", ""),
            "description": f.get("description", ""),
            "constraints": constraints_text(f, key),
            "example": example_value(table, f["name"], fields),
        }
        for f in table.schema["fields"]
    ]


def foreign_keys(table: TableOut) -> list[str]:
    out = []
    for fk in table.schema.get("foreignKeys", []):
        fields = fk["fields"] if isinstance(fk["fields"], list) else [fk["fields"]]
        ref = fk["reference"]
        ref_fields = ref["fields"] if isinstance(ref["fields"], list) else [ref["fields"]]
        out.append(f"{', '.join(fields)} -> {ref['resource']}.{', '.join(ref_fields)}")
    return out


def citation(metadata: Metadata) -> str:
    if edition_of(metadata.release_date) >= 2:  # the text citation of CITATION.cff's release
        return render_text(from_metadata(metadata))
    data = metadata.data
    return (
        f"{data['title']}, version {metadata.version} ({metadata.release_date.isoformat()}). "
        f"{metadata.name}. {data.get('homepage', '')}"
    ).strip()


def quickstart(tables: Sequence[TableOut]) -> dict[str, str] | None:
    """What the researcher's quick start needs: registered patients and PCNs in the release."""
    names = {t.name: t for t in tables}
    if "pcns" not in names or "registered_patients" not in names:
        return None
    days = [row.get("extract_date") for row in names["registered_patients"].rows]
    known = [d for d in days if d is not None]
    if not known:
        return None
    return {"extract_date": str(max(known))}


def render_readme(metadata: Metadata, tables: Sequence[TableOut]) -> str:
    template = environment().get_template("release_readme.md.j2")
    return template.render(
        quickstart=quickstart(tables),
        edition=edition_of(metadata.release_date),
        meta=metadata.data,
        name=metadata.name,
        version=metadata.version,
        release_date=metadata.release_date.isoformat(),
        description=" ".join(str(metadata.data["description"]).split()),
        attribution=" ".join(str(metadata.data.get("attribution", "")).split()),
        citation=citation(metadata),
        tables=[
            {
                "name": t.name,
                "title": t.title,
                "description": " ".join(t.description.split()),
                "rows": len(t.rows),
                "key": ", ".join(
                    [t.schema["primaryKey"]]
                    if isinstance(t.schema.get("primaryKey"), str)
                    else t.schema.get("primaryKey", [])
                ),
                "foreign_keys": foreign_keys(t),
                "fields": dictionary(t),
            }
            for t in tables
        ],
        sources=metadata.data.get("sources", []),
    )
