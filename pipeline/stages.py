"""The story of a release, in the four stages, each a plain function connected by plain values:

    load_sources -> validate -> build_package -> publish

`ics-data publish` calls `publish_release`; the other commands call the stages they need.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.progress import SILENT, Progress
from pipeline.release.fingerprint import fingerprint_of, remember, unchanged_release
from pipeline.release.result import PublishResult

if TYPE_CHECKING:
    from pipeline.core.model import Validation


def publish_release(
    sources: Path,
    schemas: Path,
    output: Path,
    *,
    check: bool = False,
    rebuild: bool = False,
    allow_skip: bool = False,
    progress: Progress = SILENT,
) -> PublishResult:
    """Publish the release that SOURCES declare into OUTPUT (with `check`, write nothing).

    A release already published from the very same inputs is found by its fingerprint, without
    building it; `rebuild` builds it anyway and compares every byte."""
    fingerprint = fingerprint_of(sources, schemas, output)  # what the release's bytes depend on
    if fingerprint and not rebuild and (same := unchanged_release(output, fingerprint)):
        return same
    # The stages are loaded only when a release is built: a no-op publish needs none of them.
    from pipeline.check.validate import validate
    from pipeline.release.plan import build_package
    from pipeline.release.publish import publish
    from pipeline.sources.project import load_sources

    loaded = load_sources(sources, schemas)  # records keep their file and line
    validation = validate(loaded)  # never raises for bad data
    package = build_package(validation, output, progress, allow_skip=allow_skip)  # every file
    result = publish(package, output, check=check, allow_skip=allow_skip)  # atomic rename
    if fingerprint and result.status == "published" and result.version == fingerprint.version:
        remember(output, fingerprint)  # beside the release; a no-op writes nothing at all
    return result


def publish_validated(
    validation: Validation, output: Path, *, check: bool = False, allow_skip: bool = False
) -> PublishResult:
    """The last two stages, for sources already loaded and validated (a library caller's)."""
    from pipeline.release.plan import build_package
    from pipeline.release.publish import publish

    package = build_package(validation, output, allow_skip=allow_skip)
    return publish(package, output, check=check, allow_skip=allow_skip)
