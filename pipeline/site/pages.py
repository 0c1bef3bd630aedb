"""The static catalogue in OUTPUT: `index.html` listing every release, `releases/<version>.html`
for each, and `dcat.jsonld`, all regenerated from the release folders (like catalog.json).

Everything a page shows comes from a release's own files (its datapackage.json, CSV tables,
CHANGELOG.md if any), so an old release is described as it was published. Links are relative:
the site works opened from disk and on any static host. Pages are rendered by jinja2 templates
(`templates/site_*.html.j2`); this module only gathers the values they show.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2
import markupsafe

from pipeline.archive import STAGING_PREFIX, ReleaseInfo, find_releases, read_descriptor, zip_name
from pipeline.build import citation
from pipeline.core.files import file_sha256, write_if_changed
from pipeline.core.templating import template_environment
from pipeline.core.text import link_target, local_target
from pipeline.site import jsonld
from pipeline.site.chart import Chart, structure_chart
from pipeline.site.explore import LIST_LIMIT, PREVIEW_PAGE, Explore, ReleaseTables, explore

PREVIEW_ROWS = PREVIEW_PAGE  # rows a preview shows without script; the page's script pages on
NARROW_WIDTH = 400  # the structure chart drawn one partnership per row, for a phone
INDEX = "index.html"
PAGES = "releases"
DCAT = "dcat.jsonld"
# label and media type of a file, by how its path ends
KINDS = (
    (".zip", "Zip of the whole release", "application/zip"),
    ("datapackage.json", "Frictionless data package descriptor", "application/json"),
    (".metadata.json", "Datasette metadata", "application/json"),
    (".csv", "CSV", "text/csv"),
    (".json", "JSON", "application/json"),
    (".parquet", "Parquet", "application/vnd.apache.parquet"),
    (".sqlite", "SQLite database", "application/vnd.sqlite3"),
    (
        ".xlsx",
        "Excel workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("CITATION.cff", "Citation File Format", "application/yaml"),
    (".md", "Markdown", "text/markdown"),
)


@dataclass(frozen=True)
class Download:
    path: str  # relative to OUTPUT
    name: str  # as shown: the path inside the release, or the zip's name
    label: str
    mediatype: str
    bytes: int
    sha256: str
    resource: str = ""  # the table it holds, for per-table files

    @property
    def size(self) -> str:
        return human_size(self.bytes)


@dataclass(frozen=True)
class FieldView:
    name: str
    type: str
    title: str
    description: str
    constraints: tuple[tuple[str, str], ...]
    key: bool
    reference: str  # "resource.field" or ""
    reference_resource: str


@dataclass(frozen=True)
class ResourceView:
    name: str
    title: str
    description: str
    rows: int
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...]  # (fields, resource, its fields)
    fields: tuple[FieldView, ...]
    preview_header: tuple[str, ...]
    preview: tuple[tuple[str, ...], ...]
    downloads: tuple[Download, ...]
    all_rows: tuple[tuple[str, ...], ...] = ()  # every row, for the paged preview


@dataclass(frozen=True)
class ReleaseView:
    version: str
    released: str
    title: str
    description: str
    descriptor: dict[str, Any]
    zip: Download | None
    package_files: tuple[Download, ...]  # whole-package files: descriptor, SQLite, XLSX, docs
    resources: tuple[ResourceView, ...]
    chart: Chart | None
    narrow_chart: Chart | None
    explore: Explore
    changes: str
    first: bool
    cite: citation.Citation

    @property
    def downloads(self) -> tuple[Download, ...]:
        table_files = tuple(d for r in self.resources for d in r.downloads)
        return ((self.zip,) if self.zip else ()) + self.package_files + table_files

    @property
    def total_bytes(self) -> int:
        return sum(d.bytes for d in self.downloads if d is not self.zip)

    @property
    def page(self) -> str:
        return f"{PAGES}/{self.version}.html"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def kind_of(path: str) -> tuple[str, str]:
    for ending, label, mediatype in KINDS:
        if path.endswith(ending):
            return label, mediatype
    return "File", "application/octet-stream"


def _key(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def changelog_summary(text: str) -> str:
    """The first paragraph (or list) of a CHANGELOG.md under its headings, as plain text."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not lines):
            if lines:
                break
            continue
        if not line:
            break
        lines.append(re.sub(r"^[-*+]\s+", "", line))
    summary = "; ".join(lines) if len(lines) > 1 else "".join(lines)
    return re.sub(r"[`*_]", "", summary)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        return [], []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return (rows[0], rows[1:]) if rows else ([], [])


def constraints_of(field: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(name, value) of each constraint; value empty for flags (required, unique)."""
    out = []
    for name, value in field.get("constraints", {}).items():
        if name in ("required", "unique"):
            if value:
                out.append((name, ""))
        elif name == "enum":
            out.append(("one of", ", ".join(map(str, value))))
        else:
            out.append((name, str(value)))
    return tuple(out)


def resource_view(
    tables: ReleaseTables, resource: dict[str, Any], files: dict[str, Download], limit: int
) -> ResourceView:
    schema = resource.get("schema", {})
    header, rows = tables.csv(str(resource["path"]))
    references: dict[str, tuple[str, str]] = {}
    foreign = []
    for fk in schema.get("foreignKeys", []):
        ref = fk["reference"]
        target = ref.get("resource") or resource["name"]
        for here, there in zip(_key(fk["fields"]), _key(ref["fields"]), strict=True):
            references[here] = (target, f"{target}.{there}")
        foreign.append((", ".join(_key(fk["fields"])), target, ", ".join(_key(ref["fields"]))))
    key = _key(schema.get("primaryKey"))
    name = resource["name"]
    return ResourceView(
        name=name,
        title=str(resource.get("title", name)),
        description=" ".join(str(resource.get("description", "")).split()),
        rows=len(rows),
        primary_key=key,
        foreign_keys=tuple(foreign),
        fields=tuple(
            FieldView(
                f["name"],
                f["type"],
                str(f.get("title", "")),
                " ".join(str(f.get("description", "")).split()),
                constraints_of(f),
                f["name"] in key,
                references.get(f["name"], ("", ""))[1],
                references.get(f["name"], ("", ""))[0],
            )
            for f in schema.get("fields", [])
        ),
        preview_header=tuple(header),
        preview=tuple(tuple(r) for r in rows[:PREVIEW_ROWS]),
        downloads=tuple(d for d in files.values() if d.resource == name),
        all_rows=tuple(tuple(r) for r in rows) if len(rows) <= limit else (),
    )


def release_files(info: ReleaseInfo, descriptor: dict[str, Any]) -> dict[str, Download]:
    """datapackage.json and every file it lists, each with the table it holds (if one)."""
    tables = {r["path"]: r["name"].removesuffix("-json") for r in descriptor.get("resources", [])}
    package = info.path / "datapackage.json"
    entries = [
        {
            "path": "datapackage.json",
            "bytes": package.stat().st_size,
            "hash": f"sha256:{file_sha256(package)}",
        },
        *descriptor.get("files", []),
    ]
    files = {}
    for entry in entries:
        path = str(entry["path"])
        resource = Path(path).stem if path.endswith(".parquet") else tables.get(path, "")
        files[path] = Download(
            f"{info.version}/{path}",
            path,
            *kind_of(path),
            int(entry["bytes"]),
            str(entry["hash"]).removeprefix("sha256:"),
            resource,
        )
    return files


def release_chart(folder: Path, narrow: bool = False) -> Chart | None:
    """The structure chart, from the release's own structure, partnerships and ics tables:
    the partnerships side by side, or (`narrow`) one per row for a phone."""
    if not (folder / "data" / "structure.csv").is_file():
        return None  # a release published before the structure table existed
    header, partnerships = read_csv(folder / "data" / "partnerships.csv")
    ics_header, ics_rows = read_csv(folder / "data" / "ics.csv")
    layout: dict[str, Any] = (
        {"per_row": 1, "total_width": NARROW_WIDTH, "chart_id": "structure-chart-narrow"}
        if narrow
        else {}
    )
    return structure_chart(
        (folder / "data" / "structure.csv").read_text(encoding="utf-8"),
        [dict(zip(header, row, strict=True)) for row in partnerships],
        dict(zip(ics_header, ics_rows[0], strict=True)) if ics_rows else {},
        **layout,
    )


def release_view(info: ReleaseInfo, output: Path, first: bool, limit: int) -> ReleaseView:
    descriptor = read_descriptor(info.path)
    files = release_files(info, descriptor)
    zip_path = output / zip_name(str(descriptor.get("name", "")), info.version)
    archive = None
    if zip_path.is_file():
        archive = Download(
            zip_path.name,
            zip_path.name,
            *kind_of(zip_path.name),
            zip_path.stat().st_size,
            file_sha256(zip_path),
        )
    changelog = info.path / "CHANGELOG.md"
    changes = changelog_summary(changelog.read_text(encoding="utf-8")) if changelog.exists() else ""
    resources = [r for r in descriptor.get("resources", []) if r.get("format") == "csv"]
    released = str(descriptor.get("created", ""))[:10]
    tables = ReleaseTables(info.path)  # each file read once for the page
    explored = explore(info.path, released, limit, tables)  # it knows if the release is listed
    return ReleaseView(
        version=info.version,
        released=released,
        title=str(descriptor.get("title", "")),
        description=str(descriptor.get("description", "")),
        descriptor=descriptor,
        zip=archive,
        package_files=tuple(d for d in files.values() if not d.resource),
        resources=tuple(resource_view(tables, r, files, limit) for r in resources),
        chart=release_chart(info.path) if explored.listed else None,
        narrow_chart=release_chart(info.path, narrow=True) if explored.listed else None,
        explore=explored,
        changes=changes,
        first=first,
        cite=citation.from_descriptor(descriptor),
    )


def environment() -> jinja2.Environment:
    """The environment of the site's templates (and the citations it shows), for one render of
    the site: each template is compiled once in it."""
    env = template_environment(
        ("html", "html.j2", "svg.j2"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters["filesize"] = human_size
    env.filters["anchor"] = anchor
    env.filters["local"] = local_target
    cite = citation.environment()
    env.filters["cite_text"] = functools.partial(citation.render_text, env=cite)
    env.filters["cite_bibtex"] = functools.partial(citation.render_bibtex, env=cite)
    return env


def anchor(url: object, label: object) -> markupsafe.Markup:
    """A link to URL labelled LABEL when URL is http(s) or mailto; else the label as text."""
    target = link_target(url)
    if not target:
        return markupsafe.escape(label)
    return markupsafe.Markup('<a href="{}">{}</a>').format(target, label)


def render_site(output: Path, limit: int = LIST_LIMIT) -> dict[str, bytes]:
    """Every file of the site, by its path inside OUTPUT. A release page lists and carries at
    most LIMIT rows of a table (`site.explore.LIST_LIMIT`)."""
    infos = find_releases(output)
    views = [release_view(info, output, i == 0, limit) for i, info in enumerate(infos)]
    env = environment()
    files: dict[str, bytes] = {}
    newest = views[-1] if views else None
    for view in views:
        variables = sorted({f.title or f.name for r in view.resources for f in r.fields})
        data = jsonld.dataset_jsonld(view.descriptor, view.downloads, "../", variables)
        page = env.get_template("site_release.html.j2").render(
            release=view, root="../", jsonld=data, newest=newest, list_limit=limit
        )
        files[view.page] = page.encode("utf-8")
    index = env.get_template("site_index.html.j2").render(
        releases=list(reversed(views)), newest=newest, root=""
    )
    files[INDEX] = index.encode("utf-8")
    dcat = jsonld.catalogue_dcat([(v.descriptor, v.downloads) for v in views])
    files[DCAT] = (json.dumps(dcat, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return files


def write_site(output: Path) -> list[Path]:
    """Write the site into OUTPUT (each changed file replaced atomically) and remove pages of
    releases that are no longer there. Returns the files written."""
    files = render_site(output)
    written = []
    # the release pages first: the index and dcat.jsonld never link a page not yet written
    for path, content in sorted(files.items(), key=lambda item: (item[0] in (INDEX, DCAT), item)):
        target = output / path
        temporary = output / f"{STAGING_PREFIX}site-{path.replace('/', '-')}"
        if write_if_changed(target, content, temporary):  # a no-op publish touches nothing
            written.append(target)
    pages = output / PAGES
    if pages.is_dir():
        for stale in pages.glob("*.html"):
            if f"{PAGES}/{stale.name}" not in files:
                stale.unlink()
    return written
