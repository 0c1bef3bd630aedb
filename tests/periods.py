"""A tiny project whose PCNs, memberships and PCN names hold every kind of period the records
allow: exact dates, only the earliest or only the latest bound, both bounds, open-ended, one day,
a PCN closed before the latest day it may have opened, a PCN whose opening is not known, and
memberships across the day the ICB began (before it, the golden project's practices were of
another area). Published once per session; the release page's structure on any day is checked
against `ics-data as-at` on it, in Python and in a browser."""

from __future__ import annotations

import atexit
import csv
import functools
import io
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from conftest import SCHEMAS, Project, copy_small_project

from pipeline.check.structure import structure_as_at
from pipeline.core.model import Validation
from pipeline.core.names import name_on, names_by_pcn
from pipeline.stages import publish_release

PCNS = [
    # code, name, open (exact, earliest, latest), close (exact, earliest, latest)
    ("U20001", "EXACT PCN", ("2020-01-15", "", ""), ("2021-06-30", "", "")),
    ("U20002", "ONLY EARLIEST PCN", ("", "2020-03-01", ""), ("", "", "")),
    ("U20003", "ONLY LATEST PCN", ("", "", "2020-05-10"), ("", "2024-01-10", "")),
    (
        "U20004",
        "BOTH BOUNDS PCN",
        ("", "2020-02-01", "2020-04-30"),
        ("", "2023-01-01", "2023-03-31"),
    ),
    ("U20005", "ONE DAY PCN", ("2021-02-01", "", ""), ("2021-02-01", "", "")),
    (
        "U20006",
        "CLOSED BEFORE ITS LATEST OPENING",
        ("", "2020-01-01", "2020-06-30"),
        ("2020-03-01", "", ""),
    ),
    ("U20007", "LATEST CLOSE ONLY PCN", ("2020-01-01", "", ""), ("", "", "2024-05-05")),
    ("U20008", "OPEN ENDED PCN", ("2019-12-31", "", ""), ("", "", "")),
    ("U20009", "NO OPENING PCN", ("", "", ""), ("", "", "")),
    ("U20010", "LATEST BOUNDS ONLY PCN", ("", "", "2021-07-07"), ("", "", "2025-08-08")),
]
MEMBERSHIPS = [
    # practice, PCN, start (exact, earliest, latest), end (exact, earliest, latest)
    ("G90001", "U20002", ("", "2022-05-01", "2022-08-15"), ("2024-02-29", "", "")),
    ("G90001", "U20007", ("2024-03-01", "", ""), ("", "2024-04-01", "2024-05-05")),
    ("G90002", "U20004", ("", "2020-05-01", "2022-09-30"), ("", "2022-12-01", "2023-03-31")),
    ("G90003", "U20008", ("2023-05-05", "", ""), ("2023-05-05", "", "")),
    ("G90003", "U20008", ("2023-05-06", "", ""), ("", "", "")),
    ("G90004", "U20003", ("", "", "2021-01-01"), ("", "2024-01-10", "")),
    ("G90005", "U20010", ("", "2021-07-07", ""), ("", "", "2025-08-08")),
    ("G90006", "U20008", ("2021-07-01", "", ""), ("", "2022-06-01", "2022-07-15")),
    ("G90006", "U20001", ("2020-01-15", "", ""), ("2021-06-30", "", "")),
]
NAMES = [
    # PCN, number, name, from (exact, earliest, latest), to (exact, earliest, latest)
    ("U20004", 1, "BOTH BOUNDS PCN BEFORE", ("", "", ""), ("", "2021-03-01", "2021-09-30")),
    ("U20004", 2, "BOTH BOUNDS PCN", ("", "2021-03-02", "2021-10-01"), ("", "", "")),
    ("U20007", 1, "LATEST CLOSE ONLY PCN FIRST", ("", "", ""), ("2022-02-02", "", "")),
    ("U20007", 2, "LATEST CLOSE ONLY PCN", ("2022-02-03", "", ""), ("", "", "")),
]
NAME_HEADER = [
    "pcn_code",
    "number",
    "name",
    "valid_from",
    "valid_from_earliest",
    "valid_from_latest",
    "valid_to",
    "valid_to_earliest",
    "valid_to_latest",
    "source",
]
BASIS = "derived: member practices' 2019 CCG (EPCMEM) 09E:1"


def periods_project(root: Path) -> Project:
    """The golden project with the PCNs, memberships and names above (and a name row for each
    of its own PCNs), under ROOT."""
    project = copy_small_project(root)
    pcns = project.read("pcns.csv")
    for code, name, opened, closed in PCNS:
        row = [code, name, "91Q", *opened, *closed, "east-kent", BASIS, "false", "", "EPCN25"]
        pcns += ",".join(row) + "\n"
    project.write("pcns.csv", pcns)
    memberships = project.read("pcn_memberships.csv")
    for practice, pcn, start, end in MEMBERSHIPS:
        memberships += ",".join([practice, pcn, *start, *end, "EPCN25"]) + "\n"
    project.write("pcn_memberships.csv", memberships)
    practices = project.read("practices.csv")
    for practice in sorted({row[0] for row in MEMBERSHIPS}):
        practices += f"{practice},SURGERY {practice},,09E,EPCN25\n"
    project.write("practices.csv", practices)
    shutil.copyfile(SCHEMAS / "pcn_names.schema.yaml", project.schemas / "pcn_names.schema.yaml")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NAME_HEADER)
    renamed = {row[0] for row in NAMES}
    for row in csv.DictReader(io.StringIO(project.read("pcns.csv"))):
        if row["pcn_code"] not in renamed:
            writer.writerow([row["pcn_code"], 1, row["pcn_name"], *[""] * 6, "EPCN25"])
    for code, number, name, since, until in NAMES:
        writer.writerow([code, number, name, *since, *until, "EPCN25"])
    project.write("pcn_names.csv", out.getvalue())
    return project


@functools.cache
def periods_release() -> tuple[Path, Validation]:
    """OUTPUT holding the project's first release (its site too), and its validation, made once
    for the session. Read only; removed when the session ends."""
    root = Path(tempfile.mkdtemp(prefix="ics-data-periods-"))
    atexit.register(shutil.rmtree, root, True)
    project = periods_project(root / "project")
    validation = project.validate()
    assert validation.report.ok, validation.report.issues
    publish_release(project.sources, project.schemas, root / "output")
    return root / "output", validation


def days_to_check(validation: Validation, first: date, last: date) -> list[date]:
    """Every day from FIRST to LAST on which an answer can change (a day of the records' dates,
    or the day after one), and the day before each, with every 30th day between."""
    days = {first + timedelta(days=n) for n in range(0, (last - first).days, 30)}
    for resource in ("pcns", "pcn_memberships", "pcn_names", "ics"):
        for values in validation.dataset.values(resource):
            for value in values.values():
                if isinstance(value, date):
                    days.update(value + timedelta(days=n) for n in (-1, 0, 1))
    return sorted(day for day in days if first <= day <= last)


def expected_structure(validation: Validation, day: date) -> set[tuple[str, str, int, int]]:
    """`ics-data as-at` on DAY: each PCN listed, under its name that day (`core.names`), with its
    member and possible member practices counted."""
    names = names_by_pcn(validation.dataset.values("pcn_names"))
    return {
        (
            pcn.pcn_code,
            name_on(names, pcn.pcn_code, day) or pcn.pcn_name,
            len(pcn.members),
            len(pcn.possible),
        )
        for pcn in structure_as_at(validation.dataset, day).pcns
    }
