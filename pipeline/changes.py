"""What changed between two datasets, record by record, and the version bump that implies.

A small stand-in for the semantic diff of `ics-data diff` (pipeline/diff.py, written alongside):
`ics-data refresh` calls only `summarise_changes` and `next_version`, so the shared diff can take
their place once it lands.

Records are matched by their primary key. A key with an empty part that a later dataset fills
(a membership whose start date was known only between bounds, then exactly) is the same record,
changed, not one removed and another added. The bump follows the version policy: major when a
record is removed, minor when records are added or closed (an end or close date, or its bounds,
set where nothing was known of its end), patch for any other corrected value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.metadata import parse_version
from pipeline.validate import Dataset

BUMPS = ("none", "patch", "minor", "major")

Key = tuple[str | None, ...]


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class RecordChange:
    resource: str
    key: Key
    kind: str  # "added", "removed", "changed"
    fields: tuple[FieldChange, ...]
    values: Mapping[str, str | None]  # the record as it is after (or before, when removed)

    @property
    def label(self) -> str:
        return ", ".join(part or "-" for part in self.key)

    def old(self, name: str) -> str | None:
        change = next((c for c in self.fields if c.field == name), None)
        return change.old if change else self.values.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "key": list(self.key),
            "kind": self.kind,
            "fields": [c.to_dict() for c in self.fields],
        }


@dataclass(frozen=True)
class Changes:
    records: tuple[RecordChange, ...]
    events: tuple[str, ...]  # what the changes mean, in words
    bump: str  # one of BUMPS
    reasons: tuple[str, ...]  # why that bump

    @property
    def empty(self) -> bool:
        return not self.records

    def counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
        for change in self.records:
            counts[change.resource][change.kind] += 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "events": list(self.events),
            "bump": self.bump,
            "reasons": list(self.reasons),
            "records": [c.to_dict() for c in self.records],
        }


KINDS = ("added", "changed", "removed")


def _rows(dataset: Dataset, resource: str) -> list[dict[str, str | None]]:
    return [dict(row.record.values) for row in dataset.rows(resource)]


def _primary_key(before: Dataset, after: Dataset, resource: str) -> tuple[str, ...]:
    for dataset in (after, before):
        table = dataset.tables.get(resource)
        if table is not None and table.schema.primary_key:
            return table.schema.primary_key
    return ()


def summarise_changes(before: Dataset, after: Dataset) -> Changes:
    """Every record added, removed or changed from `before` to `after`, with its meaning."""
    records: list[RecordChange] = []
    for resource in sorted(set(before.tables) | set(after.tables)):
        key = _primary_key(before, after, resource)
        if not key:
            continue
        records.extend(
            _diff_resource(resource, key, _rows(before, resource), _rows(after, resource))
        )
    bump, reasons = _bump(records)
    return Changes(tuple(records), tuple(_events(records, after)), bump, tuple(reasons))


def _diff_resource(
    resource: str,
    key: tuple[str, ...],
    old_rows: list[dict[str, str | None]],
    new_rows: list[dict[str, str | None]],
) -> list[RecordChange]:
    old = {tuple(row.get(k) for k in key): row for row in old_rows}
    new = {tuple(row.get(k) for k in key): row for row in new_rows}
    removed = [k for k in old if k not in new]
    added = [k for k in new if k not in old]
    # A key completed: an empty key part filled in (a start date known at last).
    pairs: dict[Key, Key] = {}
    for gone in removed:
        if None not in gone:
            continue
        match = next(
            (
                k
                for k in added
                if k not in pairs.values()
                and all(part is None or part == other for part, other in zip(gone, k, strict=True))
            ),
            None,
        )
        if match is not None:
            pairs[gone] = match
    out: list[RecordChange] = []
    for k in sorted(set(old) | set(new), key=_sortable):
        if k in old and k in new:
            fields = _field_changes(old[k], new[k])
            if fields:
                out.append(RecordChange(resource, k, "changed", fields, new[k]))
        elif k in pairs:
            fields = _field_changes(old[k], new[pairs[k]])
            out.append(RecordChange(resource, pairs[k], "changed", fields, new[pairs[k]]))
        elif k in new and k not in pairs.values():
            out.append(RecordChange(resource, k, "added", (), new[k]))
        elif k in old:
            out.append(RecordChange(resource, k, "removed", (), old[k]))
    return out


def _sortable(key: Key) -> tuple[str, ...]:
    return tuple(part or "" for part in key)


def _field_changes(
    old: Mapping[str, str | None], new: Mapping[str, str | None]
) -> tuple[FieldChange, ...]:
    names = list(dict.fromkeys([*old, *new]))
    return tuple(
        FieldChange(name, old.get(name), new.get(name))
        for name in names
        if old.get(name) != new.get(name)
    )


def _bump(records: list[RecordChange]) -> tuple[str, list[str]]:
    level = 0
    reasons: dict[str, None] = {}

    def raise_to(bump: str, reason: str) -> None:
        nonlocal level
        level = max(level, BUMPS.index(bump))
        reasons[f"{bump}: {reason}"] = None

    for change in records:
        if change.kind == "removed":
            raise_to("major", f"{change.resource} records removed")
        elif change.kind == "added":
            raise_to("minor", f"{change.resource} records added")
        else:
            closed = {
                name
                for column in ("close_date", "end_date")
                if _ended(change, column)
                for name in _date_columns(column)
            }
            if closed:
                raise_to("minor", f"{change.resource} records closed")
            if any(f.field not in closed | {"source"} for f in change.fields):
                raise_to("patch", f"{change.resource} values corrected")
            if all(f.field == "source" for f in change.fields):
                raise_to("patch", f"{change.resource} provenance updated")
    top = BUMPS[level]
    return top, [r for r in reasons if r.startswith(f"{top}:")]


def next_version(version: str, bump: str) -> str:
    """The version after `bump` (`none`: the same version)."""
    major, minor, patch = parse_version(version)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return version


# ---------------------------------------------------------------------------------------------
# Meaning


def _when(values: Mapping[str, str | None], column: str) -> str:
    exact = values.get(column)
    if exact:
        return f"on {exact}"
    lo, hi = values.get(f"{column}_earliest"), values.get(f"{column}_latest")
    if lo or hi:
        return f"between {lo or '?'} and {hi or '?'}"
    return "(date unknown)"


def _day(values: Mapping[str, str | None], column: str) -> str:
    when = _when(values, column)
    return when[3:] if when.startswith("on ") else when


def _ended(change: RecordChange, column: str) -> bool:
    names = {column, f"{column}_earliest", f"{column}_latest"}
    was = any(change.old(n) for n in names)
    now = any(change.values.get(n) for n in names)
    return now and not was


def _events(records: list[RecordChange], after: Dataset) -> list[str]:
    practice_names = {
        row.get("practice_code"): row.get("practice_name") for row in _rows(after, "practices")
    }
    events: list[str] = []
    for change in records:
        v = change.values
        if change.resource == "pcns" and change.kind == "added":
            text = f"PCN {v.get('pcn_code')} {v.get('pcn_name')} opened {_when(v, 'open_date')}"
            if _has_end(v, "close_date"):
                text += f" and closed {_when(v, 'close_date')}"
            events.append(text)
        elif change.resource == "practices" and change.kind == "added":
            events.append(f"practice {v.get('practice_code')} {v.get('practice_name')} added")
        elif change.kind == "removed":
            events.append(f"{change.resource} {change.label} removed")
        elif change.kind == "changed":
            events.extend(_changed(change))
    events.extend(_moves(records, practice_names))
    return events


def _changed(change: RecordChange) -> list[str]:
    """A changed record in words: what it means where known, else each field old -> new."""
    v = change.values
    events: list[str] = []
    explained = {"source"}
    if change.resource == "pcns":
        code, name = v.get("pcn_code"), v.get("pcn_name")
        if _ended(change, "close_date"):
            events.append(f"PCN {code} {name} closed {_when(v, 'close_date')}")
            explained.update(_date_columns("close_date"))
        old_name = change.old("pcn_name")
        if old_name and old_name != name:
            events.append(f"PCN {code} renamed from {old_name} to {name}")
            explained.update(("pcn_name", "former_names"))
        if change.old("open_date") != v.get("open_date") and v.get("open_date"):
            events.append(f"PCN {code} {name} opened on {v.get('open_date')}")
            explained.update(_date_columns("open_date"))
    elif change.resource == "pcn_memberships" and _ended(change, "end_date"):
        explained.update(_date_columns("end_date"))  # told by _moves
    rest = [f for f in change.fields if f.field not in explained]
    if rest:
        described = "; ".join(f"{f.field} {_show(f.old)} -> {_show(f.new)}" for f in rest)
        events.append(f"{change.resource} {change.label}: {described}")
    return events


def _date_columns(column: str) -> tuple[str, str, str]:
    return column, f"{column}_earliest", f"{column}_latest"


def _show(value: str | None) -> str:
    return f'"{value}"' if value else "(empty)"


def _moves(records: list[RecordChange], names: Mapping[str | None, str | None]) -> list[str]:
    events_history: list[str] = []
    joined: dict[str | None, list[RecordChange]] = defaultdict(list)
    left: dict[str | None, list[RecordChange]] = defaultdict(list)
    for change in records:
        if change.resource != "pcn_memberships":
            continue
        practice = change.values.get("practice_code")
        if change.kind == "added" and not _has_end(change.values, "end_date"):
            joined[practice].append(change)
        elif change.kind == "added":
            v = change.values
            events_history.append(
                f"practice {practice} was in {v.get('pcn_code')} from "
                f"{_day(v, 'start_date')} to {_day(v, 'end_date')}"
            )
        elif change.kind == "changed" and _ended(change, "end_date"):
            left[practice].append(change)
    events = []
    for practice in sorted(set(joined) | set(left), key=lambda p: p or ""):
        name = f"practice {practice} {names.get(practice) or ''}".rstrip()
        ins, outs = joined.get(practice, []), left.get(practice, [])
        if len(ins) == 1 and len(outs) == 1:
            new, old = ins[0].values, outs[0].values
            events.append(
                f"{name} moved from {old.get('pcn_code')} to {new.get('pcn_code')} "
                f"(left {_when(old, 'end_date')}, joined {_when(new, 'start_date')})"
            )
            continue
        for change in outs:
            v = change.values
            events.append(f"{name} left {v.get('pcn_code')} {_when(v, 'end_date')}")
        for change in ins:
            v = change.values
            events.append(f"{name} joined {v.get('pcn_code')} {_when(v, 'start_date')}")
    return events + events_history


def _has_end(values: Mapping[str, str | None], column: str) -> bool:
    return any(values.get(n) for n in _date_columns(column))
