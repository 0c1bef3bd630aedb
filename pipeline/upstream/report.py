"""The report of a refresh, for a person (text, markdown for a pull request) or a program (json).

Reading order is review order: which files were read and what was kept of them, what changed
in the facts (the semantic diff of the sources before and after, rendered as `ics-data diff`
renders it), what a person must check before publishing, and the version bump it implies.
"""

from __future__ import annotations

import json

from pipeline.changes import changelog
from pipeline.upstream.refresh import RefreshReport
from pipeline.upstream.registry import KIND_LABELS


def render_refresh(report: RefreshReport, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    if fmt == "markdown":
        return _markdown(report)
    return _text(report)


def _status(report: RefreshReport) -> str:
    if not report.files:
        return "no change: the sources already hold these facts"
    if report.written:
        return f"written: {', '.join(report.files)}"
    return f"dry run: nothing written (would change {', '.join(report.files)})"


def _inputs(report: RefreshReport) -> list[str]:
    lines = []
    for upstream in report.inputs:
        entry = upstream.entry
        known = "registered" if upstream.registered else "new: added to package.yaml"
        lines.append(
            f"{upstream.path.name}: {KIND_LABELS[upstream.kind]} of {upstream.vintage}, "
            f"source {entry.id} ({known}); kept {upstream.detail}; sha256 {upstream.sha256}"
        )
    return lines


def _not_compared(report: RefreshReport) -> str:
    return (
        f"The sources before the refresh were not valid ({report.before_issues} issues; ics-data "
        "validate lists them), so there is no diff to show: after it, ics-data diff latest "
        "sources compares them with the newest release."
    )


def _version(report: RefreshReport) -> str:
    if report.bump is None:
        return "Version: not worked out (the sources before were not valid); make diff gives it."
    if report.bump == "none":
        return f"Version: no bump needed ({report.version})."
    return (
        f"Version: a {report.bump} bump: {report.version} -> {report.next_version}. "
        "Plan the release with ics-data release --date YYYY-MM-DD (it sets version and "
        "release_date in sources/package.yaml), then make publish."
    )


def _warnings(report: RefreshReport) -> str:
    shown = ", ".join(f"{code} {count}" for code, count in report.warnings.items())
    return (
        f"Warnings in the refreshed sources (kept as published; ics-data validate lists each, "
        f"a recorded decision in decisions.yaml resolves one): {shown}"
    )


def _text(report: RefreshReport) -> str:
    out = [f"ics-data refresh of {report.sources}: {_status(report)}", ""]
    out.append(f"Upstream files (rows kept by the codes {', '.join(report.codes)}):")
    out.extend(f"  {line}" for line in _inputs(report))
    if report.diff is not None:
        out += ["", "What changed (as ics-data diff shows it):"]
        out.extend(f"  {line}".rstrip() for line in changelog.render_text(report.diff).splitlines())
    elif report.files:
        out += ["", _not_compared(report)]
    review = report.review
    if review:
        out += ["", f"Review before publishing ({len(review)}):"]
        out.extend(f"  - [{note.code}] {note.message}" for note in review)
    if report.warnings:
        out += ["", _warnings(report)]
    out += ["", _version(report)]
    return "\n".join(out)


def _markdown(report: RefreshReport) -> str:
    out = [f"## ics-data refresh of `{report.sources}`", "", f"**{_status(report)}**", ""]
    out += ["### Upstream files", ""]
    out += ["| file | what | vintage | source id | kept | sha256 |", "|---|---|---|---|---|---|"]
    for upstream in report.inputs:
        known = "" if upstream.registered else " (new)"
        out.append(
            f"| `{upstream.path.name}` | {KIND_LABELS[upstream.kind]} | {upstream.vintage} | "
            f"`{upstream.entry.id}`{known} | {upstream.detail} | `{upstream.sha256[:12]}…` |"
        )
    if report.diff is not None:
        out += ["", changelog.render_markdown(report.diff).rstrip("\n")]
    elif report.files:
        out += ["", _not_compared(report)]
    review = report.review
    if review:
        out += ["", "### Review before publishing", ""]
        out.extend(f"- [ ] **{note.code}**: {note.message}" for note in review)
    if report.warnings:
        out += ["", "### Warnings", "", _warnings(report)]
    out += ["", "### Version", "", _version(report)]
    return "\n".join(out)
