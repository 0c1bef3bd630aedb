"""Table-driven validation tests: one small edit of the real sources -> the exact issues.

Each case copies the shipped sources and schemas under tmp_path, breaks them one way, and
compares the report, flattened like frictionless's `report.flatten`, with the expected
`(file name, line, field, code)` list. A line is written as the text of the line it must point
at (looked up in the edited file), so the test says "the line with `colour: red`", not "line 6".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Flat, Project, copy_small_project, flatten

from pipeline.check.validate import validate
from pipeline.core.issues import Issue
from pipeline.core.model import Dataset, Table
from pipeline.sources.project import load_sources, reload_sources

PCN_ROW = (
    "U04973,GARDEN CITY PCN,91Q,2019-10-01,,,,,,dartford-gravesham-swanley,"
    "derived: member practices' 2019 CCG (EPCMEM) 09J:3,false,EPCN25; MAP26; EPCMEM; KM-HCP; "
    "DERIVED\n"
)
PRACTICE_ROW = "G82002,ST JAMES' SURGERY,CT16 1SF,10A,MAP26; EPCMEM"
MEMBERSHIP_ROW = "G82006,U17834,2019-10-01,,,,,,EPCN25"
OBJECTIVE_2 = (
    "- number: 2\n  objective: Tackle inequalities in outcomes and access\n  source: KM-ICS\n"
)

Line = int | str  # a line number, or the text of the line (its first occurrence)
Expected = tuple[str, Line, str, str]


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[[Project], object]
    expected: list[Expected]


def resolve(project: Project, expected: list[Expected]) -> list[Flat]:
    out = []
    for file, line, field, code in expected:
        if isinstance(line, str):
            name = f"schemas/{file}" if file.endswith(".schema.yaml") else file
            line = project.line_of(name, line)
        out.append((file, line, field, code))
    return out


def patient_rows_of(pcn: str, code: str) -> list[Expected]:
    """The registered_patients rows of a PCN on 2026-08-01 (2 sexes x 20 age bands): each
    cascades when the PCN's code breaks."""
    bands = [f"{a}-{a + 4}" for a in range(0, 95, 5)] + ["95+"]
    return [
        ("registered_patients.csv", f"2026-08-01,{pcn},{sex},{band},", "pcn_code", code)
        for sex in ("female", "male")
        for band in bands
    ]


def append(name: str, text: str) -> Callable[[Project], object]:
    return lambda p: p.write(name, p.read(name) + text)


def edit(name: str, old: str, new: str) -> Callable[[Project], object]:
    return lambda p: p.edit(name, old, new)


def remove_column(name: str, column: str) -> Callable[[Project], object]:
    def do(p: Project) -> None:
        rows = list(csv.reader(io.StringIO(p.read(name), newline="")))
        at = rows[0].index(column)
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\n").writerows(r[:at] + r[at + 1 :] for r in rows)
        p.write(name, out.getvalue())

    return do


def add_column(name: str, column: str, value: str) -> Callable[[Project], object]:
    def do(p: Project) -> None:
        lines = p.read(name).splitlines()
        rows = [lines[0] + "," + column] + [line + "," + value for line in lines[1:]]
        p.write(name, "\n".join(rows) + "\n")

    return do


CASES = [
    # --- schema checks through frictionless ---------------------------------------------------
    Case(
        "type-error-date-csv",
        edit("pcn_memberships.csv", "G82006,U17834,2019-10-01", "G82006,U17834,2019-13-01"),
        [("pcn_memberships.csv", "G82006,U17834,2019-13-01", "start_date", "type-error")],
    ),
    Case(
        "type-error-date-yaml-points-at-the-field-line",
        edit("ics.yaml", 'statutory_since: "2022-07-01"', 'statutory_since: "2022-07-32"'),
        [("ics.yaml", "statutory_since:", "statutory_since", "type-error")],
    ),
    Case(
        # the PCN's open date is then unknown, so the 41-PCN claim can only be "40 to 41"
        "type-error-pcn-open-date-makes-claim-uncertain",
        edit(
            "pcns.csv",
            "U04973,GARDEN CITY PCN,91Q,2019-10-01",
            "U04973,GARDEN CITY PCN,91Q,1/10/2019",
        ),
        [
            ("claims.yaml", "figure: 41", "figure", "claim-uncertain"),
            ("pcns.csv", "U04973,", "open_date", "type-error"),
        ],
    ),
    Case(
        "type-error-yaml-list-value",
        edit(
            "objectives.yaml",
            "objective: Tackle inequalities in outcomes and access",
            "objective: [Tackle]",
        ),
        [
            ("objectives.yaml", "objective: [Tackle", "objective", "missing-value"),
            ("objectives.yaml", "objective: [Tackle", "objective", "type-error"),
        ],
    ),
    Case(
        # the four memberships of U04973 then point at a PCN that no longer exists
        "pattern-pcn-code",
        edit("pcns.csv", "U04973,GARDEN", "U1234,GARDEN"),
        [
            ("pcn_memberships.csv", "G82062,U04973", "pcn_code", "foreign-key"),
            ("pcn_memberships.csv", "G82122,U04973", "pcn_code", "foreign-key"),
            ("pcn_memberships.csv", "G82212,U04973", "pcn_code", "foreign-key"),
            ("pcn_memberships.csv", "G82809,U04973", "pcn_code", "foreign-key"),
            ("pcn_names.csv", "U04973,1,GARDEN", "pcn_code", "foreign-key"),
            ("pcns.csv", "U1234,GARDEN", "pcn_code", "pattern"),
            ("pcns.csv", "U1234,GARDEN", "pcn_code", "pcn-without-members"),
            *patient_rows_of("U04973", "foreign-key"),
        ],
    ),
    Case(
        "pattern-yaml",
        edit("ics.yaml", "region_ods_code: Y59", "region_ods_code: Z59"),
        [("ics.yaml", "region_ods_code: Z59", "region_ods_code", "pattern")],
    ),
    Case(
        "missing-value-csv",
        edit("pcns.csv", "U04973,GARDEN CITY PCN,91Q", "U04973,,91Q"),
        [("pcns.csv", "U04973,,91Q", "pcn_name", "missing-value")],
    ),
    Case(
        "missing-value-yaml-empty-field",
        edit(
            "objectives.yaml",
            "  objective: Tackle inequalities in outcomes and access",
            "  objective:",
        ),
        [("objectives.yaml", 8, "objective", "missing-value")],
    ),
    Case(
        "missing-value-yaml-field-left-out",
        edit("objectives.yaml", "  objective: Tackle inequalities in outcomes and access\n", ""),
        [("objectives.yaml", "- number: 2", "objective", "missing-value")],
    ),
    Case(
        "foreign-key-partnership-typo",
        edit("pcns.csv", ",,,,,,dartford-gravesham-swanley,", ",,,,,,east-kentt,"),
        # partnership ids are the ICS's data: the foreign key checks them, not an enum
        [("pcns.csv", "east-kentt", "partnership", "foreign-key")],
    ),
    Case(
        "enum-yaml",
        edit("claims.yaml", "check: pcns-open", "check: pcns-opne"),
        [("claims.yaml", "check: pcns-opne", "check", "enum")],
    ),
    Case(
        "primary-key-and-unique-duplicate-pcn-row",
        append("pcns.csv", PCN_ROW),
        [
            ("pcns.csv", 52, "pcn_code", "primary-key"),
            ("pcns.csv", 52, "pcn_code", "unique"),
        ],
    ),
    Case(
        "primary-key-and-unique-yaml",
        edit("objectives.yaml", "- number: 2", "- number: 1"),
        [
            ("objectives.yaml", 7, "number", "primary-key"),
            ("objectives.yaml", 7, "number", "unique"),
        ],
    ),
    Case(
        "primary-key-composite-duplicate-membership",
        append("pcn_memberships.csv", "G82006-U17834-1," + MEMBERSHIP_ROW + "\n"),
        [
            ("pcn_memberships.csv", 248, "membership_id", "primary-key"),
            # both rows cite only the registered ePCN with exact dates: as the publisher gives
            ("pcn_memberships.csv", 248, "pcn_code", "publisher-overlap"),
            ("pcn_memberships.csv", 248, "membership_id", "unique"),
        ],
    ),
    # --- foreign keys and provenance ----------------------------------------------------------
    Case(
        "foreign-key-membership-to-unknown-pcn",
        edit("pcn_memberships.csv", "G82006,U17834", "G82006,U99999"),
        [("pcn_memberships.csv", "G82006,U99999", "pcn_code", "foreign-key")],
    ),
    Case(
        "foreign-key-membership-to-unknown-practice",
        edit("pcn_memberships.csv", "G82006,U17834", "G99999,U17834"),
        [("pcn_memberships.csv", "G99999,U17834", "practice_code", "foreign-key")],
    ),
    Case(
        "unknown-source",
        edit(
            "objectives.yaml", "  source: KM-ICS\n\n- number: 3", "  source: KM-ICZ\n\n- number: 3"
        ),
        [("objectives.yaml", "source: KM-ICZ", "source", "unknown-source")],
    ),
    # --- fields and headers -------------------------------------------------------------------
    Case(
        "unknown-field-yaml",
        edit("objectives.yaml", OBJECTIVE_2, OBJECTIVE_2 + "  colour: red\n"),
        [("objectives.yaml", "colour: red", "colour", "unknown-field")],
    ),
    Case(
        # once, on the header, where the column is named
        "unknown-field-csv",
        add_column("practices.csv", "colour", "red"),
        [("practices.csv", 1, "colour", "unknown-field")],
    ),
    Case(
        # in YAML the field is typed in each record: each one is reported
        "unknown-field-yaml-in-every-record",
        lambda p: p.write(
            "objectives.yaml",
            p.read("objectives.yaml").replace("  source:", "  colour: red\n  source:"),
        ),
        [("objectives.yaml", n, "colour", "unknown-field") for n in (5, 10, 15, 20)],
    ),
    Case(
        "unknown-field-csv-header-typo",
        edit("practices.csv", "practice_code,practice_name,", "practice_code,practise_name,"),
        [
            ("practices.csv", 1, "practice_name", "missing-field"),
            ("practices.csv", 1, "practise_name", "unknown-field"),
        ],
    ),
    Case(
        # once, on the header; not a missing value in every row
        "missing-field-csv",
        remove_column("practices.csv", "source"),
        [("practices.csv", 1, "source", "missing-field")],
    ),
    Case(
        "duplicate-key-yaml",
        edit("objectives.yaml", "- number: 2\n", "- number: 2\n  number: 5\n"),
        [("objectives.yaml", "number: 5", "number", "duplicate-key")],
    ),
    Case(
        "duplicate-header-csv",
        edit("practices.csv", "practice_code,practice_name,", "practice_code,practice_code,"),
        [
            ("practices.csv", 1, "practice_code", "duplicate-header"),
            ("practices.csv", 1, "practice_name", "missing-field"),
        ],
    ),
    Case(
        "blank-header-csv",
        edit("practices.csv", "practice_code,practice_name,", "practice_code,,"),
        [
            ("practices.csv", 1, "", "blank-header"),
            ("practices.csv", 1, "practice_name", "missing-field"),
        ],
    ),
    Case(
        "extra-cell",
        edit("practices.csv", PRACTICE_ROW, PRACTICE_ROW + ",extra"),
        [("practices.csv", 2, "", "extra-cell")],
    ),
    Case(
        "missing-cell",
        edit("practices.csv", PRACTICE_ROW, "G82002,ST JAMES' SURGERY,CT16 1SF,10A"),
        [("practices.csv", 2, "source", "missing-cell")],  # the short row is one message
    ),
    # --- reading the files --------------------------------------------------------------------
    Case(
        "yaml-syntax-tab-indentation",
        edit("objectives.yaml", "- number: 3\n  objective", "- number: 3\n\tobjective"),
        [("objectives.yaml", "\tobjective", "", "yaml-syntax")],
    ),
    Case(
        # the quote opened on ics_since is closed by the quote on the next line
        "yaml-syntax-unclosed-quote-mid-file",
        edit("ics.yaml", 'ics_since: "2021-04"', 'ics_since: "2021-04'),
        [("ics.yaml", "ics_since:", "", "yaml-syntax")],
    ),
    Case(
        "yaml-syntax-unclosed-quote-at-end",
        edit(
            "ics.yaml", "source: MAP26; ECCG; ICB24; KM-ICS", 'source: "MAP26; ECCG; ICB24; KM-ICS'
        ),
        [("ics.yaml", "source:", "", "yaml-syntax")],
    ),
    Case(
        "yaml-syntax-second-document",
        append("objectives.yaml", "---\n- number: 5\n"),
        [("objectives.yaml", "---", "", "yaml-syntax")],
    ),
    Case(
        "yaml-structure-file-is-a-mapping",
        lambda p: p.write("objectives.yaml", "number: 1\nobjective: Improve outcomes\n"),
        [("objectives.yaml", 1, "", "yaml-structure")],
    ),
    Case(
        "yaml-structure-record-is-a-list",
        edit("objectives.yaml", OBJECTIVE_2, "- [2, Tackle inequalities, KM-ICS]\n"),
        [
            ("objectives.yaml", "- [2, Tackle", "", "yaml-structure"),
        ],
    ),
    Case(
        "yaml-structure-field-name-not-text",
        edit("objectives.yaml", "- number: 2\n", "- number: 2\n  ? [a, b]\n  : x\n"),
        [("objectives.yaml", "? [a, b]", "", "yaml-structure")],
    ),
    Case(
        "csv-syntax-unclosed-quote",
        edit("practices.csv", "G82002,ST JAMES' SURGERY", 'G82002,"ST JAMES SURGERY'),
        [("practices.csv", 2, "", "csv-syntax")],
    ),
    Case(
        "encoding-latin-1-byte",
        lambda p: p.path("practices.csv").write_bytes(
            p.read("practices.csv")
            .replace("DR CJ SHIMMINS", "DR CJ SH\u00cfMMINS")
            .encode("latin-1")
        ),
        [("practices.csv", 3, "", "encoding")],
    ),
    Case(
        "encoding-control-character-yaml",
        edit("objectives.yaml", "Enhance productivity", "Enhance\x00productivity"),
        [("objectives.yaml", "Enhance", "", "encoding")],
    ),
    Case(
        "encoding-control-character-csv",
        edit("practices.csv", "ST JAMES' SURGERY", "ST JAMES\x1b SURGERY"),
        [("practices.csv", 2, "", "encoding")],
    ),
    Case(
        "empty-file-yaml",
        lambda p: p.write("objectives.yaml", ""),
        [("objectives.yaml", 0, "", "empty-file")],
    ),
    Case(
        "empty-file-yaml-comments-only",
        lambda p: p.write("objectives.yaml", "# no records yet\n"),
        [("objectives.yaml", 0, "", "empty-file")],
    ),
    Case(
        # no foreign-key errors into the empty table: one problem, one message
        "empty-file-csv-header-only",
        lambda p: p.write("practices.csv", p.read("practices.csv").splitlines()[0] + "\n"),
        [("practices.csv", 0, "", "empty-file")],
    ),
    Case(
        "missing-file",
        lambda p: p.path("objectives.yaml").unlink(),
        [("objectives.yaml", 0, "", "missing-file")],
    ),
    Case(
        "missing-file-package-yaml",
        lambda p: p.path("package.yaml").unlink(),
        [("package.yaml", 0, "", "missing-file")],
    ),
    Case(
        "unknown-resource",
        lambda p: p.write("colours.yaml", "- name: red\n"),
        [("colours.yaml", 0, "", "unknown-resource")],
    ),
    Case(
        "duplicate-source",
        lambda p: p.write("objectives.csv", "number,objective,source\n1,Improve outcomes,KM-ICS\n"),
        [("objectives.csv", 0, "", "duplicate-source")],
    ),
    Case(
        "duplicate-key-package-yaml",
        edit("package.yaml", "version: 1.0.0\n", "version: 1.0.0\nversion: 1.0.1\n"),
        [("package.yaml", "version: 1.0.1", "version", "duplicate-key")],
    ),
    Case(
        # points at the field's `type:` line; the source file is not called schema-less
        "schema-error-invalid-type",
        edit("schemas/objectives.schema.yaml", "type: integer", "type: integr"),
        [("objectives.schema.yaml", "type: integr", "number", "schema-error")],
    ),
    Case(
        # frictionless would open "README.md" as a file holding the field, and crash
        "schema-error-field-is-a-string",
        lambda p: p.write("schemas/extra.schema.yaml", "fields:\n- README.md\n"),
        [("extra.schema.yaml", 2, "", "schema-error")],
    ),
    Case(
        "schema-error-pattern-not-a-regex",
        edit("schemas/pcns.schema.yaml", "pattern: ^U[0-9]{5}$", "pattern: ^U[0-9{5}$"),
        [("pcns.schema.yaml", "  constraints:", "pcn_code", "schema-error")],
    ),
    Case(
        # the broken schema's resource is then not checked, so nothing cascades from it
        "schema-error-foreign-key-to-unknown-field",
        edit(
            "schemas/pcns.schema.yaml",
            "resource: partnerships\n    fields:\n    - id",
            "resource: partnerships\n    fields:\n    - idd",
        ),
        [("pcns.schema.yaml", 0, "", "schema-error")],
    ),
    Case(
        "schema-error-foreign-key-to-unknown-resource",
        edit("schemas/pcns.schema.yaml", "resource: partnerships", "resource: partnership"),
        [("pcns.schema.yaml", 0, "", "schema-error")],
    ),
    # --- rules a table schema cannot say ------------------------------------------------------
    Case(
        "date-order-close-before-open",
        edit(
            "pcn_memberships.csv", MEMBERSHIP_ROW, "G82006,U17834,2019-10-01,,,2019-01-01,,,EPCN25"
        ),
        [("pcn_memberships.csv", "G82006,U17834", "end_date", "date-order")],
    ),
    Case(
        # once, at the PCN: not again at each membership measured against the reversed dates
        "date-order-pcn-close-before-open",
        edit("pcns.csv", "2019-10-01,,,2022-03-31", "2022-03-31,,,2019-10-01"),
        [("pcns.csv", "U01315", "close_date", "date-order")],
    ),
    Case(
        "date-order-bounds-reversed",
        edit(
            "pcns.csv",
            "U11490,FAVERSHAM PCN,91Q,,2025-01-21,2026-08-01",
            "U11490,FAVERSHAM PCN,91Q,,2026-08-01,2025-01-21",
        ),
        # reported once, at the PCN; its memberships are not measured against reversed dates
        [("pcns.csv", "U11490", "open_date_latest", "date-order")],
    ),
    Case(
        "date-bounds-exact-and-bounds-both",
        edit(
            "pcns.csv",
            "U04973,GARDEN CITY PCN,91Q,2019-10-01,,",
            "U04973,GARDEN CITY PCN,91Q,2019-10-01,2019-01-01,",
        ),
        [("pcns.csv", "U04973,", "open_date_earliest", "date-bounds")],
    ),
    Case(
        "outside-pcn-life-starts-before-pcn-opened",
        edit("pcn_memberships.csv", MEMBERSHIP_ROW, "G82006,U17834,2019-09-01,,,,,,EPCN25"),
        [("pcn_memberships.csv", "G82006,U17834", "start_date", "outside-pcn-life")],
    ),
    Case(
        "outside-pcn-life-ends-after-pcn-closed",
        edit(
            "pcn_memberships.csv",
            "G82027,U01315,2019-10-01,,,2022-03-31",
            "G82027,U01315,2019-10-01,,,2022-04-30",
        ),
        [
            ("pcn_memberships.csv", "G82027,U01315", "end_date", "outside-pcn-life"),
            # and the practice is then also in U01315's successor U87442 in April 2022
            ("pcn_memberships.csv", "G82027,U87442", "pcn_code", "overlap"),
        ],
    ),
    Case(
        "outside-pcn-life-no-end-but-pcn-closed",
        edit(
            "pcn_memberships.csv",
            "G82027,U01315,2019-10-01,,,2022-03-31",
            "G82027,U01315,2019-10-01,,,",
        ),
        [
            # G82027 is then in U01315 and, from 2022-04-01, in its successor at the same time
            ("pcn_memberships.csv", "G82027,U01315", "end_date", "outside-pcn-life"),
            ("pcn_memberships.csv", "G82027,U11490", "pcn_code", "overlap"),
            ("pcn_memberships.csv", "G82027,U87442", "pcn_code", "overlap"),
        ],
    ),
    Case(
        "overlap-practice-in-two-pcns-the-same-day",
        append("pcn_memberships.csv", "G82006-U04973-1,G82006,U04973,2020-01-01,,,,,,DERIVED\n"),
        [("pcn_memberships.csv", "G82006,U04973", "pcn_code", "overlap")],
    ),
    Case(
        # the same overlap, both periods citing only the registered ePCN with exact dates: the
        # publisher's own data, kept, a warning
        "publisher-overlap-is-a-warning",
        append("pcn_memberships.csv", "G82006-U04973-1,G82006,U04973,2020-01-01,,,,,,EPCN25\n"),
        [("pcn_memberships.csv", "G82006,U04973", "pcn_code", "publisher-overlap")],
    ),
    Case(
        "missing-partnership",
        edit("pcns.csv", ",,,,,,dartford-gravesham-swanley,", ",,,,,,,"),
        [
            ("pcns.csv", "U04973,", "partnership", "missing-partnership"),
        ],
    ),
    Case(
        "claim-mismatch-42-pcns",
        edit("claims.yaml", "figure: 41", "figure: 42"),
        [("claims.yaml", "figure: 42", "figure", "claim-mismatch")],
    ),
    Case(
        # GARDEN CITY opened on some day in 2022, so on 2022-07-01 there were 40 or 41 PCNs
        "claim-uncertain-open-date-known-by-bounds",
        edit(
            "pcns.csv",
            "U04973,GARDEN CITY PCN,91Q,2019-10-01,,",
            "U04973,GARDEN CITY PCN,91Q,,2022-01-01,2022-12-31",
        ),
        [
            # its memberships began in 2019, before the earliest day it can have opened
            ("claims.yaml", "figure: 41", "figure", "claim-uncertain"),
            ("pcn_memberships.csv", "G82062,U04973", "start_date", "outside-pcn-life"),
            ("pcn_memberships.csv", "G82122,U04973", "start_date", "outside-pcn-life"),
            ("pcn_memberships.csv", "G82212,U04973", "start_date", "outside-pcn-life"),
            ("pcn_memberships.csv", "G82809,U04973", "start_date", "outside-pcn-life"),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_validation_case(project: Project, case: Case) -> None:
    case.edit(project)
    assert project.flat() == resolve(project, case.expected)


def test_cases_cover_every_code() -> None:
    codes = {code for case in CASES for _, _, _, code in case.expected}
    assert codes >= {
        "type-error", "pattern", "missing-value", "enum", "unique", "primary-key",
        "foreign-key", "unknown-field", "missing-field", "duplicate-key", "yaml-syntax",
        "yaml-structure", "encoding", "empty-file", "missing-file", "unknown-resource",
        "extra-cell", "missing-cell", "date-order", "date-bounds", "outside-pcn-life",
        "overlap", "missing-partnership", "claim-mismatch", "claim-uncertain",
        "unknown-source", "schema-error", "csv-syntax", "duplicate-source",
        "duplicate-header", "blank-header",
    }  # fmt: skip


def test_shipped_sources_are_valid(project: Project) -> None:
    report = project.validate().report
    assert report.issues == ()
    assert report.ok
    summary = report.summary
    assert summary["pcns_open"]["2022-07-01"] == "41"
    assert summary["records"]["pcns"] == 50
    assert summary["records"]["objectives"] == 4
    assert summary["records"]["partnerships"] == 4
    statuses = {claim["id"]: claim["status"] for claim in summary["claims"]}
    assert statuses == {
        "forty-one-pcns": "agrees",
        "forty-two-statutory-icss": "agrees",
        "four-core-objectives": "agrees",
        "four-health-and-care-partnerships": "agrees",
        "population-1-9-million": "context",
        "registered-patients-2026-08": "agrees",
    }
    figures = {claim["id"]: (claim["claimed"], claim["computed"]) for claim in summary["claims"]}
    assert figures["forty-one-pcns"] == (41, "41")
    assert figures["forty-two-statutory-icss"] == (42, "42")


def test_all_problems_are_reported_at_once(project: Project) -> None:
    project.edit("pcns.csv", "U04973,GARDEN", "U1234,GARDEN")
    project.edit("ics.yaml", 'ics_since: "2021-04"', "ics_since: April 2021")
    project.edit("objectives.yaml", "- number: 2\n", "- number: 2\n  number: 5\n")
    flat = project.flat()
    assert ("pcns.csv", 3, "pcn_code", "pattern") in flat
    assert ("ics.yaml", project.line_of("ics.yaml", "ics_since"), "ics_since", "type-error") in flat
    assert ("objectives.yaml", 8, "number", "duplicate-key") in flat
    # and the memberships, names and registered patients of the bad PCN
    assert len({file for file, _, _, _ in flat}) == 6


def test_issue_carries_value_resource_and_record(project: Project) -> None:
    project.edit("pcn_memberships.csv", "G82006,U17834,", "G82006,U17843,")
    issues = project.validate().report.issues
    fk = next(i for i in issues if i.code == "foreign-key")
    assert (fk.resource, fk.field, fk.value, fk.record) == (
        "pcn_memberships",
        "pcn_code",
        "U17843",
        1,
    )
    assert fk.message.startswith('"U17843" is not a pcns.pcn_code; did you mean "U17834"')
    assert Path(fk.file) == project.path("pcn_memberships.csv")


def test_a_typo_gets_the_nearest_valid_values(project: Project) -> None:
    project.edit("pcns.csv", ",,,,,,dartford-gravesham-swanley,", ",,,,,,east-kentt,")
    (fk,) = project.validate().report.issues
    assert fk.code == "foreign-key" and fk.message.endswith(
        '; did you mean "east-kent" or "west-kent"?'
    )
    project.edit("pcns.csv", ",,,,,,east-kentt,", ",,,,,,zzzz,")
    (fk,) = project.validate().report.issues
    assert "did you mean" not in fk.message  # nothing near: no guess


MESSAGES = [
    # (edit, code, words the message must contain to say what to fix)
    (edit("pcns.csv", "U04973,GARDEN", "U1234,GARDEN"), "pattern", ['"U1234"', "^U[0-9]{5}$"]),
    (
        edit("pcn_memberships.csv", "G82006,U17834,2019-10-01", "G82006,U17834,01/10/2019"),
        "type-error",
        ['"01/10/2019"', "YYYY-MM-DD"],
    ),
    (append("pcns.csv", PCN_ROW), "primary-key", ["(pcn_code) = (U04973)", "line 3"]),
    (append("pcns.csv", PCN_ROW), "unique", ['"U04973"', "line 3"]),
    (
        edit("objectives.yaml", "- number: 3\n  objective", "- number: 3\n\tobjective"),
        "yaml-syntax",
        ["spaces, not tabs"],
    ),
    (
        edit("ics.yaml", 'ics_since: "2021-04"', 'ics_since: "2021-04'),
        "yaml-syntax",
        ["quote"],
    ),
    (
        edit("objectives.yaml", "- number: 2\n", "- number: 2\n  number: 5\n"),
        "duplicate-key",
        ["line 7"],
    ),
    (
        edit("practices.csv", PRACTICE_ROW, "G82002,ST JAMES, SURGERY,CT16 1SF,10A,MAP26; EPCMEM"),
        "extra-cell",
        ["double quotes"],
    ),
    (
        edit(
            "pcn_memberships.csv", MEMBERSHIP_ROW, "G82006,U17834,2019-10-01,,,2019-01-01,,,EPCN25"
        ),
        "date-order",
        ["2019-01-01", "2019-10-01", "wrong way round"],
    ),
    (edit("claims.yaml", "figure: 41", "figure: 42"), "claim-mismatch", ["42", "41", "2022-07-01"]),
    (
        lambda p: p.path("practices.csv").write_bytes(p.read("practices.csv").encode("utf-16")),
        "encoding",
        ["UTF-8"],
    ),
    (
        edit("schemas/objectives.schema.yaml", "type: integer", "type: integr"),
        "schema-error",
        ["'number'", '"integr"'],
    ),
]


@pytest.mark.parametrize(("change", "code", "words"), MESSAGES, ids=[m[1] for m in MESSAGES])
def test_message_says_what_to_fix(
    project: Project, change: Callable[[Project], object], code: str, words: list[str]
) -> None:
    change(project)
    issue = next(i for i in project.validate().report.issues if i.code == code)
    for word in words:
        assert word in issue.message


def test_flatten_is_compact() -> None:
    issue = Issue("/x/sources/pcns.csv", 3, "pattern", "m", "pcns", "pcn_code", "U1234", 1)
    assert flatten([issue]) == [("pcns.csv", 3, "pcn_code", "pattern")]


def test_an_unquoted_comma_is_one_message_for_its_row(project: Project) -> None:
    """The row's cells shift under the wrong headers: the shape is the one thing to fix, so the
    type, pattern, enum and reference errors of the shifted cells are left out."""
    project.edit("pcns.csv", "U04973,GARDEN CITY PCN,", "U04973,GARDEN CITY, PCN,")
    line = project.line_of("pcns.csv", "U04973,GARDEN CITY, PCN")
    on_the_row = [f for f in project.flat() if f[0] == "pcns.csv" and f[1] == line]
    assert on_the_row == [("pcns.csv", line, "", "extra-cell")]


def test_a_resource_name_the_formats_cannot_hold_is_reported_at_its_file(
    project: Project,
) -> None:
    """`about` is an XLSX sheet every release has: validate says so at the source file, as a
    publish would stop on it, rather than the publish finding it after the build began."""
    project.write("About.yaml", project.read("objectives.yaml"))
    project.write("schemas/About.schema.yaml", project.read("schemas/objectives.schema.yaml"))
    assert ("About.yaml", 1, "", "table-name") in project.flat()


# --- a process validates more than once ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "old", "new", "code"),
    [
        ("schemas/objectives.schema.yaml", "type: integer", "type: integr", "schema-error"),
        ("package.yaml", "version: 1.0.0", "version: 1.0", "type-error"),
        ("objectives.yaml", "- number: 2\n", "- number: 2\n  number: 5\n", "duplicate-key"),
    ],
)
def test_a_file_with_a_problem_is_reported_each_time(
    project: Project, name: str, old: str, new: str, code: str
) -> None:
    assert project.flat() == []
    project.edit(name, old, new)
    for _ in range(2):
        assert code in [c for *_, c in project.flat()]


def test_a_value_worked_out_once_follows_its_rows(project: Project) -> None:
    dataset = project.validate().dataset
    made: list[int] = []
    name = f"count {id(made)}"  # a name no other test has asked for

    def count(data: Dataset) -> int:
        made.append(1)
        return len(data.rows("pcns"))

    assert dataset.once(name, "pcns", count) == dataset.once(name, "pcns", count) == 50
    assert len(made) == 1
    table = dataset.tables["pcns"]
    dataset.tables["pcns"] = Table(table.source, table.schema, table.rows[:3])
    assert dataset.once(name, "pcns", count) == 3 and len(made) == 2  # new rows: made again


def test_a_change_validated_in_memory_shares_the_tables_it_leaves_alone(tmp_path: Path) -> None:
    """A refresh validates the sources as it would leave them without writing them: the files
    it writes are read from their new texts, a file it removes is gone, and the tables of the
    others are the very tables the validation before typed (nothing is read or typed again)."""
    project = copy_small_project(tmp_path / "project")
    loaded = load_sources(project.sources, project.schemas)
    before = validate(loaded)
    assert before.report.ok
    pcns = project.read("pcns.csv").replace("FAVERSHAM PCN", "FAVERSHAM AND DISTRICT PCN")
    objectives = project.path("objectives.yaml")
    after = validate(
        reload_sources(loaded, project.sources, {"pcns.csv": pcns}, ["objectives.yaml"]),
        before.dataset.tables,
    )
    assert project.read("pcns.csv") != pcns and objectives.exists()  # nothing written
    assert after.dataset.tables["practices"] is before.dataset.tables["practices"]
    assert after.dataset.tables["pcns"] is not before.dataset.tables["pcns"]
    names = {row.values["pcn_name"] for row in after.dataset.rows("pcns")}
    assert "FAVERSHAM AND DISTRICT PCN" in names and "FAVERSHAM PCN" not in names
    assert ("objectives.yaml", 0, "", "missing-file") in flatten(after.report.issues)
    # a file with a problem before is read again, not taken as it was
    project.write(
        "practices.csv", project.read("practices.csv") + "G1,,,,,,,,,,,,\n"
    )  # extra cells
    broken = load_sources(project.sources, project.schemas)
    again = reload_sources(broken, project.sources, {"pcns.csv": pcns})
    assert again.tables["practices"] is not broken.tables["practices"]
    assert again.tables["organisations"] is broken.tables["organisations"]
