"""Properties of the diff on generated snapshots: a snapshot compared with itself has no change,
and the diff is antisymmetric: what one direction adds, tightens or changes from A to B, the other
removes, loosens or changes from B to A."""

from __future__ import annotations

from collections import Counter
from datetime import date
from itertools import permutations, product
from typing import Any

from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.changes.diff import diff_snapshots
from pipeline.changes.model import Diff
from pipeline.changes.snapshot import Snapshot, TableData

FIELDS = {"a": "string", "b": "integer", "c": "date", "d": "string"}
VALUES = {
    "string": ["", "A", "B", "C d", "é|x"],
    "integer": ["", "1", "2", "10"],
    "date": ["", "2020-01-01", "2021-06-30"],
}
KEYS = ["1", "2", "3", "10", "x", "y|z"]


def constraint_pool(kind: str) -> list[dict[str, Any]]:
    """Every set of constraints a field of KIND may have here, the simplest first: drawn as one
    choice (a composite of a dozen choices made most of these tests' time Hypothesis's own)."""
    values = [v for v in VALUES[kind] if v]
    enums = [None] + [
        list(order) for size in range(1, len(values) + 1) for order in permutations(values, size)
    ]
    extras: list[tuple[str, object]] = [("", None)]
    if kind == "integer":
        extras += [("maximum", n) for n in range(21)]
    if kind == "string":
        extras += [("pattern", p) for p in ("^[A-Z]", "^.+$")]
    pool = []
    for extra_key, extra in extras:
        for enum in enums:
            for required in (None, True, False):
                rules: dict[str, Any] = {}
                if required is not None:
                    rules["required"] = required
                if enum is not None:
                    rules["enum"] = enum
                if extra_key:
                    rules[extra_key] = extra
                pool.append(rules)
    return pool


CONSTRAINTS = {kind: constraint_pool(kind) for kind in VALUES}


@st.composite
def tables(draw: st.DrawFn, name: str) -> TableData:
    names = draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True, max_size=4))
    fields: list[dict[str, Any]] = [{"name": "id", "type": "string"}]
    for field in names:
        kind = draw(st.sampled_from([FIELDS[field], "string"]))
        spec: dict[str, Any] = {"name": field, "type": kind}
        rules = draw(st.sampled_from(CONSTRAINTS[kind]))
        if rules:
            spec["constraints"] = rules
        description = draw(st.sampled_from([None, "one", "two"]))
        if description:
            spec["description"] = description
        fields.append(spec)
    key = ["id"] + ([names[0]] if names and draw(st.booleans()) else [])
    schema: dict[str, Any] = {"fields": fields, "primaryKey": key}
    if draw(st.booleans()):
        schema["foreignKeys"] = [
            {"fields": ["id"], "reference": {"resource": "t1", "fields": ["id"]}}
        ]
    # a row's values are one choice among every combination of its fields' values
    cells = list(product(*(VALUES[FIELDS[spec["name"]]] for spec in fields[1:])))
    rows = []
    for ident in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=5)):
        values = draw(st.sampled_from(cells))
        rows.append({"id": ident} | {s["name"]: v for s, v in zip(fields[1:], values, strict=True)})
    return TableData(name, schema, tuple(rows))


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    names = draw(st.lists(st.sampled_from(["t1", "t2", "t3"]), unique=True, max_size=3))
    return Snapshot("s", "1.0.0", date(2026, 1, 1), {n: draw(tables(n)) for n in names})


def of_kind(diff: Diff, *kinds: str) -> Counter[tuple[str, ...]]:
    return Counter(
        (c.kind, c.resource, c.key, c.old, c.new) for c in diff.changes if c.kind in kinds
    )


def swapped(found: Counter[tuple[str, ...]], kinds: dict[str, str]) -> Counter[tuple[str, ...]]:
    return Counter(
        {(kinds[kind], res, key, new, old): n for (kind, res, key, old, new), n in found.items()}
    )


@settings(max_examples=examples(200), deadline=None)
@given(snapshots())
def test_a_snapshot_compared_with_itself_has_no_change(snapshot: Snapshot) -> None:
    diff = diff_snapshots(snapshot, snapshot)
    assert diff.changes == ()
    assert diff.bump == "none"


OPPOSITES = {
    "added": "removed",
    "removed": "added",
    "changed": "changed",
    "resource-added": "resource-removed",
    "resource-removed": "resource-added",
    "field-renamed": "field-renamed",
    "type-changed": "type-changed",
    "constraint-tightened": "constraint-loosened",
    "constraint-loosened": "constraint-tightened",
    "constraint-changed": "constraint-changed",
    "key-changed": "key-changed",
    "foreign-key-added": "foreign-key-removed",
    "foreign-key-removed": "foreign-key-added",
}


@settings(max_examples=examples(300), deadline=None)
@given(snapshots(), snapshots())
def test_the_diff_is_antisymmetric(old: Snapshot, new: Snapshot) -> None:
    forward, backward = diff_snapshots(old, new), diff_snapshots(new, old)
    kinds = list(OPPOSITES)
    assert swapped(of_kind(forward, *kinds), OPPOSITES) == of_kind(backward, *kinds)
    # a field added one way is removed the other (old and new hold its type)
    added = {(c.resource, c.field, c.new) for c in forward.changes if c.kind == "field-added"}
    removed = {(c.resource, c.field, c.old) for c in backward.changes if c.kind == "field-removed"}
    assert added == removed
    assert forward.empty == backward.empty


def test_the_key_records_are_matched_by_is_the_same_both_ways() -> None:
    """Found by the property above: the primary key changed from (id, a) to (id, b) while `a` was
    renamed to `d`, and each direction matched records by another key."""
    fields_old = [{"name": n, "type": k} for n, k in (("id", "string"), ("a", "string"))]
    fields_old += [{"name": "c", "type": "date"}, {"name": "b", "type": "integer"}]
    fields_new = [{"name": n, "type": k} for n, k in (("id", "string"), ("b", "integer"))]
    fields_new += [{"name": "c", "type": "date"}, {"name": "d", "type": "string"}]
    old = Snapshot(
        "s",
        "1.0.0",
        date(2026, 1, 1),
        {
            "t1": TableData(
                "t1",
                {"fields": fields_old, "primaryKey": ["id", "a"]},
                ({"id": "1", "a": "", "c": "", "b": "1"},),
            )
        },
    )
    new = Snapshot(
        "s",
        "1.0.0",
        date(2026, 1, 1),
        {"t1": TableData("t1", {"fields": fields_new, "primaryKey": ["id", "b"]}, ())},
    )
    test_the_diff_is_antisymmetric.hypothesis.inner_test(old, new)  # type: ignore[attr-defined]
