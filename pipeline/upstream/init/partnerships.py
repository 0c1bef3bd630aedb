"""What the ICS is: its `ics` record, its objectives and its partnerships, as init can know them.

Partnerships start as the partnership rule says: `sub-icb-location` makes one per sub-ICB
location, with the former CCGs most of whose practices are in it now; `ccg-2019` one per 2019
CCG of the ICS's practices; `hand-kept` and `none` make none. Each PCN of the ICS then follows
the rule (`pipeline.upstream.proposals`). The objectives are the four purposes every ICS has.

Init cannot know the ICS's own partnerships or objectives: each partnership it derives is marked
`name_review` and each objective `objective_review`, review items that keep `publish` refused
until a person settles them (`pipeline.check.review`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

from pipeline.core.scope import BY_CCG_2019, BY_SUB_ICB, Scope
from pipeline.upstream.csvedit import CsvRow
from pipeline.upstream.editable import EditableTables
from pipeline.upstream.init.inputs import InitInputs
from pipeline.upstream.init.organisations import STATUTORY_DAY, IcbFacts, org_names, sub_icb_names
from pipeline.upstream.init.package import (
    DERIVED_ID,
    ECCG_ID,
    EPCMEM_ID,
    ICB_NAMES_ID,
    PURPOSES_ID,
    STATUTORY_ID,
    Registry,
)
from pipeline.upstream.proposals import propose_partnership

# The four purposes every ICS has (NHS England, "Integrating care: next steps", 2020), as the
# source registered under PURPOSES_ID lists them.
PURPOSES = (
    "Improving population health and healthcare outcomes",
    "Tackling inequalities in outcomes, experience and access",
    "Enhancing productivity and value for money",
    "Helping the NHS to support broader social and economic development",
)


def ics_record(facts: IcbFacts, scope: Scope, registry: Registry) -> dict[str, str]:
    statutory = STATUTORY_DAY.isoformat() if facts.statutory else ""
    return {
        "code": facts.code,
        "name": facts.system,
        "icb_name": facts.short,
        "icb_legal_name": facts.legal,
        "ons_code": facts.ons_code,
        "sub_icb_locations": "; ".join(scope.sub_icb_locations),
        "former_ccgs": "; ".join(scope.former_ccgs),
        "partnership_rule": scope.partnership_rule,
        "region_ods_code": facts.region[0],
        "region_name": facts.region[1],
        "region_ons_code": facts.region[2],
        "statutory_since": statutory,
        "source": registry.cite(
            registry.map_id,
            ICB_NAMES_ID,
            ECCG_ID,
            STATUTORY_ID if statutory else "",
            DERIVED_ID,
        ),
    }


def objectives() -> list[dict[str, object]]:
    return [
        {"number": n, "objective": text, "objective_review": "true", "source": PURPOSES_ID}
        for n, text in enumerate(PURPOSES, start=1)
    ]


def partnership_layer(
    records: EditableTables,
    scope: Scope,
    facts: IcbFacts,
    inputs: InitInputs,
    registry: Registry,
) -> tuple[list[dict[str, str]], EditableTables]:
    """The partnerships of SCOPE's rule, and RECORDS with that partnership layer (the same
    documents, indexed again), each PCN of the ICS in its partnership."""
    map_stamp = registry.stamp(registry.map_id)
    for row in records.pcns.rows:
        records.put(row, "partnership_review", "false", map_stamp)
    if scope.partnership_rule == BY_SUB_ICB:
        of_sub_icb, made = _sub_icb_partnerships(records, scope, facts, inputs, registry)
        layered = replace(records, scope=scope, partnership_of_sub_icb=of_sub_icb)
    elif scope.partnership_rule == BY_CCG_2019:
        of_ccg, made = _ccg_partnerships(records, scope, inputs, registry)
        derivation = registry.declared(EPCMEM_ID, DERIVED_ID)
        layered = replace(
            records, scope=scope, partnership_of_ccg=of_ccg, derivation_ids=derivation
        )
    else:
        return [], replace(records, scope=scope)
    for row in _own_pcns(layered, scope):
        propose_partnership(layered, row, map_stamp, registry.release_date)
        # Each PCN follows the rule as it stands; what awaits review is the partnership
        # layer itself, which partnerships.note says. A split vote stays marked for review.
        if not any(
            n.code == "partnership-split" and n.key == row.get("pcn_code") for n in layered.notes
        ):
            layered.put(row, "partnership_review", "false", map_stamp)
    layered.notes[:] = [n for n in layered.notes if n.code != "partnership-proposed"]
    return made, layered


def _own_pcns(records: EditableTables, scope: Scope) -> list[CsvRow]:
    return [row for row in records.pcns.rows if scope.owns(row.get("sub_icb_code"))]


def _sub_icb_partnerships(
    records: EditableTables,
    scope: Scope,
    facts: IcbFacts,
    inputs: InitInputs,
    registry: Registry,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    names = sub_icb_names(facts, inputs)
    # A former code goes with the sub-ICB location most of its practices are in now.
    now = {row.practice_code: row.sub_icb_code for row in facts.map_rows}
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for row in records.practices.rows:
        code = row.get("practice_code")
        if code in now and row.get("ccg_2019_code") in scope.former_ccgs:
            votes[row.get("ccg_2019_code")][now[code]] += 1
    for row in records.memberships.rows:
        pcn = records.pcn(row.get("pcn_code"))
        practice = row.get("practice_code")
        if pcn is not None and practice in now and pcn.get("sub_icb_code") in scope.former_ccgs:
            votes[pcn.get("sub_icb_code")][now[practice]] += 1
    assigned: dict[str, list[str]] = {code: [code] for code in scope.sub_icb_locations}
    for code in scope.former_ccgs:
        ranked = sorted(votes[code].items(), key=lambda item: (-item[1], item[0]))
        if ranked:
            assigned[ranked[0][0]].append(code)
        elif len(scope.sub_icb_locations) == 1:
            assigned[scope.sub_icb_locations[0]].append(code)
    of_sub_icb: dict[str, str] = {}
    made = []
    for code in scope.sub_icb_locations:
        ident = f"sub-icb-{code.lower()}"
        of_sub_icb.update({member: ident for member in assigned[code]})
        name = names.get(code, code)
        made.append(
            {
                "id": ident,
                "name": name,
                "full_name": f"{name} (sub-ICB location {code})",
                "sub_icb_locations": "; ".join(assigned[code]),
                "note": "derived: one partnership per sub-ICB location, made by ics-data "
                "init, with the former CCGs most of whose practices are in it now; for "
                "review: name, merge or split the partnerships as the ICS has them",
                "name_review": "true",
                "source": registry.cite(registry.map_id, ECCG_ID, DERIVED_ID),
            }
        )
    return of_sub_icb, made


def _ccg_partnerships(
    records: EditableTables, scope: Scope, inputs: InitInputs, registry: Registry
) -> tuple[dict[str, str], list[dict[str, str]]]:
    own = {row.get("pcn_code") for row in _own_pcns(records, scope)}
    members = {
        row.get("practice_code") for row in records.memberships.rows if row.get("pcn_code") in own
    }
    ccgs = sorted(
        {
            row.get("ccg_2019_code")
            for row in records.practices.rows
            if row.get("practice_code") in members and row.get("ccg_2019_code")
        }
    )
    names = org_names(inputs)
    of_ccg: dict[str, str] = {}
    made = []
    for ccg in ccgs:
        ident = f"ccg-{ccg.lower()}"
        of_ccg[ccg] = ident
        name = names.get(ccg, ccg)
        made.append(
            {
                "id": ident,
                "name": name,
                "full_name": f"{name} (former CCG {ccg})",
                "ccgs_2019": ccg,
                "note": "derived: one partnership per 2019 CCG of the ICS's practices, made "
                "by ics-data init; for review: name and group them as the ICS's partnerships",
                "name_review": "true",
                "source": registry.cite(EPCMEM_ID, ECCG_ID, DERIVED_ID),
            }
        )
    return of_ccg, made
