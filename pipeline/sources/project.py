"""The first stage: load a project's schemas, package metadata and source records, each kept
with its file and line. Problems come back as issues; only unusable folders raise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pipeline.core.errors import ProjectError
from pipeline.core.files import display_path, recover_files
from pipeline.core.issues import Issue
from pipeline.core.model import Metadata, ResourceSchema, SourceTable
from pipeline.sources.load import NO_OVERLAY, Overlay, find_source, load_source_files
from pipeline.sources.metadata import load_metadata
from pipeline.sources.schemas import load_schemas, resource_name


@dataclass(frozen=True)
class LoadedSources:
    """What `load_sources` read: every schema, the metadata, every source table, and the
    problems met while reading them (the records are not yet checked); `schema_issues` are the
    schemas' own."""

    schemas: dict[str, ResourceSchema]
    metadata: Metadata | None
    tables: dict[str, SourceTable]
    issues: tuple[Issue, ...]
    schema_issues: tuple[Issue, ...] = ()


@dataclass(frozen=True)
class SchemaSet:
    """The Table Schemas of a folder, read and checked: each valid one (with the frictionless
    Schema checking it built) and the problems of the others. A caller that loads many sources
    folders against one schemas folder (`init` for each ICB, a test suite) reads it once and
    passes the set along."""

    folder: Path
    schemas: dict[str, ResourceSchema]
    issues: tuple[Issue, ...]


def read_schemas(schemas: Path) -> SchemaSet:
    """The Table Schemas in the folder SCHEMAS, checked."""
    found, problems = load_schemas(schemas)
    return SchemaSet(schemas, found, tuple(problems))


def load_sources(sources: Path, schemas: Path | SchemaSet) -> LoadedSources:
    """Read the schemas in SCHEMAS (a folder, or a set read from one), then `package.yaml` and one
    source file per schema in SOURCES."""
    folder = schemas.folder if isinstance(schemas, SchemaSet) else schemas
    check_folders(sources, folder)
    recover_files(sources)  # a refresh killed between its renames is completed first
    found = schemas if isinstance(schemas, SchemaSet) else read_schemas(folder)
    return _load_files(sources, found.schemas, found.issues, NO_OVERLAY)


def reload_sources(
    before: LoadedSources,
    sources: Path,
    texts: Mapping[str, str],
    removed: Iterable[str] = (),
) -> LoadedSources:
    """BEFORE, the sources in SOURCES as loaded, as a change would leave them, nothing written:
    each file named in TEXTS holding its text there, each named in REMOVED gone. The schemas are
    BEFORE's, and so is every file the change leaves alone that BEFORE read without a problem:
    only what the change writes is read (from TEXTS) and checked again."""
    gone = frozenset(removed)
    troubled = {issue.file for issue in before.issues}
    kept = {
        table.path.name: table
        for table in before.tables.values()
        if table.path.name not in texts
        and table.path.name not in gone
        and table.file not in troubled
    }
    package = sources / "package.yaml"
    metadata = before.metadata
    if package.name in texts or package.name in gone or display_path(package) in troubled:
        metadata = None
    overlay = Overlay(MappingProxyType(dict(texts)), gone, MappingProxyType(kept), metadata)
    return _load_files(sources, before.schemas, before.schema_issues, overlay)


def _load_files(
    sources: Path,
    schemas: dict[str, ResourceSchema],
    schema_issues: tuple[Issue, ...],
    overlay: Overlay,
) -> LoadedSources:
    """`package.yaml` and one source file per schema in SOURCES, as OVERLAY leaves them."""
    issues: list[Issue] = list(schema_issues)
    metadata, problems = load_metadata(sources, overlay)
    issues.extend(problems)
    loaded = load_source_files(sources, schemas, overlay)
    # A resource whose schema is broken is reported at the schema, not as a source without one.
    broken = {problem.resource for problem in schema_issues if problem.resource}
    issues.extend(
        i for i in loaded.issues if not (i.code == "unknown-resource" and i.resource in broken)
    )
    return LoadedSources(schemas, metadata, loaded.tables, tuple(issues), schema_issues)


def check_folders(sources: Path, schemas: Path) -> None:
    for label, path in (("sources", sources), ("schemas", schemas)):
        if not path.is_dir():
            raise ProjectError(
                f"{label} folder {display_path(path)} does not exist",
                hint=f"run from the project folder or pass --{label} DIR",
            )
    # A wrong folder (or the two swapped) is one mistake, not a missing file per resource.
    resources = {name for path in schemas.iterdir() if (name := resource_name(path))}
    if not resources:
        raise ProjectError(
            f"schemas folder {display_path(schemas)} holds no Table Schemas",
            hint="pass --schemas DIR: the folder of <resource>.schema.yaml files",
        )
    if not (sources / "package.yaml").exists() and not any(
        find_source(sources, resource) for resource in resources
    ):
        raise ProjectError(
            f"sources folder {display_path(sources)} holds no package.yaml and no source records",
            hint="pass --sources DIR: the folder of package.yaml and <resource>.yaml or .csv",
        )
