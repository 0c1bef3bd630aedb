"""The rules that follow what the ICS says it is (`ics.yaml`), and the publisher's own anomalies.

- Partnerships follow `ics.partnership_rule`: under ccg-2019 and sub-icb-location every PCN of the
  ICS belongs to one (an error if not), under hand-kept a PCN not yet given one is a warning,
  under none no PCN and no record names one. PCNs of other ICBs (references) are not asked.
- ODS's own anomalies are kept as published and reported as warnings, each with its own code:
  a PCN with no member practice (`pcn-without-members`), a PCN open for one or two days
  (`short-lived-pcn`), a practice of one of the ICS's PCNs with no 2019 CCG under the rule
  ccg-2019 (`no-ccg-2019`); overlapping periods are found with the memberships (`rules`).
- A person may resolve a warning with a recorded decision (`decisions`): the warning is then not
  reported again; a decision that matches no warning is an error, so a typo cannot hide one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipeline.check.tables import record_key, row_issue
from pipeline.core.issues import WARNING, Issue
from pipeline.core.model import Dataset, Row, Table
from pipeline.core.scope import (
    BY_CCG_2019,
    HAND_KEPT,
    NO_PARTNERSHIPS,
    Scope,
    scope_of,
)
from pipeline.core.timeline import moment

# A PCN whose close date is at most this many days after its open date was open for a day or two.
SHORT_LIFE_DAYS = 1


def ics_scope(dataset: Dataset) -> Scope | None:
    return scope_of(dataset.values("ics"))


def _own(scope: Scope | None, row: Row) -> bool:
    return scope is None or scope.owns(row.values.get("sub_icb_code"))


def _warning(table: Table, row: Row, field: str, code: str, message: str, value: object) -> Issue:
    issue = row_issue(table, row, field, code, message, value)
    return Issue(
        issue.file,
        issue.line,
        issue.code,
        f"{issue.message} (decisions key: {record_key(table, row)})",
        issue.resource,
        issue.field,
        issue.value,
        issue.record,
        WARNING,
    )


def check_partnerships(dataset: Dataset, scope: Scope | None) -> Iterable[Issue]:
    table = dataset.tables.get("pcns")
    if table is None or "partnership" not in table.schema.field_names:
        return
    rule = scope.partnership_rule if scope is not None else BY_CCG_2019
    if rule == NO_PARTNERSHIPS:
        yield from _partnerships_not_used(dataset, table)
        return
    for row in table.rows:
        code = row.values.get("pcn_code")
        if row.values.get("partnership") is not None or not code or not _own(scope, row):
            continue
        if rule == HAND_KEPT:
            yield _warning(
                table,
                row,
                "partnership",
                "partnership-not-set",
                f"PCN {code} has no partnership yet; the partnership rule is hand-kept: set "
                'partnership and partnership_basis ("hand-kept: ...") in pcns',
                None,
            )
        else:
            yield row_issue(
                table,
                row,
                "partnership",
                "missing-partnership",
                f"PCN {code} belongs to no partnership; under the partnership rule {rule} every "
                "PCN of the ICS belongs to exactly one",
                None,
            )


def _partnerships_not_used(dataset: Dataset, pcns: Table) -> Iterable[Issue]:
    for row in pcns.rows:
        if row.values.get("partnership") is not None:
            yield row_issue(
                pcns,
                row,
                "partnership",
                "partnership-not-used",
                f"PCN {row.values.get('pcn_code')} names a partnership, but the ICS's partnership "
                "rule is none (ics.yaml): leave it empty, or change the rule",
                row.values.get("partnership"),
            )
    table = dataset.tables.get("partnerships")
    if table is None:
        return
    for row in table.rows:
        yield row_issue(
            table,
            row,
            "id",
            "partnership-not-used",
            f"partnership {row.values.get('id')} is listed, but the ICS's partnership rule is "
            "none (ics.yaml): remove it, or change the rule",
            row.values.get("id"),
        )


def check_anomalies(dataset: Dataset, scope: Scope | None) -> Iterable[Issue]:
    """The publisher's own anomalies in the ICS's PCNs and practices, as warnings."""
    pcns = dataset.tables.get("pcns")
    memberships = dataset.rows("pcn_memberships")
    members: dict[object, set[object]] = {}
    for row in memberships:
        members.setdefault(row.values.get("pcn_code"), set()).add(row.values.get("practice_code"))
    own_pcns: set[object] = set()
    if pcns is None:
        return
    for row in pcns.rows:
        code = row.values.get("pcn_code")
        if not code or not _own(scope, row):
            continue
        own_pcns.add(code)
        if code not in members:
            yield _warning(
                pcns,
                row,
                "pcn_code",
                "pcn-without-members",
                f"PCN {code} has no member practice in any file: kept as published",
                code,
            )
        opened, closed = moment(row.values, "open_date"), moment(row.values, "close_date")
        if opened.exact and closed.exact and 0 <= (closed.exact - opened.exact).days:
            days = (closed.exact - opened.exact).days
            if days <= SHORT_LIFE_DAYS:
                yield _warning(
                    pcns,
                    row,
                    "close_date",
                    "short-lived-pcn",
                    f"PCN {code} was open for {days + 1} day{'s' if days else ''} "
                    f"({opened.exact} to {closed.exact}): kept as published",
                    closed.exact,
                )
    if scope is not None and scope.partnership_rule != BY_CCG_2019:
        return
    practices = dataset.tables.get("practices")
    if practices is None or "ccg_2019_code" not in practices.schema.field_names:
        return
    in_own = {
        row.values.get("practice_code")
        for row in memberships
        if row.values.get("pcn_code") in own_pcns
    }
    for row in practices.rows:
        code = row.values.get("practice_code")
        if row.values.get("ccg_2019_code") is None and code in in_own:
            yield _warning(
                practices,
                row,
                "ccg_2019_code",
                "no-ccg-2019",
                f"practice {code} has no 2019 CCG (not in ODS epcmem: opened after 2019?), so "
                "it gives no partnership under the rule ccg-2019",
                None,
            )


def apply_decisions(dataset: Dataset, issues: Sequence[Issue]) -> tuple[list[Issue], int]:
    """The issues less the warnings a recorded decision resolves, plus an error for each
    decision that matches no warning; and how many warnings were resolved."""
    table = dataset.tables.get("decisions")
    if table is None or not table.rows:
        return list(issues), 0
    wanted = {
        (row.values.get("code"), row.values.get("resource"), row.values.get("key")): row
        for row in table.rows
    }
    keys: dict[tuple[str, int], str] = {}
    for resource in {i.resource for i in issues if not i.is_error}:
        source = dataset.tables.get(resource)
        if source is None:
            continue
        for row in source.rows:
            keys[(resource, row.record.index)] = record_key(source, row)
    kept: list[Issue] = []
    used: set[tuple[object, object, object]] = set()
    for issue in issues:
        if not issue.is_error:
            ident: tuple[object, object, object] = (
                issue.code,
                issue.resource,
                keys.get((issue.resource, issue.record)),
            )
            if ident in wanted:
                used.add(ident)
                continue
        kept.append(issue)
    for wanted_key, row in wanted.items():
        if wanted_key not in used:
            what, where, key = wanted_key
            kept.append(
                row_issue(
                    table,
                    row,
                    "key",
                    "decision-unmatched",
                    f"no {what} warning on {where} record {key!r}: is the code, resource "
                    "or key mistyped, or was the warning resolved in the data?",
                    key,
                )
            )
    return kept, len(used)
