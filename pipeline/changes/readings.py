"""What record changes mean, where the data allows it: a PCN opened, closed or renamed; a practice
moved from one PCN to another (a membership ended and another began), joined or left one; a
partnership's count of open PCNs changed (on each side's release date); a claim's computed figure
changed. Each reading is a `Change` with no bump of its own, naming the record changes it explains.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.build.cells import json_value
from pipeline.changes.model import KEY_SEPARATOR, RECORD, Change, end_columns, key_text
from pipeline.changes.snapshot import Snapshot, TableData
from pipeline.check.claims import CLAIM_CHECKS, Count, count_open
from pipeline.core.model import Dataset
from pipeline.core.names import Names, name_on, names_by_pcn
from pipeline.core.timeline import Moment, moment


def readings(old: Snapshot, new: Snapshot, changes: Sequence[Change]) -> list[Change]:
    found = pcn_readings(old, new, changes) + membership_readings(old, new, changes)
    if any(name in old.tables and name in new.tables for name in ("pcns", "claims")):
        old_data, new_data = old.dataset(), new.dataset()
        found += pcn_counts(old, new, old_data, new_data)
        found += claim_figures(old, new, old_data, new_data)
    return found


def when(m: Moment) -> str:
    if m.exact is not None:
        return f"on {m.exact.isoformat()}"
    return m.describe() if m.known else "on a date not known"


def typed_by_key(table: TableData) -> dict[str, dict[str, Any]]:
    key = table.primary_key
    return {
        key_text(text, key): typed
        for text, typed in zip(table.rows, table.typed_rows(), strict=True)
    }


def names(old: Snapshot, new: Snapshot, resource: str, code: str, name: str) -> dict[str, str]:
    """Code -> name from both sides, the new side winning."""
    out: dict[str, str] = {}
    for side in (old, new):
        table = side.tables.get(resource)
        if table is not None and code in table.field_names and name in table.field_names:
            out.update({row[code]: row[name] for row in table.rows})
    return out


def changed_fields(changes: Sequence[Change], resource: str) -> dict[str, dict[str, Change]]:
    out: dict[str, dict[str, Change]] = defaultdict(dict)
    for change in changes:
        if change.resource == resource and change.kind == "changed":
            out[change.key][change.field] = change
    return out


def added_keys(changes: Sequence[Change], resource: str) -> list[str]:
    return [c.key for c in changes if c.resource == resource and c.kind == "added"]


def pcn_readings(old: Snapshot, new: Snapshot, changes: Sequence[Change]) -> list[Change]:
    if "pcns" not in old.tables or "pcns" not in new.tables:
        return []
    before, after = typed_by_key(old.tables["pcns"]), typed_by_key(new.tables["pcns"])
    names = name_rows(new)
    found = []
    for key in added_keys(changes, "pcns"):
        row = after.get(key, {})
        opened, closed = moment(row, "open_date"), moment(row, "close_date")
        name = name_on(names, key, opened.lo) or row.get("pcn_name") or ""
        text = f"PCN {key} {name}".rstrip() + f" opened {when(opened)}"
        if closed.known:
            text += f" and closed {when(closed)} (last day open)"
        found.append(
            Change(
                "pcns",
                "pcn-opened",
                key=key,
                field="open_date",
                new=opened.exact.isoformat() if opened.exact else "",
                description=text,
                covers=(
                    ("pcns", key, ""),
                    *name_changes(changes, key),
                    *derived_milestones(changes, key),
                ),
            )
        )
    for key, fields in changed_fields(changes, "pcns").items():
        if "pcn_name" in fields:
            name = fields["pcn_name"]
            covered = [("pcns", key, "pcn_name"), *name_changes(changes, key)]
            if "former_names" in fields and name.old in fields["former_names"].new:
                # a project that still packs former names: the old name kept, as it should be
                covered.append(("pcns", key, "former_names"))
            covered += derived_milestones(changes, key)
            found.append(
                Change(
                    "pcns",
                    "pcn-renamed",
                    key=key,
                    field="pcn_name",
                    old=name.old,
                    new=name.new,
                    description=f"PCN {key} renamed from {name.old} to {name.new}",
                    covers=tuple(covered),
                )
            )
        ends = [f for f in fields if f in end_columns("pcns")]
        was, now = before.get(key, {}), after.get(key, {})
        closed = moment(now, "close_date")
        if ends and not moment(was, "close_date").known and closed.known:
            last_name = name_on(names, key, closed.lo) or now.get("pcn_name") or ""
            found.append(
                Change(
                    "pcns",
                    "pcn-closed",
                    key=key,
                    field="close_date",
                    new=closed.exact.isoformat() if closed.exact else "",
                    description=f"PCN {key} {last_name}".rstrip()
                    + f" closed {when(closed)} (last day open)",
                    covers=(
                        *(("pcns", key, f) for f in ends),
                        *derived_milestones(changes, key),
                    ),
                )
            )
    return found


def name_rows(snapshot: Snapshot) -> Names:
    table = snapshot.tables.get("pcn_names")
    return names_by_pcn(table.typed_rows() if table is not None else [])


def name_changes(changes: Sequence[Change], code: str) -> list[tuple[str, str, str]]:
    """The pcn_names records a rename of PCN CODE added or changed (the old name's end, the new
    name's row): the rename explains them."""
    return [
        (c.resource, c.key, c.field)
        for c in changes
        if c.resource == "pcn_names" and c.group == RECORD and c.key.split(KEY_SEPARATOR)[0] == code
    ]


def derived_milestones(changes: Sequence[Change], code: str) -> list[tuple[str, str, str]]:
    """The changes to the milestones derived from a PCN's dates and name (see
    `pipeline.build.milestones`)."""
    events = (f"|pcn-opened-{code.lower()}", f"|pcn-closed-{code.lower()}")
    return [
        (c.resource, c.key, c.field)
        for c in changes
        if c.resource == "milestones" and c.group == RECORD and c.key.endswith(events)
    ]


@dataclass(frozen=True)
class Membership:
    key: str
    practice: str
    pcn: str
    start: Moment
    end: Moment
    fields: tuple[str, ...] = ()  # the end columns that changed, for a membership that ended


def membership_readings(old: Snapshot, new: Snapshot, changes: Sequence[Change]) -> list[Change]:
    resource = "pcn_memberships"
    if resource not in old.tables or resource not in new.tables:
        return []
    begun, ended = _begun_and_ended(old, new, changes)
    practices = names(old, new, "practices", "practice_code", "practice_name")
    pcns = names(old, new, "pcns", "pcn_code", "pcn_name")

    def practice(code: str) -> str:
        return f"Practice {code} {practices.get(code, '')}".rstrip()

    def pcn(code: str) -> str:
        return f"PCN {code} {pcns.get(code, '')}".rstrip()

    found = []
    for start in begun:
        left = next((e for e in ended if e.practice == start.practice and e.pcn != start.pcn), None)
        if left is not None:
            ended.remove(left)
            found.append(
                Change(
                    resource,
                    "practice-moved",
                    key=start.key,
                    field="pcn_code",
                    old=left.pcn,
                    new=start.pcn,
                    description=f"{practice(start.practice)} moved from {pcn(left.pcn)} to "
                    f"{pcn(start.pcn)} {when(start.start)}",
                    covers=((resource, start.key, ""),)
                    + tuple((resource, left.key, f) for f in left.fields),
                )
            )
            continue
        text = f"{practice(start.practice)} joined {pcn(start.pcn)} {when(start.start)}"
        if start.end.known:
            text += f"; its last day in it was {start.end.describe()}"
        found.append(
            Change(
                resource,
                "practice-joined",
                key=start.key,
                field="pcn_code",
                new=start.pcn,
                description=text,
                covers=((resource, start.key, ""),),
            )
        )
    for end in ended:
        found.append(
            Change(
                resource,
                "practice-left",
                key=end.key,
                field="pcn_code",
                old=end.pcn,
                description=f"{practice(end.practice)} left {pcn(end.pcn)}; its last day in it "
                f"was {end.end.describe()}",
                covers=tuple((resource, end.key, f) for f in end.fields),
            )
        )
    return found


def _begun_and_ended(
    old: Snapshot, new: Snapshot, changes: Sequence[Change]
) -> tuple[list[Membership], list[Membership]]:
    """The memberships added, and those whose end was unknown and is now known."""
    resource = "pcn_memberships"
    before, after = typed_by_key(old.tables[resource]), typed_by_key(new.tables[resource])
    begun = [_membership(k, after[k]) for k in added_keys(changes, resource) if k in after]
    ended = []
    for key, fields in changed_fields(changes, resource).items():
        ends = tuple(f for f in fields if f in end_columns(resource))
        was, now = before.get(key), after.get(key)
        if ends and was and now and not moment(was, "end_date").known:
            if moment(now, "end_date").known:
                ended.append(_membership(key, now, ends))
    return begun, ended


def _membership(key: str, row: dict[str, Any], fields: tuple[str, ...] = ()) -> Membership:
    return Membership(
        key,
        str(row.get("practice_code") or ""),
        str(row.get("pcn_code") or ""),
        moment(row, "start_date"),
        moment(row, "end_date"),
        fields,
    )


def open_pcns(snapshot: Snapshot, data: Dataset) -> dict[str, Count]:
    """Open PCNs per partnership on the snapshot's release date."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for row, span in data.rows_with_lives("pcns"):
        partnership = row.values.get("partnership")
        if partnership:
            groups[str(partnership)].append((row, span))
    return {pid: count_open(rows, snapshot.released, "pcn_code") for pid, rows in groups.items()}


def pcn_counts(old: Snapshot, new: Snapshot, old_data: Dataset, new_data: Dataset) -> list[Change]:
    tables = (old.tables.get("pcns"), new.tables.get("pcns"))
    if any(t is None or "partnership" not in t.field_names for t in tables):
        return []
    before, after = open_pcns(old, old_data), open_pcns(new, new_data)
    partnerships = names(old, new, "partnerships", "id", "name")
    found = []
    for pid in sorted(set(before) | set(after)):
        was, now = before.get(pid, Count(0, 0)), after.get(pid, Count(0, 0))
        if str(was) == str(now):
            continue
        found.append(
            Change(
                "partnerships",
                "pcn-count-changed",
                key=pid,
                old=str(was),
                new=str(now),
                description=f"Partnership {partnerships.get(pid, pid)}: {now} PCNs open on "
                + (
                    f"{new.released.isoformat()}, was {was}"
                    if new.released == old.released  # a refresh: the same day both sides
                    else f"{new.released.isoformat()}, was {was} on {old.released.isoformat()}"
                ),
            )
        )
    return found


def computed(data: Dataset, claim: dict[str, Any]) -> Count | None:
    check = CLAIM_CHECKS.get(str(claim.get("check")))
    as_at = claim.get("as_at")
    return check(data, as_at) if check is not None and isinstance(as_at, date) else None


def claim_figures(
    old: Snapshot, new: Snapshot, old_data: Dataset, new_data: Dataset
) -> list[Change]:
    if "claims" not in old.tables or "claims" not in new.tables:
        return []
    before, after = typed_by_key(old.tables["claims"]), typed_by_key(new.tables["claims"])
    found = []
    for key in sorted(set(before) & set(after)):
        was, now = computed(old_data, before[key]), computed(new_data, after[key])
        if str(was) == str(now):
            continue
        claim = after[key]
        as_at = claim.get("as_at")
        day = as_at.isoformat() if isinstance(as_at, date) else "?"
        gives, gave = ("no figure" if count is None else str(count) for count in (now, was))
        found.append(
            Change(
                "claims",
                "claim-figure-changed",
                key=key,
                old="" if was is None else str(was),
                new="" if now is None else str(now),
                description=f"Claim {key}: the records now give {gives} "
                f"{claim.get('unit') or ''} on {day}, {gave} before; the claim says "
                f"{json_value(claim.get('figure'))}",
            )
        )
    return found
