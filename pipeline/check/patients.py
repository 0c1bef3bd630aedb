"""Registered patients add up: each ICB and sub-ICB row of `registered_totals` is the sum over
its PCNs in `registered_patients` plus the patients of its practices in no PCN.

- `in_pcns` equals the sum of the area's PCN rows on the same extract date, sex and band (for
  `all`, over every sex or band); a sub-ICB location's PCNs are those it commissions (`pcns`);
- `patients` = `in_pcns` + `unallocated`;
- a band's sexes and bands add up to the `all` rows of the same area.

Any difference is an issue at the totals row (code `patients-sum`), naming both figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from pipeline.check.tables import row_issue
from pipeline.core.issues import Issue
from pipeline.core.model import Dataset

PCN_TABLE = "registered_patients"
TOTALS_TABLE = "registered_totals"
ALL = "all"


def pcn_sums(dataset: Dataset) -> dict[tuple[date, str, str, str], int]:
    """(extract date, PCN code, sex, band) -> patients, with `all` summed over sex and band;
    worked out once per dataset (the totals check and the claims both ask)."""
    return dataset.once("pcn_sums", PCN_TABLE, _pcn_sums)


def _pcn_sums(dataset: Dataset) -> dict[tuple[date, str, str, str], int]:
    sums: dict[tuple[date, str, str, str], int] = defaultdict(int)
    for values in dataset.values(PCN_TABLE):
        day, code = values.get("extract_date"), values.get("pcn_code")
        sex, band, patients = values.get("sex"), values.get("age_band"), values.get("patients")
        if not isinstance(day, date) or not isinstance(patients, int) or not code:
            continue
        for s in (str(sex), ALL):
            for b in (str(band), ALL):
                sums[(day, str(code), s, b)] += patients
    return sums


def icb_registered(dataset: Dataset, day: date | None = None) -> tuple[date, str, int] | None:
    """The ICB's registered patients (sex and age `all`) on `day`, or on the newest extract
    date when `day` is None: (date, ICB code, patients)."""
    rows = [
        v
        for v in dataset.values(TOTALS_TABLE)
        if v.get("area_type") == "icb"
        and v.get("sex") == ALL
        and v.get("age_band") == ALL
        and isinstance(v.get("extract_date"), date)
        and isinstance(v.get("patients"), int)
    ]
    if day is not None:
        rows = [v for v in rows if v["extract_date"] == day]
    if not rows:
        return None
    newest = max(rows, key=lambda v: (v["extract_date"], str(v.get("area_code"))))
    return newest["extract_date"], str(newest.get("area_code")), int(newest["patients"])


def check_patients(dataset: Dataset) -> Iterable[Issue]:
    table = dataset.tables.get(TOTALS_TABLE)
    if table is None or PCN_TABLE not in dataset.tables or "pcns" not in dataset.tables:
        return  # a table missing or unreadable is reported where it is
    sums = pcn_sums(dataset)
    commissioner = {
        str(v.get("pcn_code")): str(v.get("sub_icb_code") or "") for v in dataset.values("pcns")
    }
    pcns_on: dict[date, set[str]] = defaultdict(set)
    for extract_date, pcn_code, _, _ in sums:
        pcns_on[extract_date].add(pcn_code)
    by_area: dict[tuple[Any, ...], dict[tuple[str, str], int]] = defaultdict(dict)
    for row in table.rows:
        v = row.values
        day, area_type, code = v.get("extract_date"), v.get("area_type"), v.get("area_code")
        sex, band = str(v.get("sex")), str(v.get("age_band"))
        patients_n, in_pcns_n, rest_n = v.get("patients"), v.get("in_pcns"), v.get("unallocated")
        if not (
            isinstance(day, date)
            and isinstance(patients_n, int)
            and isinstance(in_pcns_n, int)
            and isinstance(rest_n, int)
        ):
            continue  # a type error, already reported
        if area_type != "icb" and any(pcn not in commissioner for pcn in pcns_on[day]):
            continue  # a PCN row names no PCN of pcns: reported as a foreign key, not summed
        members = [
            pcn for pcn in pcns_on[day] if area_type == "icb" or commissioner.get(pcn) == code
        ]
        summed = sum(sums.get((day, pcn, sex, band), 0) for pcn in members)
        where = f"{area_type} {code} on {day}, sex {sex}, age {band}"
        if summed != in_pcns_n:
            yield row_issue(
                table,
                row,
                "in_pcns",
                "patients-sum",
                f"{where}: in_pcns is {in_pcns_n} but its {len(members)} PCNs in {PCN_TABLE} "
                f"add up to {summed}",
                in_pcns_n,
            )
        if patients_n != in_pcns_n + rest_n:
            yield row_issue(
                table,
                row,
                "unallocated",
                "patients-sum",
                f"{where}: patients {patients_n} is not in_pcns {in_pcns_n} + unallocated {rest_n}",
                rest_n,
            )
        by_area[(day, area_type, code)][(sex, band)] = patients_n
    for row in table.rows:
        v = row.values
        sex, band = str(v.get("sex")), str(v.get("age_band"))
        if not (sex == ALL or band == ALL) or (sex == ALL and band != ALL):
            continue
        cells = by_area.get((v.get("extract_date"), v.get("area_type"), v.get("area_code")), {})
        if sex == ALL:
            parts = [n for (s, b), n in cells.items() if s != ALL and b == ALL]
            what = "its female and male rows"
        else:
            parts = [n for (s, b), n in cells.items() if s == sex and b != ALL]
            what = f"its {sex} age bands"
        stated = cells.get((sex, band))
        if parts and stated is not None and sum(parts) != stated:
            yield row_issue(
                table,
                row,
                "patients",
                "patients-sum",
                f"{v.get('area_type')} {v.get('area_code')} on {v.get('extract_date')}: "
                f"{stated} patients, but {what} add up to {sum(parts)}",
                stated,
            )
