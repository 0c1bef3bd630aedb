"""`ics-data init`: a whole new project for any ICB in England, written whole or not at all.

    inputs = read_init_inputs(Path("map.zip"), [Path("ePCN.xlsx")], epcmem, eccg, icb_names)
    result = init_project(Path("greater-manchester"), "QOP", inputs, schemas=Path("schemas"))

The story: the ICS's codes (`inputs.ics_scope`), the registry of the files (`package`), the
records merged from them (`records`), the partnership layer (`partnerships`), organisations and
the national icbs table (`organisations`), a claim (`claims`), then every file as text; beside
`sources/` and `schemas/`, the project around them (`scaffold`: a Makefile, a README, a CI
workflow, git's files), whose README lists what init cannot know, each a review item that keeps
`publish` refused until a person settles it. The folder is built aside, validated, and moved
into place only when valid.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.check.validate import validate_project
from pipeline.core.files import display_path
from pipeline.core.issues import REVIEW_CODES, Issue, render_text
from pipeline.core.scope import BY_SUB_ICB, Scope
from pipeline.upstream.editable import Note
from pipeline.upstream.init.claims import pcn_claim
from pipeline.upstream.init.inputs import InitError, InitInputs, check_rule, ics_scope
from pipeline.upstream.init.organisations import icb_facts, icbs, organisations
from pipeline.upstream.init.package import package_yaml, register_sources
from pipeline.upstream.init.partnerships import ics_record, objectives, partnership_layer
from pipeline.upstream.init.records import merge_records, names_text, open_on
from pipeline.upstream.init.scaffold import (
    PROJECT_FILES,
    ProjectFacts,
    ReviewItem,
    project_files,
    tool_version,
)
from pipeline.upstream.init.texts import csv_text, yaml_records


@dataclass(frozen=True)
class InitResult:
    folder: Path
    icb: str
    name: str  # the package name
    scope: Scope
    release_date: date
    pcns_open: int  # the ICS's PCNs open on the release date
    practices_open: int  # member practices of those PCNs that day
    memberships: int
    warnings: dict[str, int]
    notes: tuple[Note, ...] = ()
    ics_name: str = ""
    review: tuple[ReviewItem, ...] = ()  # what a person settles before the first release

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": display_path(self.folder),
            "icb": self.icb,
            "name": self.name,
            "ics_name": self.ics_name,
            "sub_icb_locations": list(self.scope.sub_icb_locations),
            "former_ccgs": list(self.scope.former_ccgs),
            "partnership_rule": self.scope.partnership_rule,
            "release_date": self.release_date.isoformat(),
            "pcns_open": self.pcns_open,
            "practices_open": self.practices_open,
            "memberships": self.memberships,
            "warnings": self.warnings,
            "notes": [note.to_dict() for note in self.notes],
            "review": [{"location": i.location, "message": i.message} for i in self.review],
            "files": ["sources/", "schemas/", *PROJECT_FILES],
        }


@dataclass(frozen=True)
class NewSources:
    """Every source file of the new project, as text, and what init reports of them."""

    texts: dict[str, str]
    name: str  # the package name
    title: str  # the ICS's name
    icb_name: str  # the ICB's legal name
    release_date: date
    pcns_open: int
    practices_open: int
    memberships: int
    notes: tuple[Note, ...]


def init_project(
    folder: Path,
    icb: str,
    inputs: InitInputs,
    schemas: Path,
    *,
    rule: str = BY_SUB_ICB,
) -> InitResult:
    """Write a whole project for ICB in FOLDER, or nothing (see the module)."""
    check_rule(rule)
    check_target(folder, schemas)
    version = tool_version()
    scope = ics_scope(icb, inputs, rule)
    made = build_sources(scope, inputs, schemas)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ics-data-init-", dir=folder) as temp:
        staged = Path(temp)
        write_sources(staged, made.texts, schemas)
        validation = validate_project(staged / "sources", staged / "schemas")
        if not validation.report.ok:
            shown = render_text(validation.report.errors[:40])
            raise InitError(
                f"the sources made for {icb} would not be valid, so nothing was written:\n"
                + shown.replace(display_path(staged), display_path(folder)),
                hint="This is a gap in ics-data init for this ICB's data; the messages say where.",
            )
        review = review_items(validation.report.issues, staged)
        facts = project_facts(scope, made, version, review)
        for name, text in project_files(facts).items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            (staged / name).write_bytes(text.encode("utf-8"))
        move_into_place(staged, folder)
    # the publisher's anomalies; what awaits review is the project's README's first section
    found = validation.report.summary.get("warnings", {})
    warnings = {code: n for code, n in found.items() if code not in REVIEW_CODES}
    return InitResult(
        folder,
        icb,
        made.name,
        scope,
        made.release_date,
        made.pcns_open,
        made.practices_open,
        made.memberships,
        warnings,
        made.notes,
        made.title,
        review,
    )


def check_target(folder: Path, schemas: Path) -> None:
    """Refuse a folder that holds sources, schemas or a project file already, and schemas that
    are none."""
    for part in ("sources", "schemas"):
        target = folder / part
        if target.exists() and any(target.iterdir()):
            raise InitError(
                f"{display_path(target)} already holds files; init writes a new project",
                hint="Choose a new folder, or keep the sources you have and run ics-data refresh.",
            )
    for name in PROJECT_FILES:
        if (folder / name).exists() or (folder / name).is_symlink():
            raise InitError(
                f"{display_path(folder / name)} exists; init writes a new project's {name}",
                hint="Choose a new folder, or move the file aside and run init again.",
            )
    if not schemas.is_dir() or not any(schemas.glob("*.schema.yaml")):
        raise InitError(
            f"{display_path(schemas)} holds no Table Schemas to start from",
            hint="Pass --schemas DIR: the generic schemas (the repository's schemas/ folder).",
        )


def build_sources(scope: Scope, inputs: InitInputs, schemas: Path) -> NewSources:
    """The source files of the ICS of SCOPE, from the national files."""
    facts = icb_facts(scope.icb, inputs)
    registry = register_sources(inputs, scope)
    merged = merge_records(inputs, scope, registry)
    partnerships, records = partnership_layer(merged, scope, facts, inputs, registry)
    day = registry.release_date
    pcns_open, practices_open = open_on(records, scope, day)
    rule = scope.partnership_rule
    texts = {
        "pcns.csv": records.pcns.render(),
        "practices.csv": records.practices.render(),
        "pcn_memberships.csv": records.memberships.render(),
        "pcn_names.csv": names_text(records),
        "organisations.csv": csv_text(
            schemas, "organisations", organisations(facts, scope, inputs, records, registry)
        ),
        "icbs.csv": csv_text(schemas, "icbs", icbs(inputs, registry)),
        "ics.yaml": yaml_records(
            "The integrated care system (one record).", [ics_record(facts, scope, registry)]
        ),
        "partnerships.yaml": yaml_records(
            f"The ICS's partnerships (partnership rule {rule}; derived, for review).",
            partnerships,
        ),
        "objectives.yaml": yaml_records(
            "The four purposes every ICS has; replace them with the ICS's own words.",
            objectives(),
        ),
        "claims.yaml": yaml_records(
            "Figures the ICS states about itself; the first was made by ics-data init.",
            [pcn_claim(day, pcns_open, registry)],
        ),
        "milestones.yaml": yaml_records("Dated milestones of the ICS, typed by hand.", []),
        "decisions.yaml": yaml_records(
            "Decisions recorded about warnings (anomalies in the publisher's data).", []
        ),
        "package.yaml": package_yaml(registry, facts.code, facts.system, facts.slug, facts.place),
    }
    return NewSources(
        texts,
        facts.slug,
        facts.system,
        facts.legal,
        day,
        pcns_open,
        practices_open,
        len(records.memberships.rows),
        tuple(records.notes),
    )


def review_items(issues: Sequence[Issue], staged: Path) -> tuple[ReviewItem, ...]:
    """What awaits review in the staged sources, each at its file and line in the project."""
    prefix = display_path(staged) + "/"
    return tuple(
        ReviewItem(issue.location().removeprefix(prefix), issue.message)
        for issue in issues
        if issue.code in REVIEW_CODES
    )


def project_facts(
    scope: Scope, made: NewSources, version: str, review: tuple[ReviewItem, ...]
) -> ProjectFacts:
    return ProjectFacts(
        ics_name=made.title,
        icb=scope.icb,
        icb_name=made.icb_name,
        sub_icb_locations=scope.sub_icb_locations,
        former_ccgs=scope.former_ccgs,
        partnership_rule=scope.partnership_rule,
        release_date=made.release_date,
        pcns_open=made.pcns_open,
        practices_open=made.practices_open,
        memberships=made.memberships,
        version=version,
        review=review,
    )


def move_into_place(staged: Path, folder: Path) -> None:
    """Move the staged project into FOLDER: the files of sources/ and schemas/ (which may be
    there, empty), and each project file."""
    for part in ("sources", "schemas"):
        (folder / part).mkdir(exist_ok=True)
        for path in sorted((staged / part).iterdir()):
            shutil.move(str(path), folder / part / path.name)
    for name in PROJECT_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged / name), folder / name)


def write_sources(folder: Path, texts: dict[str, str], schemas: Path) -> None:
    """FOLDER/sources from TEXTS and FOLDER/schemas copied from SCHEMAS; a resource init has no
    data for gets a file with no records."""
    (folder / "sources").mkdir()
    (folder / "schemas").mkdir()
    for name, text in texts.items():
        (folder / "sources" / name).write_bytes(text.encode("utf-8"))
    written = {name.rsplit(".", 1)[0] for name in texts}
    for path in sorted(schemas.glob("*.schema.yaml")):
        shutil.copyfile(path, folder / "schemas" / path.name)
        resource = path.name.removesuffix(".schema.yaml")
        if resource not in written:
            text = yaml_records(f"No {resource} records yet (see its schema).", [])
            (folder / "sources" / f"{resource}.yaml").write_bytes(text.encode("utf-8"))


def render_init(result: InitResult, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    scope = result.scope
    folder = display_path(result.folder)
    lines = [
        f"ics-data init: {result.ics_name} ({result.icb}) written to {folder}: sources/, "
        f"schemas/, {', '.join(PROJECT_FILES)}",
        f"  sub-ICB locations: {', '.join(scope.sub_icb_locations)}",
        f"  former CCGs (derived): {', '.join(scope.former_ccgs) or 'none'}",
        f"  partnership rule: {scope.partnership_rule}",
        f"  on {result.release_date}: {result.pcns_open} PCNs open with {result.practices_open} "
        f"member practices; {result.memberships} memberships in all",
    ]
    if result.warnings:
        shown = ", ".join(f"{code} {count}" for code, count in sorted(result.warnings.items()))
        lines.append(
            f"  warnings (the publisher's own data; ics-data validate lists them): {shown}"
        )
    notes = [n for n in result.notes if n.code != "stale-snapshot"]
    if notes:
        lines.append(f"Notes of the merge ({len(notes)}):")
        lines.extend(f"  - [{note.code}] {note.message}" for note in notes[:50])
        if len(notes) > 50:
            lines.append(f"  ... and {len(notes) - 50} more (--format json lists them all)")
    if result.review:
        lines.append(
            f"What init cannot know ({len(result.review)}; publish refuses until each is "
            "settled, README.md says how):"
        )
        lines.extend(f"  {item.location}  {item.message}" for item in result.review)
    lines.append(
        f"Next: in {folder}, settle what awaits review (make validate lists it), then "
        "make publish; make test runs the data checks."
    )
    return "\n".join(lines)
