"""The figures and events of a new project: one claim init can check (the PCNs open on the
newest file's date), and no milestones (the ICS's own events are typed by hand)."""

from __future__ import annotations

from datetime import date

from pipeline.upstream.init.package import DERIVED_ID, Registry


def pcn_claim(day: date, count: int, registry: Registry) -> dict[str, str]:
    """A claim of COUNT PCNs open on DAY, made by init and marked so in its note."""
    newest = registry.newest()
    return {
        "id": f"pcns-on-{day.isoformat()}",
        "statement": f"{count} primary care networks on {day.isoformat()}.",
        "figure": str(count),
        "unit": "primary care networks",
        "as_at": day.isoformat(),
        "check": "pcns-open",
        "note": f"Made by ics-data init from the PCNs of the ICS open on the date of the "
        f"newest file ({newest.file}), not stated by the ICS: replace it with the ICS's own "
        "figures.",
        "source": registry.cite(newest.id, DERIVED_ID),
    }
