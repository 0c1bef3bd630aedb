"""A new PCN's partnership, proposed as the ICS's partnership rule says, for a person to confirm.

Under `ccg-2019` a PCN follows its member practices' 2019 CCG (else their earlier PCNs); under
`sub-icb-location`, its commissioner. The proposal sets `partnership_review` = true and adds a
`Note`; a PCN of another ICB, or an ICS whose partnerships are hand-kept or absent, gets none.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from pipeline.core.scope import BY_CCG_2019, BY_SUB_ICB, HAND_KEPT, NO_PARTNERSHIPS
from pipeline.core.timeline import life, moment
from pipeline.upstream.csvedit import CsvRow
from pipeline.upstream.editable import EditableTables, Stamp

# How a proposed partnership is derived, in the words of partnership_basis.
CCG_BASIS = "derived: member practices' 2019 CCG (EPCMEM)"
HISTORY_BASIS = "derived: member practices' earlier PCNs"
COMMISSIONER_BASIS = "derived: commissioner sub-ICB location"


def propose_partnership(records: EditableTables, row: CsvRow, stamp: Stamp, as_at: date) -> None:
    """Propose the partnership of the PCN ROW (see the module), citing STAMP's file."""
    code = row.get("pcn_code")
    rule = records.scope.partnership_rule if records.scope is not None else BY_CCG_2019
    if not records.owns(row) or rule in (HAND_KEPT, NO_PARTNERSHIPS):
        records.put(row, "partnership_review", "false", stamp)
        if records.owns(row) and rule == HAND_KEPT:
            records.note(
                "partnership-to-set",
                "pcns",
                code,
                f"PCN {code} {row.get('pcn_name')} is new: set its partnership by hand (the "
                "partnership rule is hand-kept)",
            )
        return
    if rule == BY_SUB_ICB:
        _propose_by_commissioner(records, row, stamp)
    else:
        _propose_by_members(records, row, stamp, as_at)


def _propose_by_members(records: EditableTables, row: CsvRow, stamp: Stamp, as_at: date) -> None:
    code, name = row.get("pcn_code"), row.get("pcn_name")
    votes, basis = _member_votes(records, row, as_at)
    records.put(row, "partnership_review", "true", stamp)
    if not votes:
        records.note(
            "no-partnership",
            "pcns",
            code,
            f"PCN {code} {name}: no member practice has a 2019 CCG or an earlier PCN, so no "
            "partnership can be proposed; set partnership and partnership_basis in "
            "sources/pcns.csv by hand",
        )
        return
    ranked = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
    chosen = ranked[0][0]
    records.put(row, "partnership", chosen, stamp)
    records.put(row, "partnership_basis", basis, stamp)
    records.stamp(row, stamp, records.derivation_ids)
    message = (
        f"PCN {code} {name} is new: partnership {chosen} proposed from {basis[9:]}; "
        "partnership_review = true until someone confirms it"
    )
    records.note("partnership-proposed", "pcns", code, message)
    if len(ranked) > 1:
        split = ", ".join(f"{part} {count}" for part, count in ranked)
        records.note(
            "partnership-split",
            "pcns",
            code,
            f"PCN {code} {name}: its members point to more than one partnership ({split})",
        )


def _member_votes(records: EditableTables, row: CsvRow, as_at: date) -> tuple[Counter[str], str]:
    """The partnerships the PCN's members point to, with the basis in words: their 2019 CCGs,
    else their earlier PCNs' partnerships."""
    code = row.get("pcn_code")
    closed = moment(row, "close_date")
    members = _members_of(records, code, as_at, closed.known)
    label = f"as at {closed.hi}: " if closed.known and closed.hi else ""
    ccgs = Counter(
        ccg
        for practice in members
        if (ccg := _practice_ccg(records, practice)) and ccg in records.partnership_of_ccg
    )
    votes: Counter[str] = Counter()
    if ccgs:
        for ccg, count in ccgs.items():
            votes[records.partnership_of_ccg[ccg]] += count
        evidence = "; ".join(f"{ccg}:{count}" for ccg, count in sorted(ccgs.items()))
        return votes, f"{CCG_BASIS} {label}{evidence}"
    history = Counter(pcn for practice in members if (pcn := _earlier_pcn(records, practice, code)))
    for pcn, count in history.items():
        earlier = records.pcn(pcn)
        votes[earlier.get("partnership") if earlier is not None else ""] += count
    evidence = "; ".join(f"{pcn}:{count}" for pcn, count in sorted(history.items()))
    return votes, f"{HISTORY_BASIS} {label}{evidence}"


def _propose_by_commissioner(records: EditableTables, row: CsvRow, stamp: Stamp) -> None:
    code, commissioner = row.get("pcn_code"), row.get("sub_icb_code")
    records.put(row, "partnership_review", "true", stamp)
    chosen = records.partnership_of_sub_icb.get(commissioner)
    if chosen is None:
        records.note(
            "no-partnership",
            "pcns",
            code,
            f"PCN {code} {row.get('pcn_name')}: no partnership lists its commissioner "
            f"{commissioner} in sub_icb_locations; set partnership by hand",
        )
        return
    records.put(row, "partnership", chosen, stamp)
    records.put(row, "partnership_basis", f"{COMMISSIONER_BASIS} {commissioner}", stamp)
    records.stamp(row, stamp, records.derivation_ids)
    records.note(
        "partnership-proposed",
        "pcns",
        code,
        f"PCN {code} {row.get('pcn_name')} is new: partnership {chosen} proposed from its "
        f"commissioner {commissioner}; partnership_review = true until someone confirms it",
    )


def _members_of(records: EditableTables, pcn: str, day: date, closed: bool) -> list[str]:
    rows = records.members_of_pcn(pcn)
    current = [
        row.get("practice_code")
        for row in rows
        if life(row, "start_date", "end_date").possibly_on(day)
    ]
    chosen = current if current and not closed else [row.get("practice_code") for row in rows]
    return sorted(set(chosen))


def _practice_ccg(records: EditableTables, practice: str) -> str:
    row = records.practice_row(practice)
    return row.get("ccg_2019_code") if row else ""


def _earlier_pcn(records: EditableTables, practice: str, pcn: str) -> str | None:
    """The practice's most recent other PCN that has a partnership."""
    earlier = [
        row
        for row in records.memberships_of_practice(practice)
        if row.get("pcn_code") != pcn
        and (other := records.pcn(row.get("pcn_code"))) is not None
        and other.get("partnership")
    ]
    if not earlier:
        return None
    latest = max(earlier, key=lambda row: moment(row, "start_date").lo or date.min)
    return latest.get("pcn_code")
