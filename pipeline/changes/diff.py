"""What changed between two snapshots (releases, or the working sources): per resource, keyed by
primary key, the records added, removed and changed field by field; the schema changes; and what
the changes mean where the data allows it (see `pipeline.changes.readings`).

Each change carries the smallest version bump it needs (see `pipeline.changes.policy`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.changes.model import KEY_SEPARATOR, Change, Diff, change_order, end_columns
from pipeline.changes.snapshot import Snapshot, TableData
from pipeline.core.issues import quote

LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength")
FLAGS = ("required", "unique")
SHAPE = ("name", "type", "format", "constraints")


def diff_snapshots(old: Snapshot, new: Snapshot) -> Diff:
    """Every change from OLD to NEW, ordered by resource, then schema, records and readings."""
    from pipeline.changes.readings import readings  # readings interpret the changes found here

    changes: list[Change] = []
    for name in sorted(set(old.tables) | set(new.tables)):
        if name not in new.tables:
            count = len(old.tables[name].rows)
            changes.append(
                Change(
                    name,
                    "resource-removed",
                    description=f"resource {name} removed ({count} records)",
                    bump="major",
                )
            )
        elif name not in old.tables:
            count = len(new.tables[name].rows)
            changes.append(
                Change(
                    name,
                    "resource-added",
                    description=f"resource {name} added ({count} records)",
                    bump="minor",
                )
            )
        else:
            changes.extend(diff_table(old.tables[name], new.tables[name]))
    changes.extend(readings(old, new, changes))
    return Diff(old, new, tuple(sorted(changes, key=change_order)))


def record_label(table: TableData, row: dict[str, str], key: Sequence[str]) -> str:
    """How a record is named in words: its key, and its name where it has one."""
    if len(key) == 1:
        text = row.get(key[0], "")
        for name in table.field_names:
            if name != key[0] and (name.endswith("name") or name in ("title", "event")):
                if row.get(name):
                    return f"{text} ({row[name]})"
        return text
    return "[" + ", ".join(f"{k} {row.get(k, '') or '(none)'}" for k in key) + "]"


# --- schema -------------------------------------------------------------------------------------


def diff_table(old: TableData, new: TableData) -> list[Change]:
    changes, renames = diff_schema(old, new)
    changes.extend(diff_records(old, new, renames))
    return changes


def field_type(spec: dict[str, Any]) -> str:
    kind = str(spec.get("type", "any"))
    fmt = spec.get("format")
    return kind if fmt in (None, "default") else f"{kind} ({fmt})"


def matching_key(old: TableData, new: TableData, renames: dict[str, str]) -> tuple[str, ...]:
    """The key records are matched by: the primary key, or when it changed, whichever of the two
    keys both tables hold (the shorter, then the first in name order, so that the diff each way
    matches records the same way). Empty when no key is shared."""
    back = {n: o for o, n in renames.items()}
    candidates = []
    if old.primary_key and all(renames.get(k, k) in new.field_names for k in old.primary_key):
        candidates.append(old.primary_key)
    if new.primary_key and all(back.get(k, k) in old.field_names for k in new.primary_key):
        candidates.append(tuple(back.get(k, k) for k in new.primary_key))

    def order(key: tuple[str, ...]) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
        # a key named both ways (old names, new names), so the other direction picks the same
        named = (key, tuple(renames.get(k, k) for k in key))
        return (len(key), min(named), max(named))

    return min(candidates, key=order) if candidates else ()


Key = tuple[str, ...]


def unique_keys(
    rows: Iterable[dict[str, str]], key: Sequence[str]
) -> dict[Key, dict[str, str]] | None:
    """Rows by their key values; None when two rows share a key."""
    out: dict[Key, dict[str, str]] = {}
    for row in rows:
        values = tuple(row.get(k, "") for k in key)
        if values in out:
            return None
        out[values] = row
    return out


def refilled(gone: Sequence[Key], came: Sequence[Key]) -> dict[Key, Key]:
    """Keys of records removed and added that are one record whose key had an empty part the other
    side fills (a membership whose start date was known only by its bounds, then exactly): they
    agree wherever both have a value, and pair with nothing else."""

    def fits(a: Key, b: Key) -> bool:
        return a != b and all(x == y or not x or not y for x, y in zip(a, b, strict=True))

    if not any("" in k for k in (*gone, *came)):
        return {}
    pairs = {}
    for old in gone:
        found = [new for new in came if ("" in old or "" in new) and fits(old, new)]
        if len(found) == 1 and sum(1 for o in gone if fits(o, found[0])) == 1:
            pairs[old] = found[0]
    return pairs


def fuller(a: Key, b: Key) -> str:
    """The key a record is named by when its key was filled in: the one with more values (the
    same both ways, so the diff stays antisymmetric)."""
    return KEY_SEPARATOR.join(max(a, b, key=lambda k: (sum(1 for p in k if p), k)))


def find_renames(old: TableData, new: TableData) -> dict[str, str]:
    """A field removed and a field added are a rename when they have the same type and the same
    value in every record the two tables share, and neither pairs with any other field."""
    removed = [f for f in old.field_names if f not in new.field_names]
    added = [f for f in new.field_names if f not in old.field_names]
    if not removed or not added:
        return {}
    key = matching_key(old, new, {})
    old_rows = unique_keys(old.rows, key) if key else None
    new_rows = unique_keys(new.rows, key) if key else None
    if old_rows is None or new_rows is None:
        return {}
    shared = [(old_rows[k], new_rows[k]) for k in old_rows if k in new_rows]

    def same(r: str, a: str) -> bool:
        if field_type(old.field(r)) != field_type(new.field(a)):
            return False
        return all(o.get(r, "") == n.get(a, "") for o, n in shared)

    pairs = {(r, a) for r in removed for a in added if same(r, a)}
    return {
        r: a
        for r, a in sorted(pairs)
        if sum(1 for p in pairs if p[0] == r) == 1 and sum(1 for p in pairs if p[1] == a) == 1
    }


def diff_schema(old: TableData, new: TableData) -> tuple[list[Change], dict[str, str]]:
    name = new.name
    renames = find_renames(old, new)
    changes: list[Change] = []
    for prop in ("title", "description"):
        if old.schema.get(prop, "") != new.schema.get(prop, ""):
            changes.append(
                Change(
                    name,
                    "doc-changed",
                    description=f"{name}: {prop} of the resource changed",
                    bump="patch",
                )
            )
    for field_name in old.field_names:
        if field_name in renames:
            changes.append(
                Change(
                    name,
                    "field-renamed",
                    field=renames[field_name],
                    old=field_name,
                    new=renames[field_name],
                    description=f"{name}: field {field_name} renamed to {renames[field_name]}",
                    bump="major",
                )
            )
        elif field_name not in new.field_names:
            changes.append(
                Change(
                    name,
                    "field-removed",
                    field=field_name,
                    old=field_type(old.field(field_name)),
                    description=f"{name}: field {field_name} removed",
                    bump="major",
                )
            )
    for field_name in new.field_names:
        if field_name not in old.field_names and field_name not in renames.values():
            kind = field_type(new.field(field_name))
            changes.append(
                Change(
                    name,
                    "field-added",
                    field=field_name,
                    new=kind,
                    description=f"{name}: field {field_name} added ({kind})",
                    bump="minor",
                )
            )
    back = {n: o for o, n in renames.items()}
    for field_name in new.field_names:
        old_name = back.get(field_name, field_name)
        if old_name in old.field_names:
            changes.extend(diff_field(name, old.field(old_name), new.field(field_name)))
    if old.primary_key != new.primary_key:
        kept = [k for k in old.primary_key if renames.get(k, k) in new.field_names]
        also = (
            f"; records are now identified by ({', '.join(new.primary_key)}), and the former "
            "key's fields remain as columns"
            if old.primary_key and len(kept) == len(old.primary_key)
            else ""
        )
        changes.append(
            Change(
                name,
                "key-changed",
                old=json.dumps(list(old.primary_key)),
                new=json.dumps(list(new.primary_key)),
                description=f"{name}: primary key changed from ({', '.join(old.primary_key)}) "
                f"to ({', '.join(new.primary_key)}){also}",
                bump="major",
            )
        )
    changes.extend(diff_foreign_keys(old, new))
    return changes, renames


def diff_field(resource: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    name = str(new["name"])
    where = f"{resource}.{name}"
    changes = []
    if field_type(old) != field_type(new):
        changes.append(
            Change(
                resource,
                "type-changed",
                field=name,
                old=field_type(old),
                new=field_type(new),
                description=f"{where}: type changed from {field_type(old)} to {field_type(new)}",
                bump="major",
            )
        )
    old_rules, new_rules = constraints_of(old), constraints_of(new)
    for rule in sorted(set(old_rules) | set(new_rules)):
        if old_rules.get(rule) == new_rules.get(rule):
            continue
        kind, words = constraint_change(rule, old_rules.get(rule), new_rules.get(rule))
        changes.append(
            Change(
                resource,
                kind,
                field=name,
                old=json.dumps({rule: old_rules[rule]}) if rule in old_rules else "",
                new=json.dumps({rule: new_rules[rule]}) if rule in new_rules else "",
                description=f"{where}: {words}",
                bump="minor" if kind == "constraint-loosened" else "major",
            )
        )
    docs = sorted(k for k in set(old) | set(new) if k not in SHAPE and old.get(k) != new.get(k))
    if docs:
        changes.append(
            Change(
                resource,
                "doc-changed",
                field=name,
                description=f"{where}: {' and '.join(docs)} changed",
                bump="patch",
            )
        )
    return changes


def constraints_of(spec: dict[str, Any]) -> dict[str, Any]:
    """A field's constraints; `required: false` says no more than no `required` at all."""
    rules = dict(spec.get("constraints", {}))
    return {k: v for k, v in rules.items() if v or k not in FLAGS}


def constraint_change(rule: str, old: Any, new: Any) -> tuple[str, str]:
    """(kind, words) for one constraint whose value differs; None is an absent constraint."""
    tightened, loosened, changed = (
        "constraint-tightened",
        "constraint-loosened",
        "constraint-changed",
    )
    if rule in FLAGS:
        return (tightened, f"{rule} added") if new else (loosened, f"{rule} removed")
    if new is None:
        return loosened, f"{rule} removed (was {json.dumps(old)})"
    if old is None:
        return tightened, f"{rule} added ({json.dumps(new)})"
    if rule == "enum" and isinstance(old, list) and isinstance(new, list):
        gone = [v for v in old if v not in new]
        extra = [v for v in new if v not in old]
        if gone and not extra:
            return tightened, "enum narrowed: no longer " + ", ".join(map(str, gone))
        if extra and not gone:
            return loosened, "enum widened: now also " + ", ".join(map(str, extra))
        return changed, f"enum changed: no longer {', '.join(map(str, gone))}; now also " + (
            ", ".join(map(str, extra))
        )
    if rule in LOWER_BOUNDS or rule in UPPER_BOUNDS:
        try:
            raised = bool(new > old)
        except TypeError:
            return changed, f"{rule} changed from {json.dumps(old)} to {json.dumps(new)}"
        verb = "raised" if raised else "lowered"
        tighter = raised == (rule in LOWER_BOUNDS)
        return (
            tightened if tighter else loosened,
            f"{rule} {verb} from {json.dumps(old)} to {json.dumps(new)}",
        )
    return changed, f"{rule} changed from {json.dumps(old)} to {json.dumps(new)}"


def foreign_key_text(fk: dict[str, Any]) -> str:
    def names(value: Any) -> str:
        return ", ".join([value] if isinstance(value, str) else list(value))

    ref = fk.get("reference", {})
    return (
        f"{names(fk.get('fields', []))} -> {ref.get('resource', '')}.{names(ref.get('fields', []))}"
    )


def diff_foreign_keys(old: TableData, new: TableData) -> list[Change]:
    before = {foreign_key_text(fk) for fk in old.schema.get("foreignKeys", [])}
    after = {foreign_key_text(fk) for fk in new.schema.get("foreignKeys", [])}
    name = new.name
    return [
        Change(
            name,
            "foreign-key-removed",
            old=text,
            description=f"{name}: foreign key {text} removed",
            bump="minor",
        )
        for text in sorted(before - after)
    ] + [
        Change(
            name,
            "foreign-key-added",
            new=text,
            description=f"{name}: foreign key {text} added",
            bump="major",
        )
        for text in sorted(after - before)
    ]


# --- records ------------------------------------------------------------------------------------


def diff_records(old: TableData, new: TableData, renames: dict[str, str]) -> list[Change]:
    name = new.name
    key = matching_key(old, new, renames)
    if not key:
        return []
    new_key = tuple(renames.get(k, k) for k in key)
    before = unique_keys(old.rows, key)
    after = unique_keys(new.rows, new_key)
    if before is None or after is None:
        return []  # the key changed and no longer tells records apart: see key-changed
    gone = [k for k in before if k not in after]
    came = [k for k in after if k not in before]
    filled = refilled(gone, came)
    changes = [
        Change(
            name,
            "added",
            key=KEY_SEPARATOR.join(k),
            description=f"{name}: record {record_label(new, after[k], new_key)} added",
            bump="minor",
        )
        for k in came
        if k not in filled.values()
    ]
    changes += [
        Change(
            name,
            "removed",
            key=KEY_SEPARATOR.join(k),
            description=f"{name}: record {record_label(old, before[k], key)} removed",
            bump="major",
        )
        for k in gone
        if k not in filled
    ]
    pairs = [(k, k) for k in before if k in after] + list(filled.items())
    fields = [
        (o, renames.get(o, o)) for o in old.field_names if renames.get(o, o) in new.field_names
    ]
    ends = end_columns(name)
    for was_key, now_key in pairs:
        was, now = before[was_key], after[now_key]
        closing = bool(ends) and not any(was.get(c) for c in ends if c in old.field_names)
        label = record_label(new, now, new_key)
        for old_name, new_name in fields:
            if was.get(old_name, "") == now.get(new_name, ""):
                continue
            closes = closing and new_name in ends
            words = value_change(was.get(old_name, ""), now.get(new_name, ""))
            changes.append(
                Change(
                    name,
                    "changed",
                    key=fuller(was_key, now_key),
                    field=new_name,
                    old=was.get(old_name, ""),
                    new=now.get(new_name, ""),
                    description=f"{name} {label}: {new_name} {words}"
                    + (" (the record closes)" if closes else ""),
                    bump="minor" if closes else "patch",
                )
            )
    return changes


def value_change(old: str, new: str) -> str:
    if not old:
        return f"set to {quote(new)}"
    if not new:
        return f"cleared (was {quote(old)})"
    return f"changed from {quote(old)} to {quote(new)}"
