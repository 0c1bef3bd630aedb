"""ics-data: the open data publishing pipeline of an NHS integrated care system (ICS).

A release is made in four stages, plain functions connected by plain values, composed in
`pipeline.stages.publish_release`::

    loaded = load_sources(sources, schemas)       # sources/: records keep their file and line
    validation = validate(loaded)                  # check/: never raises for bad data
    package = build_package(validation, output)    # build/ + changes/: every file, in memory
    publish(package, output)                       # release/: atomic rename, then the catalogue

The subpackages are layers; each imports only from the layers below it (top first):

- `pipeline.__main__`: `python -m pipeline`;
- `pipeline.cli`: the thin Click commands (the guided edits' among them) and their shared options;
- `pipeline.stages`: the story of a release, the four stages in one function;
- `pipeline.release`: build a package with its changes, publish it, the catalogue, verify;
- `pipeline.site | pipeline.upstream`: the static catalogue pages; refresh from the NHS files;
- `pipeline.changes`: snapshots, the change model, diffs, readings, changelog, version policy;
- `pipeline.archive`: reading the published releases;
- `pipeline.build`: the files of a release (CSV, JSON, formats, README, citation);
- `pipeline.check`: table checks, references, cross-record rules, claims, the structure;
- `pipeline.sources`: loading schemas, package metadata and source records;
- `pipeline.core`: issues, errors, the dataset model, versions, time bounds, file helpers.

`tests/test_layers.py` checks the order and that no import cycle exists, counting imports
inside functions.
"""

LAYERS = (
    "pipeline.__main__",
    "pipeline.cli",
    "pipeline.stages",
    "pipeline.release",
    "pipeline.site | pipeline.upstream",
    "pipeline.changes",
    "pipeline.archive",
    "pipeline.build",
    "pipeline.check",
    "pipeline.sources",
    "pipeline.core",
)


def __getattr__(name: str) -> str:
    """`pipeline.__version__`: the installed package's version, read when asked. pyproject.toml
    is its one source; a project `ics-data init` writes installs exactly this version."""
    if name == "__version__":
        from importlib.metadata import version

        return version("ics-data")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
