"""The shipped sources published once per test session into a temporary OUTPUT, shared by the
tests of the dated views, the formats and the site (publishing takes a few seconds)."""

from __future__ import annotations

import functools
from pathlib import Path

from conftest import SCHEMAS, first_release_output, first_release_sources, schema_set

from pipeline.archive import find_releases
from pipeline.check.validate import validate_project
from pipeline.core.model import Validation


@functools.cache  # validating takes seconds; the result is never changed by a test
def shipped_validation() -> Validation:
    validation = validate_project(first_release_sources(), schema_set(SCHEMAS))
    assert validation.report.ok, validation.report.issues[:5]
    return validation


def shipped_output() -> Path:
    """OUTPUT holding the shipped release, published once per session (`first_release_output`).
    Read only: a test that changes it copies it first."""
    return first_release_output()


def release_folder(output: Path) -> Path:
    (folder,) = [r.path for r in find_releases(output)]
    return folder
