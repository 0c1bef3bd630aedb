"""The report of a refresh, for a person (text, markdown for a pull request) or a program (json).

Reading order is review order: which files were read and what was kept of them, what changed
in the facts, what a person must check before publishing, and the version bump it implies.
"""

from __future__ import annotations

import json

from pipeline.refresh import RefreshReport
from pipeline.registry import KIND_LABELS

# A first import lists hundreds of events; the text shows the first ones, json all of them.
MAX_EVENTS = 60


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


def _counts(report: RefreshReport) -> list[str]:
    lines = []
    for resource, counts in report.changes.counts().items():
        parts = [f"{n} {kind}" for kind, n in counts.items() if n]
        lines.append(f"{resource}: {', '.join(parts)}")
    return lines


def _events(report: RefreshReport) -> tuple[list[str], int]:
    events = list(report.changes.events)
    return events[:MAX_EVENTS], max(0, len(events) - MAX_EVENTS)


def _version(report: RefreshReport) -> str:
    changes = report.changes
    if changes.bump == "none":
        return f"Version: no bump needed ({report.version})."
    why = "; ".join(reason.split(": ", 1)[1] for reason in changes.reasons)
    return (
        f"Version: a {changes.bump} bump ({why}): {report.version} -> {report.next_version}. "
        "Set version and release_date in sources/package.yaml, then make publish."
    )


def _text(report: RefreshReport) -> str:
    out = [f"ics-data refresh of {report.sources}: {_status(report)}", ""]
    out.append(f"Upstream files (rows kept by the codes {', '.join(report.codes)}):")
    out.extend(f"  {line}" for line in _inputs(report))
    if report.changes.records:
        out += ["", "What changed:"]
        out.extend(f"  {line}" for line in _counts(report))
        events, more = _events(report)
        out.extend(f"  - {event}" for event in events)
        if more:
            out.append(f"  ... and {more} more (--format json lists every change)")
    review = report.review
    if review:
        out += ["", f"Review before publishing ({len(review)}):"]
        out.extend(f"  - [{note.code}] {note.message}" for note in review)
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
    if report.changes.records:
        out += ["", "### What changed", ""]
        out += ["| resource | added | changed | removed |", "|---|---:|---:|---:|"]
        for resource, counts in report.changes.counts().items():
            out.append(
                f"| {resource} | {counts['added']} | {counts['changed']} | {counts['removed']} |"
            )
        events, more = _events(report)
        out.append("")
        out.extend(f"- {event}" for event in events)
        if more:
            out.append(f"- … and {more} more (`--format json` lists every change)")
    review = report.review
    if review:
        out += ["", "### Review before publishing", ""]
        out.extend(f"- [ ] **{note.code}**: {note.message}" for note in review)
    out += ["", "### Version", "", _version(report)]
    return "\n".join(out)
