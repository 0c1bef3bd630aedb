"""The ICS's part of the national upstream files, and the order they are merged in.

What is the ICS's comes from `sources/ics.yaml` only (`pipeline.core.scope`): its ICB, its
sub-ICB locations and its former CCGs. Kept from an ePCN workbook: the PCNs those codes
commission; the practice-PCN periods whose practice or PCN has one of those parents, or whose
practice is one of the ICS's practices in the mapping file; and, as references, the PCNs of other
ICBs those periods name. Kept from a mapping file: the practices of those codes. Nothing else of
another ICB is imported, so the set never grows by itself through a shared history.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import date

from pipeline.upstream.editable import EditableTables, Stamp
from pipeline.upstream.readers import EpcnExtract, GpMapExtract, filter_epcn, filter_gp_map
from pipeline.upstream.reconcile import apply_epcn, apply_gp_map


def keep_epcn(
    extract: EpcnExtract, codes: AbstractSet[str], practices: AbstractSet[str] = frozenset()
) -> EpcnExtract:
    """The ICS's rows, plus any PCN elsewhere that one of its practices belonged to."""
    kept = filter_epcn(extract, codes)
    if practices:
        have = {id(rel) for rel in kept.relationships}
        more = tuple(
            rel
            for rel in extract.relationships
            if rel.practice_code in practices and id(rel) not in have
        )
        kept = replace(kept, relationships=kept.relationships + more)
    have_pcns = {pcn.code for pcn in kept.pcns}
    wanted = {rel.pcn_code for rel in kept.relationships} - have_pcns
    extra = tuple(pcn for pcn in extract.pcns if pcn.code in wanted)
    return replace(kept, pcns=kept.pcns + extra) if extra else kept


def keep_gp_map(extract: GpMapExtract, codes: AbstractSet[str]) -> GpMapExtract:
    """The practices of the ICS's sub-ICB locations (or of its ICB)."""
    return filter_gp_map(extract, codes)


def merge_upstream(
    records: EditableTables, inputs: Sequence[tuple[Stamp, EpcnExtract | GpMapExtract]]
) -> None:
    """Merge the kept upstream files into the records, oldest first, so that a newer file has
    the last word; a mapping file's changes are bounded by the newest day known before it."""
    known: date | None = records.newest_known()
    for stamp, extract in sorted(inputs, key=lambda item: item[0].vintage):
        records.vintages[stamp.id] = stamp.vintage
        if isinstance(extract, EpcnExtract):
            apply_epcn(records, extract, stamp)
        else:
            apply_gp_map(records, extract, stamp, known)
        known = max(d for d in (known, stamp.vintage) if d is not None)
