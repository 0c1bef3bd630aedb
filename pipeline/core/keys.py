"""Keys that are known even when a date is not: a membership's stable id.

A practice's membership of a PCN is identified by `membership_id`, `<practice>-<pcn>-<n>`: the
practice code, the PCN code and the ordinal of that practice's period in that PCN (1 for the
first), given when the record is made and never renumbered. A start date known only by its
bounds is therefore never part of a key, and a later file that gives the exact date corrects
a value (a patch) instead of changing which record it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MEMBERSHIP_ID = re.compile(r"^([A-Z][0-9]{5})-(U[0-9]{5})-([1-9][0-9]*)$")


def membership_prefix(practice: str, pcn: str) -> str:
    return f"{practice}-{pcn}-"


def next_membership_id(practice: str, pcn: str, taken: Iterable[str]) -> str:
    """The id for a new period of PRACTICE in PCN: one more than the highest ordinal TAKEN."""
    prefix = membership_prefix(practice, pcn)
    used = [
        int(match[3])
        for ident in taken
        if ident.startswith(prefix) and (match := MEMBERSHIP_ID.match(ident))
    ]
    return f"{prefix}{max(used, default=0) + 1}"
