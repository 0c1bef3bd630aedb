"""A diff in words and as data: the `ics-data diff` reports (text, markdown), each release's
CHANGELOG.md and `changes` table, and the cumulative OUTPUT/CHANGELOG.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.archive import STAGING_PREFIX, find_releases, read_descriptor
from pipeline.build.readme import md_cell
from pipeline.changes.model import READING, RECORD, SCHEMA, Change, Counts, Diff
from pipeline.changes.policy import verdict
from pipeline.changes.snapshot import CHANGES, Snapshot
from pipeline.core.files import write_if_changed
from pipeline.core.model import TableOut
from pipeline.sources.schemas import derived_schema

CHANGELOG = "CHANGELOG.md"
TITLE = "# Changelog"
RECORD_COUNTS = ("added", "removed", "changed")
PER_RESOURCE = 20  # record changes listed per resource in a changelog; the table has them all
MARKDOWN_ROWS = 200  # rows per resource in the markdown report (a CI job summary)


def changes_schema() -> dict[str, Any]:
    return derived_schema(CHANGES)


def changes_table(diff: Diff | None, version: str) -> TableOut:
    """The change list as a table of the release: empty for the first release."""
    schema = changes_schema()
    rows = (
        tuple(
            {"previous_version": diff.old.version, "version": version, **change.to_dict()}
            for change in diff.changes
        )
        if diff
        else ()
    )
    return TableOut(CHANGES, schema, rows, str(schema["title"]), str(schema["description"]))


# --- words ---------------------------------------------------------------------------------------


def counts_words(counts: Counts) -> str:
    words = f"{counts.added} added, {counts.removed} removed, {counts.changed} changed"
    if counts.schema:
        words += ", " + plural(counts.schema, "schema change")
    return words


def notable(diff: Diff) -> list[str]:
    """The changes worth reading, in words: what they mean first, then the schema changes, then
    the record changes no reading explains (up to PER_RESOURCE per resource)."""
    covered = {item for change in diff.readings() for item in change.covers}
    lines = [c.description for c in diff.readings()]
    lines += [c.description for c in diff.changes if c.group == SCHEMA]
    left: dict[str, list[Change]] = {}
    for change in diff.changes:
        if change.group == RECORD and (change.resource, change.key, change.field) not in covered:
            left.setdefault(change.resource, []).append(change)
    for resource, changes in left.items():
        lines += [c.description for c in changes[:PER_RESOURCE]]
        if len(changes) > PER_RESOURCE:
            lines.append(
                f"{resource}: {len(changes) - PER_RESOURCE} more record changes (see the "
                "changes table)"
            )
    return lines


def counts_table(diff: Diff) -> list[str]:
    lines = [
        "| resource | added | removed | changed | schema changes |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in diff.counts().items():
        lines.append(f"| {name} | {c.added} | {c.removed} | {c.changed} | {c.schema} |")
    return lines


# What the readings count, in the one-line summary: (one, many)
READ_AS = {
    "pcn-opened": ("PCN opened", "PCNs opened"),
    "pcn-closed": ("PCN closed", "PCNs closed"),
    "pcn-renamed": ("PCN renamed", "PCNs renamed"),
    "practice-moved": ("practice moved to another PCN", "practices moved to another PCN"),
    "practice-joined": ("practice joined a PCN", "practices joined a PCN"),
    "practice-left": ("practice left a PCN", "practices left a PCN"),
    "pcn-count-changed": (
        "partnership's count of PCNs changed",
        "partnerships' counts of PCNs changed",
    ),
    "claim-figure-changed": ("claim's computed figure changed", "claims' computed figures changed"),
}


def summary(diff: Diff) -> str:
    """The changes in one paragraph: what they mean, how many records, the bump they need. It
    comes first in a release's changelog, so it is what the site's index shows."""
    found = Counter(c.kind for c in diff.readings())
    sentences = []
    if found:
        said = [f"{n} {READ_AS[k][n != 1]}" for k, n in found.items()]
        sentences.append(", ".join(said) + ".")
    counts = list(diff.counts().values())
    added, removed, changed = (sum(getattr(c, a) for c in counts) for a in RECORD_COUNTS)
    records = f"Records: {added} added, {removed} removed, {changed} changed"
    schema = sum(c.schema for c in counts)
    sentences.append(records + (f"; {plural(schema, 'schema change')}." if schema else "."))
    old = diff.old
    since = f"Compared with {old.version} ({old.released.isoformat()})"
    if diff.bump == "none":
        sentences.append(f"{since}, no change needs a new version.")
    else:
        sentences.append(f"{since}, the changes need a {diff.bump} release.")
    return " ".join(sentences)


def first_release_section(version: str, released: date, records: Mapping[str, int]) -> str:
    """The part of the changelog about a first release: the records of each table (RECORDS, by
    table, without the tables generated at publication)."""
    total = sum(records.values())
    lines = [
        f"## {version} ({released.isoformat()})",
        "",
        f"First release. {len(records)} tables, {total} records (the tables generated at "
        "publication, such as `changes`, besides).",
        "",
        "| resource | records |",
        "|---|---:|",
        *(f"| {name} | {count} |" for name, count in sorted(records.items())),
    ]
    return "\n".join(lines) + "\n"


def release_section(diff: Diff | None, new: Snapshot) -> str:
    """The part of the changelog about one release."""
    if diff is None:
        counts = {name: len(table.rows) for name, table in new.tables.items()}
        return first_release_section(new.version, new.released, counts)
    lines = [f"## {new.version} ({new.released.isoformat()})", ""]
    old = diff.old
    if diff.empty:
        lines.append(f"No data changed since {old.version} ({old.released.isoformat()}).")
        return "\n".join(lines) + "\n"
    lines += [
        summary(diff),
        "",
        *counts_table(diff),
        "",
        *(f"- {md_line(line)}" for line in notable(diff)),
        "",
        "Every change, field by field, is in the `changes` table (`data/changes.csv`, "
        "`data/changes.json`).",
    ]
    return "\n".join(lines) + "\n"


def md_line(text: str) -> str:
    """A line of a Markdown list: one line."""
    return " ".join(text.split())


def render_changelog(diff: Diff | None, new: Snapshot) -> str:
    """A release's CHANGELOG.md."""
    return f"{TITLE}\n\n{release_section(diff, new)}"


def render_first_changelog(version: str, released: date, records: Mapping[str, int]) -> str:
    """A first release's CHANGELOG.md, from its tables' record counts alone (no snapshot of
    every cell is needed when there is nothing to compare with)."""
    return f"{TITLE}\n\n{first_release_section(version, released, records)}"


def cumulative_changelog(output: Path) -> str:
    """OUTPUT/CHANGELOG.md: every release's section, newest first, from the releases themselves."""
    releases = find_releases(output)
    name = str(read_descriptor(releases[-1].path).get("name", "")) if releases else ""
    parts = [
        TITLE,
        "",
        f"What changed in each release of `{name}`, newest first. Each release holds the same "
        "text in its own `CHANGELOG.md`, and every change as data in its `changes` table.",
    ]
    for info in reversed(releases):
        path = info.path / CHANGELOG
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            section = text.split("\n", 1)[1].strip() if text.startswith(TITLE) else text.strip()
        else:
            created = str(read_descriptor(info.path).get("created", ""))[:10]
            section = f"## {info.version} ({created})\n\nPublished without a changelog."
        parts += ["", section]
    return "\n".join(parts) + "\n"


def write_changelog(output: Path) -> list[Path]:
    """Rebuild OUTPUT/CHANGELOG.md from the releases (under the publish lock), writing it only
    when that changes it (the file, if written)."""
    data = cumulative_changelog(output).encode("utf-8")
    target = output / CHANGELOG
    temporary = output / f"{STAGING_PREFIX}{CHANGELOG}"
    return [target] if write_if_changed(target, data, temporary) else []


# --- reports of `ics-data diff` ------------------------------------------------------------------


def by_resource(changes: Iterable[Change]) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = {}
    for change in changes:
        out.setdefault(change.resource, []).append(change)
    return out


def render_text(diff: Diff) -> str:
    lines = [f"{diff.old.describe()} -> {diff.new.describe()}"]
    if diff.empty:
        return lines[0] + "\nNo differences."
    counts = diff.counts()
    for resource, changes in by_resource(diff.changes).items():
        lines.append("")
        lines.append(
            f"{resource}: {counts_words(counts[resource])}" if resource in counts else resource
        )
        for change in changes:
            tag = "*" if change.group == READING else change.bump
            lines.append(f"  {tag:<5}  {' '.join(change.description.split())}")
    lines += ["", verdict(diff), "(* says what the changes above mean; it needs no bump)"]
    return "\n".join(lines)


def render_markdown(diff: Diff) -> str:
    title = f"### Data changes: {diff.old.describe()} → {diff.new.describe()}"
    if diff.empty:
        return f"{title}\n\nNo differences.\n"
    lines = [title, "", f"**{verdict(diff)}**", "", *counts_table(diff)]
    readings = diff.readings()
    if readings:
        lines += ["", "**What it means**", ""]
        lines += [f"- {md_line(c.description)}" for c in readings]
    for resource, changes in by_resource(c for c in diff.changes if c.group != READING).items():
        lines += [
            "",
            f"<details><summary>{resource}: {plural(len(changes), 'change')}</summary>",
            "",
            "| key | change | field | old | new | bump |",
            "|---|---|---|---|---|---|",
        ]
        for c in changes[:MARKDOWN_ROWS]:
            cells = (c.key, c.kind, c.field, c.old, c.new, c.bump)
            lines.append("| " + " | ".join(md_cell(v) for v in cells) + " |")
        if len(changes) > MARKDOWN_ROWS:
            lines.append(f"\n{len(changes) - MARKDOWN_ROWS} more: run `ics-data diff` locally.")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
