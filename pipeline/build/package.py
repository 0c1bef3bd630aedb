"""Build a release: turn validated records into a folder of files (nothing published yet).

Everything here is a pure function of the sources and schemas: no clock, no locale, no hash
seed, no machine. The same sources give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.build.citation import environment as citation_environment
from pipeline.build.citation import from_metadata, render_bib_file, render_cff
from pipeline.build.edition import edition_of
from pipeline.build.formats import render_formats
from pipeline.build.milestones import derived_rows
from pipeline.build.readme import render_readme
from pipeline.build.tables import CSV_DIALECT, write_csv, write_json
from pipeline.check.structure import structure_table
from pipeline.core.files import dump_json
from pipeline.core.filestore import FileStore, sha256_of, size_of
from pipeline.core.model import Dataset, Metadata, TableOut, sort_key
from pipeline.core.progress import SILENT, Progress

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"


def collect_tables(dataset: Dataset) -> list[TableOut]:
    """The tables of a release: the sources' tables (with derived rows) and the generated
    tables (`structure`), in name order."""
    tables = structure_table(dataset)
    extra = derived_rows(dataset)
    for name in sorted(dataset.tables):
        table = dataset.tables[name]
        descriptor = table.schema.descriptor
        rows = [row.values for row in table.rows] + extra.get(name, [])  # shared, not copied
        key = tuple(table.schema.primary_key) or tuple(table.schema.field_names)
        rows.sort(key=lambda r: sort_key(r, key))
        tables.append(
            TableOut(
                name,
                descriptor,
                tuple(rows),
                str(descriptor.get("title", name)),
                str(descriptor.get("description", "")),
                table.schema.frictionless,
            )
        )
    tables.sort(key=lambda t: t.name)
    return tables


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of a JSON resource: foreign keys point at the JSON forms of their tables."""
    out = dict(schema)
    keys = []
    for fk in schema.get("foreignKeys", []):
        ref = dict(fk["reference"])
        ref["resource"] = f"{ref['resource']}-json"
        keys.append({**fk, "reference": ref})
    if keys:
        out["foreignKeys"] = keys
    return out


def package_descriptor(
    metadata: Metadata, tables: Iterable[TableOut], files: Mapping[str, bytes]
) -> dict[str, Any]:
    data = metadata.data
    resources: list[dict[str, Any]] = []
    for table in tables:
        schema = {k: v for k, v in table.schema.items() if k not in ("title", "description")}
        for fmt in ("csv", "json"):
            path = f"data/{table.name}.{fmt}"
            resource: dict[str, Any] = {
                "name": table.name if fmt == "csv" else f"{table.name}-json",
                "type": "table",
                "title": table.title + ("" if fmt == "csv" else " (JSON)"),
                "description": table.description,
                "path": path,
                "format": fmt,
                "mediatype": "text/csv" if fmt == "csv" else "application/json",
                "encoding": "utf-8",
            }
            if fmt == "csv":
                # frictionless cannot measure JSON tables: a declared `bytes` there fails
                # validation (STACK_NOTES.md); every file's size is in `files` below instead
                resource["bytes"] = size_of(files, path)
                resource["dialect"] = CSV_DIALECT
            resource["hash"] = f"sha256:{sha256_of(files, path)}"
            resource["schema"] = schema if fmt == "csv" else json_schema(schema)
            resources.append(resource)
    sources = [
        {
            key: value
            for key, value in (
                ("id", s["id"]),
                ("title", " ".join(str(s["title"]).split())),
                ("path", s.get("path")),
                ("version", str(s["vintage"]) if s.get("vintage") is not None else None),
                ("sha256", s.get("sha256")),
            )
            if value is not None
        }
        for s in data["sources"]
    ]
    descriptor: dict[str, Any] = {
        "$schema": PROFILE,
        "name": metadata.name,
        "title": data["title"],
        "description": " ".join(str(data["description"]).split()),
        "version": metadata.version,
        "created": f"{metadata.release_date.isoformat()}T00:00:00Z",
        "homepage": data.get("homepage"),
        "url": data.get("url"),  # the package's own address, when package.yaml declares one
        "licenses": data["licenses"],
        "attribution": " ".join(str(data.get("attribution", "")).split()),
        "contributors": data.get("contributors", []),
        "keywords": data.get("keywords", []),
        "sources": sources,
        "resources": resources,
        "files": [
            {
                "path": path,
                "bytes": size_of(files, path),
                "hash": f"sha256:{sha256_of(files, path)}",
            }
            for path in sorted(files)
        ],
    }
    return {k: v for k, v in descriptor.items() if v not in (None, "")}


def build_files(
    dataset: Dataset,
    metadata: Metadata,
    extra_tables: Sequence[TableOut] = (),
    extra_files: Mapping[str, bytes] | None = None,
    tables: Sequence[TableOut] | None = None,
    progress: Progress = SILENT,
) -> FileStore:
    """Every file of the release, by its path inside the release folder. `extra_tables` (the
    change list) follow the sources' tables (`tables`, when the caller has built them already);
    `extra_files` (the changelog) sit beside README.md."""
    tables = [*(collect_tables(dataset) if tables is None else tables), *extra_tables]
    files = FileStore(dict(extra_files or {}))  # a large file waits on disk, not in memory
    progress.start(len(tables) + 1, "building the release")
    for table in tables:  # each written as it is made: a large table waits on disk
        with files.appender(f"data/{table.name}.csv") as write:
            write_csv(table, write)
        with files.appender(f"data/{table.name}.json") as write:
            write_json(table, write)
        progress.advance(f"data/{table.name}")
    # formats/: SQLite, XLSX, and Parquet from each table's CSV as written
    render_formats(tables, metadata, lambda name: files.open(f"data/{name}.csv"), into=files)
    progress.advance("formats")
    progress.finish()
    cite, env = from_metadata(metadata), citation_environment()  # one for both files
    files["CITATION.cff"] = render_cff(cite, env).encode("utf-8")
    if edition_of(metadata.release_date) >= 2:  # BibTeX too (`build.edition`)
        files["CITATION.bib"] = render_bib_file(cite, env).encode("utf-8")
    files["README.md"] = render_readme(metadata, tables).encode("utf-8")
    files["datapackage.json"] = dump_json(package_descriptor(metadata, tables, files))
    return files


def write_files(files: Mapping[str, bytes], folder: Path) -> None:
    for path in sorted(files):
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(files, FileStore):
            files.copy_to(path, target)  # a large file copied from its scratch file
        else:
            target.write_bytes(files[path])
