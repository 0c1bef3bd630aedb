"""Reasons the pipeline cannot go on.

Problems *in the data* are `Issue` values (see `pipeline.core.issues`) and are never raised. The
exceptions here stop a command; each carries a `hint` telling the user what to do, and the CLI
turns them into a message in exactly one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.core.issues import Issue


class PipelineError(Exception):
    """A reason the pipeline cannot go on, with a hint for the user."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ProjectError(PipelineError):
    """The project folders (sources, schemas, output) are missing or unusable."""


class ReleaseError(PipelineError):
    """A release cannot be written, or a written one is not what it should be."""


class InvalidSources(PipelineError):
    """The sources hold problems, so nothing can be built from them; `issues` lists them all."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__(
            f"the sources are not valid ({len(issues)} problems)", hint="run ics-data validate"
        )
        self.issues = tuple(issues)
