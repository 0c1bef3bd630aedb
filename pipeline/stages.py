"""The story of a release, in the four stages, each a plain function connected by plain values:

    load_sources -> validate -> build_package -> publish

`ics-data publish` calls `publish_release`; the other commands call the stages they need.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.check.validate import validate
from pipeline.core.model import Validation
from pipeline.release.plan import build_package
from pipeline.release.publish import PublishResult, publish
from pipeline.sources.project import load_sources


def publish_release(
    sources: Path, schemas: Path, output: Path, *, check: bool = False
) -> PublishResult:
    """Publish the release that SOURCES declare into OUTPUT (with `check`, write nothing)."""
    loaded = load_sources(sources, schemas)  # records keep their file and line
    validation = validate(loaded)  # never raises for bad data
    package = build_package(validation, output)  # every file, in memory; raises if invalid
    return publish(package, output, check=check)  # atomic rename; never rewrites a version


def publish_validated(
    validation: Validation, output: Path, *, check: bool = False
) -> PublishResult:
    """The last two stages, for sources already loaded and validated (a library caller's)."""
    return publish(build_package(validation, output), output, check=check)
