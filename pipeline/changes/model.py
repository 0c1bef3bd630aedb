"""The change model: one `Change` (to a schema, a record, or a reading of those), and the `Diff`
of two snapshots with the version bump it needs."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.changes.snapshot import Snapshot
from pipeline.core.timeline import LIFESPANS
from pipeline.core.versions import BUMPS

RECORD_KINDS = ("added", "removed", "changed")
SCHEMA_KINDS = (
    "resource-added",
    "resource-removed",
    "field-added",
    "field-removed",
    "field-renamed",
    "type-changed",
    "constraint-tightened",
    "constraint-loosened",
    "constraint-changed",
    "key-changed",
    "foreign-key-added",
    "foreign-key-removed",
    "doc-changed",
)


# Readings say what record changes mean; they need no bump of their own.
READING_KINDS = (
    "pcn-opened",
    "pcn-closed",
    "pcn-renamed",
    "practice-moved",
    "practice-joined",
    "practice-left",
    "pcn-count-changed",
    "claim-figure-changed",
)
SCHEMA, RECORD, READING = 0, 1, 2  # the groups of changes, in report order
KEY_SEPARATOR = "|"


@dataclass(frozen=True)
class Change:
    """One change: to a resource or its schema (key ""), to a record, or a reading of those."""

    resource: str
    kind: str
    key: str = ""
    field: str = ""
    old: str = ""  # as the CSV writes it; "" is no value
    new: str = ""
    description: str = ""
    bump: str = "none"
    # the record changes a reading explains, as (resource, key, field); "" field: whole record
    covers: tuple[tuple[str, str, str], ...] = dataclasses.field(
        default=(), compare=False, repr=False
    )

    @property
    def group(self) -> int:
        if self.kind in SCHEMA_KINDS:
            return SCHEMA
        return RECORD if self.kind in RECORD_KINDS else READING

    def to_dict(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "key": self.key,
            "kind": self.kind,
            "field": self.field,
            "old_value": self.old,
            "new_value": self.new,
            "description": self.description,
            "bump": self.bump,
        }


@dataclass(frozen=True)
class Counts:
    added: int = 0
    removed: int = 0
    changed: int = 0
    schema: int = 0


@dataclass(frozen=True)
class Diff:
    old: Snapshot
    new: Snapshot
    changes: tuple[Change, ...]

    @property
    def bump(self) -> str:
        """The smallest version bump all the changes together need."""
        return max((c.bump for c in self.changes), key=BUMPS.index, default="none")

    @property
    def empty(self) -> bool:
        return not self.changes

    def needing(self, bump: str) -> list[Change]:
        return [c for c in self.changes if c.bump == bump]

    def readings(self) -> list[Change]:
        """What the changes mean, PCNs first, then practices, partnerships and claims."""
        found = [c for c in self.changes if c.group == READING]
        return sorted(found, key=lambda c: READING_KINDS.index(c.kind))

    def counts(self) -> dict[str, Counts]:
        """Per resource with any record or schema change: records added, removed, changed."""
        kinds: dict[str, Counter[str]] = {}
        changed: dict[str, set[str]] = {}
        for change in self.changes:
            if change.group == READING:
                continue
            tally = kinds.setdefault(change.resource, Counter())
            if change.kind == "changed":
                changed.setdefault(change.resource, set()).add(change.key)
            elif change.group == SCHEMA:
                tally["schema"] += 1
            else:
                tally[change.kind] += 1
        return {
            name: Counts(
                tally["added"], tally["removed"], len(changed.get(name, ())), tally["schema"]
            )
            for name, tally in sorted(kinds.items())
        }

    def to_dict(self) -> dict[str, Any]:
        def side(snapshot: Snapshot) -> dict[str, str]:
            return {
                "label": snapshot.label,
                "version": snapshot.version,
                "released": snapshot.released.isoformat(),
            }

        return {
            "old": side(self.old),
            "new": side(self.new),
            "bump": self.bump,
            "counts": {name: vars(c) for name, c in self.counts().items()},
            "changes": [c.to_dict() for c in self.changes],
        }


def change_order(change: Change) -> tuple[Any, ...]:
    return (change.resource, change.group, natural(change.key), change.field, change.kind)


def natural(key: str) -> tuple[tuple[int, Decimal, str], ...]:
    """Keys sort as their values do: numbers by value, text by text."""
    parts = []
    for part in key.split(KEY_SEPARATOR):
        try:
            number = Decimal(part)
        except InvalidOperation:
            parts.append((1, Decimal(0), part))
        else:
            parts.append((0, number, "") if number.is_finite() else (1, Decimal(0), part))
    return tuple(parts)


def key_text(row: dict[str, str], key: Sequence[str]) -> str:
    return KEY_SEPARATOR.join(row.get(k, "") for k in key)


def end_columns(resource: str) -> tuple[str, ...]:
    """The columns saying when a record stops holding: setting one closes the record."""
    if resource not in LIFESPANS:
        return ()
    end = LIFESPANS[resource][1]
    return (end, f"{end}_earliest", f"{end}_latest")
