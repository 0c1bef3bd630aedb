"""What the ICS says it is (`sources/ics.yaml`): its ICB, its sub-ICB locations, its former
CCGs, and how its PCNs map to local partnerships. Every rule that depends on the ICS's boundary
or its partnerships reads it from here, so no ICS's codes are written in code.

A PCN is the ICS's own when its commissioner (`pcns.sub_icb_code`) is one of these codes; any
other PCN in the records is a reference: a PCN of another ICB that the ICS's history touches
(one of its practices belonged to it), whose ICB is that of its commissioner in `organisations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

# How an ICS's PCNs map to its partnerships (ics.partnership_rule).
BY_CCG_2019 = "ccg-2019"  # by the member practices' 2019 CCG (partnerships.ccgs_2019)
BY_SUB_ICB = "sub-icb-location"  # by the PCN's commissioner (partnerships.sub_icb_locations)
HAND_KEPT = "hand-kept"  # kept by hand; a PCN not yet given one is a warning
NO_PARTNERSHIPS = "none"  # the ICS has no partnership layer
PARTNERSHIP_RULES = (BY_CCG_2019, BY_SUB_ICB, HAND_KEPT, NO_PARTNERSHIPS)


def split_codes(text: object) -> tuple[str, ...]:
    """Codes or ids written "A; B; C" (None or empty gives none)."""
    if not isinstance(text, str):
        return ()
    return tuple(part.strip() for part in text.split(";") if part.strip())


@dataclass(frozen=True)
class Scope:
    """The ICS's own codes and its partnership rule."""

    icb: str
    sub_icb_locations: tuple[str, ...] = ()
    former_ccgs: tuple[str, ...] = ()
    partnership_rule: str = BY_CCG_2019
    statutory_since: date | None = None  # the day its ICB replaced the CCGs (ics.yaml)

    @property
    def codes(self) -> frozenset[str]:
        """Every code whose upstream rows belong to the ICS."""
        return frozenset(c for c in (self.icb, *self.sub_icb_locations, *self.former_ccgs) if c)

    def owns(self, commissioner: object) -> bool:
        """Is a PCN with this commissioner the ICS's own (not a reference)?"""
        return isinstance(commissioner, str) and commissioner in self.codes

    @property
    def has_partnerships(self) -> bool:
        return self.partnership_rule != NO_PARTNERSHIPS


def scope_of(records: Iterable[Mapping[str, object]]) -> Scope | None:
    """The scope the (single) ics record states; None without a record with a code."""
    for values in records:
        code = values.get("code")
        if not isinstance(code, str) or not code:
            continue
        rule = values.get("partnership_rule")
        return Scope(
            code,
            split_codes(values.get("sub_icb_locations")),
            split_codes(values.get("former_ccgs")),
            rule if isinstance(rule, str) and rule in PARTNERSHIP_RULES else BY_CCG_2019,
            since if isinstance(since := values.get("statutory_since"), date) else None,
        )
    return None


def outside_before_icb(
    scope: Scope | None, practices: Iterable[Mapping[str, object]], day: date
) -> frozenset[str]:
    """The practices in the records that were not in the ICS's area on DAY, when DAY is before
    its ICB existed (`statutory_since`): then the area was its CCGs', and a practice is in it by
    its 2019 CCG (`practices.ccg_2019_code`, the one dated CCG every practice has), one of the
    ICS's codes. A practice with no 2019 CCG counts as in the area; on and after the ICB's first
    day, or with no such day, every practice of the records does. (In July 2022 some practices
    changed ICB: West Birmingham's, Glossop's; ePCN gives them under their new ICB only.)"""
    if scope is None or scope.statutory_since is None or day >= scope.statutory_since:
        return frozenset()
    codes = scope.codes
    return frozenset(
        str(p.get("practice_code"))
        for p in practices
        if isinstance(ccg := p.get("ccg_2019_code"), str) and ccg and ccg not in codes
    )
