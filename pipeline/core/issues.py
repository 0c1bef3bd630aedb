"""Problems in the data, as values: collected, sorted, rendered; never raised."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from difflib import get_close_matches
from typing import Any

from pipeline.core.text import shorten

ERROR, WARNING = "error", "warning"
# The review gate (`pipeline.check.review`): warnings that validate lists and publish refuses
REVIEW_PENDING, PLACEHOLDER_PATH = "review-pending", "placeholder-path"
REVIEW_CODES = (REVIEW_PENDING, PLACEHOLDER_PATH)
MESSAGE_LIMIT, VALUE_LIMIT = 400, 200  # characters


@dataclass(frozen=True, order=True)
class Issue:
    """One problem, pointing at the line a person edits.

    `line` is 1-based and is the line of the field inside its record where it is known, else
    the line of the record, else 0 for the file as a whole.
    """

    file: str
    line: int
    code: str
    message: str
    resource: str = ""
    field: str = ""
    value: str = ""
    record: int = -1  # 0-based position of the record in its file, -1 for none
    # "error" stops a publish; "warning" is a finding worth a look that does not (an anomaly in
    # the publisher's own data, say): printed, counted, annotated, exit 0
    severity: str = "error"

    def __post_init__(self) -> None:
        # a hostile or huge value (a whole file read as one cell) is never printed whole
        object.__setattr__(self, "message", shorten(self.message, MESSAGE_LIMIT))
        object.__setattr__(self, "value", shorten(self.value, VALUE_LIMIT))

    @property
    def is_error(self) -> bool:
        return self.severity != WARNING

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def where(self) -> str:
        if not self.resource:
            return ""
        item = f"{self.resource}[{self.record}]" if self.record >= 0 else self.resource
        return f"{item}.{self.field}" if self.field else item

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validation: every issue at once, and the figures worth showing."""

    issues: tuple[Issue, ...]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No errors (warnings do not stop anything)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.is_error)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if not i.is_error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "issues": [issue.to_dict() for issue in self.issues],
            "summary": self.summary,
        }


def sort_issues(issues: Iterable[Issue]) -> tuple[Issue, ...]:
    return tuple(sorted(set(issues), key=lambda i: (i.file, i.line, i.code, i.field, i.message)))


def quote(value: object) -> str:
    """A value as it appears in a message: strings quoted, so blanks and spaces are visible."""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    return shorten(text)


def did_you_mean(value: str, choices: Iterable[str], n: int = 3) -> str:
    """ "; did you mean ...?" with the nearest valid values (difflib's ratio, the case ignored),
    or nothing when none is near: a typo such as `east-kentt` is answered with `east-kent`."""
    options = {str(c).casefold(): str(c) for c in choices if c is not None}
    near = get_close_matches(value.casefold(), list(options), n=n, cutoff=0.6)
    if not near:
        return ""
    return "; did you mean " + " or ".join(quote(options[c]) for c in near) + "?"


SOURCE_ADVICE = "Fix the source records, or the schema if it is wrong."
RELEASE_ADVICE = (
    "A published release never changes: restore it from the archive (git checkout output/) "
    "or from its zip."
)


def render_text(issues: Sequence[Issue], advice: str = SOURCE_ADVICE) -> str:
    lines = []
    for issue in issues:
        where = issue.where()
        parts = [issue.location()]
        if where:
            parts.append(where)
        parts.append(issue.message)
        tag = issue.code if issue.is_error else f"{issue.code}, warning"
        lines.append("  ".join(parts) + f"   [{tag}]")
    errors = [i for i in issues if i.is_error]
    warnings = len(issues) - len(errors)
    files = len({issue.file for issue in errors})
    fnoun = "file" if files == 1 else "files"
    wnoun = "warning" if warnings == 1 else "warnings"
    if errors:
        noun = "problem" if len(errors) == 1 else "problems"
        also = f" and {warnings} {wnoun}" if warnings else ""
        lines.append(f"{len(errors)} {noun}{also} in {files} {fnoun}. {advice}")
    elif gate := sum(1 for i in issues if i.code in REVIEW_CODES):
        what = "it awaits" if gate == 1 else f"{gate} of them await"
        lines.append(
            f"{warnings} {wnoun}, no problems; {what} review, and publish refuses until cleared."
        )
    elif warnings:
        lines.append(f"{warnings} {wnoun}, no problems: nothing here stops a publish.")
    else:
        lines.append(f"0 problems in 0 files. {advice}")
    return "\n".join(lines)


def _github_escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(issues: Sequence[Issue]) -> str:
    """GitHub Actions workflow commands: each problem lands as an annotation on its line."""
    out = []
    for issue in issues:
        props = [f"file={_github_escape(issue.file, property_value=True)}"]
        if issue.line:
            props.append(f"line={issue.line}")
        props.append(f"title={_github_escape(issue.code, property_value=True)}")
        where = issue.where()
        message = f"{where}: {issue.message}" if where else issue.message
        command = "error" if issue.is_error else "warning"
        out.append(f"::{command} {','.join(props)}::{_github_escape(message)}")
    return "\n".join(out)
