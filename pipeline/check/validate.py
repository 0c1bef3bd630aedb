"""The second stage: validate loaded sources. Each record against its schema (through
frictionless), references across resources, the rules a table schema cannot say, the claims,
and that the generated tables can be built. Never raises for bad data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from pipeline.check.anomalies import (
    apply_decisions,
    check_anomalies,
    check_partnerships,
    ics_scope,
)
from pipeline.check.claims import check_claims, summarise
from pipeline.check.keys import check_membership_ids
from pipeline.check.names import check_names
from pipeline.check.patients import check_patients
from pipeline.check.references import check_foreign_keys, check_provenance
from pipeline.check.review import check_review
from pipeline.check.rules import check_rules
from pipeline.check.structure import check_structure
from pipeline.check.tables import check_table
from pipeline.check.text import check_table_names, check_text
from pipeline.core.issues import Issue, ValidationReport, sort_issues
from pipeline.core.model import Dataset, Table, Validation
from pipeline.sources.project import LoadedSources, SchemaSet, load_sources

NO_TABLES: Mapping[str, Table] = MappingProxyType({})


def validate(loaded: LoadedSources, typed: Mapping[str, Table] = NO_TABLES) -> Validation:
    """Every problem in the loaded sources at once, and the typed dataset they make. TYPED:
    tables an earlier validation typed without a problem, each taken as it is when it was typed
    from the very source table and schema LOADED holds (a refresh validates the sources before
    and after it, and passes the tables of the files it leaves alone)."""
    issues: list[Issue] = list(loaded.issues)
    issues.extend(check_text(loaded.tables, loaded.schemas))
    issues.extend(check_table_names(loaded.tables))
    tables: dict[str, Table] = {}
    for resource, source in loaded.tables.items():
        schema = loaded.schemas[resource]
        known = typed.get(resource)
        if known is not None and known.source is source and known.schema is schema:
            tables[resource] = known
            continue
        table, problems = check_table(source, schema)
        tables[resource] = table
        issues.extend(problems)
    dataset = Dataset(loaded.metadata, tables)
    issues.extend(check_foreign_keys(dataset))
    if loaded.metadata is not None:
        issues.extend(check_provenance(dataset, loaded.metadata))
    issues.extend(check_rules(dataset))
    issues.extend(check_patients(dataset))
    issues.extend(check_membership_ids(dataset, issues))
    issues.extend(check_names(dataset, issues))
    issues.extend(check_review(dataset, loaded.metadata))
    scope = ics_scope(dataset)
    issues.extend(check_partnerships(dataset, scope))
    issues.extend(check_anomalies(dataset, scope))
    issues, decided = apply_decisions(dataset, issues)
    claim_issues, claims = check_claims(dataset)
    issues.extend(claim_issues)
    if not any(issue.is_error for issue in issues):  # generated tables need valid records
        issues.extend(check_structure(dataset))
    summary = summarise(dataset, claims)
    warnings = Counter(issue.code for issue in issues if not issue.is_error)
    if warnings:
        summary["warnings"] = dict(sorted(warnings.items()))
    if decided:
        summary["decided"] = decided
    return Validation(dataset, ValidationReport(sort_issues(quieten(issues)), summary))


SHAPE = ("extra-cell", "missing-cell")


def quieten(issues: list[Issue]) -> list[Issue]:
    """A row with too many or too few cells is one message: the errors of its shifted cells (a
    value under the wrong header) say nothing the shape does not, so they are left out. A
    value that breaks its enum or pattern is not also reported as a reference to nothing."""
    broken = {(i.file, i.record) for i in issues if i.code in SHAPE and i.record >= 0}
    issues = [i for i in issues if i.code in SHAPE or (i.file, i.record) not in broken]
    # a value outside its enum or pattern is one message too, not also a reference to nothing
    wrong = {(i.file, i.record, i.field) for i in issues if i.code in ("enum", "pattern")}
    issues = [
        i for i in issues if i.code != "foreign-key" or (i.file, i.record, i.field) not in wrong
    ]
    # an empty key cell is one message: not also a duplicate of other empty keys, and a
    # membership's empty id is said once, with the id to use
    said = {(i.file, i.record, i.field, i.code) for i in issues}
    return [
        i
        for i in issues
        if not (i.code == "primary-key" and (i.file, i.record, i.field, "missing-value") in said)
        and not (i.code == "missing-value" and (i.file, i.record, i.field, "membership-id") in said)
    ]


def validate_project(sources: Path, schemas: Path | SchemaSet) -> Validation:
    """Load and validate a project's folders (SCHEMAS: a folder, or a set read from one): what
    `validate`, `diff` and `refresh` need."""
    return validate(load_sources(sources, schemas))
