"""Reasons the pipeline cannot go on.

Problems *in the data* are `Issue` values (see `pipeline.core.issues`) and are never raised. The
exceptions here stop a command; each carries a `hint` telling the user what to do, and the CLI
turns them into a message in exactly one place.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

from pipeline.core.issues import Issue

# Exit codes (README, "Security and integrity"): 0 success, 1 invalid data or a refused
# operation (or an OS error), 2 a usage mistake, 3 a release published whose catalogue could not
# be updated, 130 interrupted (Ctrl-C).
EXIT_REFUSED, EXIT_CATALOGUE, EXIT_INTERRUPTED = 1, 3, 130


class PipelineError(Exception):
    """A reason the pipeline cannot go on, with a hint for the user."""

    exit_code = EXIT_REFUSED

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


class CatalogueNotUpdated(ReleaseError):
    """The release is published (renamed into place and synced), but what stands beside it
    (catalog.json, CHANGELOG.md, the site) could not be rewritten: `ics-data site` completes it."""

    def __init__(self, version: str, output: str, cause: BaseException) -> None:
        reason = "interrupted" if isinstance(cause, KeyboardInterrupt) else describe_os_error(cause)
        super().__init__(
            f"release {version} published; the catalogue could not be updated: {reason}",
            hint=f"run `ics-data site --output {output}` (the next publish also completes it)",
        )
        self.version = version
        self.exit_code = (
            EXIT_INTERRUPTED if isinstance(cause, KeyboardInterrupt) else EXIT_CATALOGUE
        )


def describe_os_error(exc: BaseException) -> str:
    """An OS error as one line naming the path: "No space left on device: output/x"."""
    if isinstance(exc, OSError):
        what = exc.strerror or type(exc).__name__
        path = exc.filename if exc.filename is not None else ""
        return f"{what}: {path}" if path else what
    return str(exc) or type(exc).__name__


def os_error_hint(exc: OSError) -> str:
    """What to do about an OS error, by its errno."""
    hints = {
        errno.EACCES: "check the folder's permissions, or pass another folder",
        errno.EPERM: "check the folder's permissions, or pass another folder",
        errno.EROFS: "the file system is read-only: pass a folder you can write",
        errno.ENOSPC: "free some disk space, then run the command again",
        errno.EDQUOT: "free some disk space (quota), then run the command again",
        errno.ENOTDIR: "a part of the path is a file, not a folder: pass another path",
        errno.EISDIR: "the path is a folder where a file is expected",
        errno.ENOENT: "check the path",
        errno.EMFILE: "too many open files: close some programs and run it again",
    }
    return hints.get(exc.errno or 0, "check the path and run the command again")
