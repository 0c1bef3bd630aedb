"""The first stage: load a project's schemas, package metadata and source records, each kept
with its file and line. Problems come back as issues; only unusable folders raise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import ProjectError
from pipeline.core.files import display_path, recover_files
from pipeline.core.issues import Issue
from pipeline.core.model import Metadata, ResourceSchema, SourceTable
from pipeline.sources.load import find_source, load_source_files
from pipeline.sources.metadata import load_metadata
from pipeline.sources.schemas import load_schemas, resource_name


@dataclass(frozen=True)
class LoadedSources:
    """What `load_sources` read: every schema, the metadata, every source table, and the
    problems met while reading them (the records are not yet checked)."""

    schemas: dict[str, ResourceSchema]
    metadata: Metadata | None
    tables: dict[str, SourceTable]
    issues: tuple[Issue, ...]


def load_sources(sources: Path, schemas: Path) -> LoadedSources:
    """Read the schemas in SCHEMAS, then `package.yaml` and one source file per schema in
    SOURCES."""
    check_folders(sources, schemas)
    recover_files(sources)  # a refresh killed between its renames is completed first
    issues: list[Issue] = []
    found, problems_schemas = load_schemas(schemas)
    issues.extend(problems_schemas)
    metadata, problems = load_metadata(sources)
    issues.extend(problems)
    loaded = load_source_files(sources, found)
    # A resource whose schema is broken is reported at the schema, not as a source without one.
    broken = {problem.resource for problem in problems_schemas if problem.resource}
    issues.extend(
        i for i in loaded.issues if not (i.code == "unknown-resource" and i.resource in broken)
    )
    return LoadedSources(found, metadata, loaded.tables, tuple(issues))


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
