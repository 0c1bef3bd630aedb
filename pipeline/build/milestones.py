"""Facts derived from the records at build time, rather than typed by hand.

Milestones: each PCN opening and closing with an exact date becomes a milestone, under the name
the PCN had that day (pcn_names), so that the typed milestones hold only what no record says.
A date known only between bounds gives no milestone (it has no single day).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pipeline.core.model import Dataset
from pipeline.core.names import name_on, names_by_pcn


def derived_rows(dataset: Dataset) -> dict[str, list[dict[str, Any]]]:
    if "milestones" not in dataset.tables or "pcns" not in dataset.tables:
        return {}
    return {"milestones": pcn_milestones(dataset)}


def pcn_milestones(dataset: Dataset) -> list[dict[str, Any]]:
    fields = dataset.tables["milestones"].schema.field_names
    typed = {
        (row.values.get("date"), row.values.get("event")) for row in dataset.rows("milestones")
    }
    names = names_by_pcn(dataset.values("pcn_names"))
    out = []
    for pcn in dataset.values("pcns"):
        code = pcn.get("pcn_code")
        for column, verb in (("open_date", "opened"), ("close_date", "closed")):
            day = pcn.get(column)
            if not isinstance(day, date) or code is None:
                continue
            # the name it had that day, not today's: a rename never rewrites history
            name = name_on(names, str(code), day) or pcn.get("pcn_name")
            row = {
                "date": day.isoformat(),
                "event": f"pcn-{verb}-{str(code).lower()}",
                "description": f"{name} ({code}) {verb}",
                "source": "DERIVED; " + str(pcn.get("source") or "").split(";")[0].strip(),
                "derived": True,
            }
            if (row["date"], row["event"]) in typed:
                continue  # a typed milestone says it already
            out.append({k: v for k, v in row.items() if k in fields})
    return out
