"""Keys a schema pattern cannot check alone: a membership's id names its own practice and PCN
(`pipeline.core.keys`), and an id that does not says which one would."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.check.tables import row_issue
from pipeline.core.issues import Issue, quote
from pipeline.core.keys import MEMBERSHIP_ID, membership_prefix, next_membership_id
from pipeline.core.model import Dataset

MEMBERSHIPS = "pcn_memberships"


def check_membership_ids(dataset: Dataset, found: Iterable[Issue] = ()) -> Iterable[Issue]:
    """Each membership's id names its practice and PCN. A record whose practice or PCN code is
    already reported wrong (in FOUND) is left to that report: fixing the code fixes the id."""
    table = dataset.tables.get(MEMBERSHIPS)
    if table is None or "membership_id" not in table.schema.field_names:
        return
    codes = ("practice_code", "pcn_code")
    doubted = {i.record for i in found if i.resource == MEMBERSHIPS and i.field in codes}
    taken = [str(v) for v in (r.values.get("membership_id") for r in table.rows) if v]
    for row in table.rows:
        ident, practice, pcn = (
            row.values.get(name) for name in ("membership_id", "practice_code", "pcn_code")
        )
        if not isinstance(practice, str) or not isinstance(pcn, str):
            continue  # reported by the table check
        if row.record.index in doubted:
            continue
        prefix = membership_prefix(practice, pcn)
        if isinstance(ident, str) and ident.startswith(prefix) and MEMBERSHIP_ID.match(ident):
            continue
        suggestion = next_membership_id(practice, pcn, taken)
        said = f"{quote(ident)} does not name" if ident else "the id is empty; it must name"
        yield row_issue(
            table,
            row,
            "membership_id",
            "membership-id",
            f"{said} this record's practice and PCN ({prefix}<n>): use {suggestion} for a new "
            f"period of {practice} in {pcn}",
            ident,
        )
