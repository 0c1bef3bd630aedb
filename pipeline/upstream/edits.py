"""Guided edits of the source records, as the data team makes them every month: a practice moves
to another PCN, a PCN is renamed, opens or closes, a practice closes, a public source is
registered.

Each edit is a plain function from the sources and the request to an `Edit` (`edit`): every
file it changes, as read and as edited, made on `CsvDocument`s (and as a text insertion in
package.yaml), so a line the edit does not change keeps its bytes. A request the records
contradict (a move on or before the current membership's start, a PCN not open that day,
closing what is closed) is refused with the record named by file and line; an unknown code or
source id is answered with the nearest ones. The edited sources are validated in a copy before
the edit is returned; `edit.write_edit` writes all its files or none.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import yaml

from pipeline.core.files import display_path, file_sha256
from pipeline.core.issues import quote
from pipeline.core.keys import next_membership_id
from pipeline.core.scope import BY_CCG_2019, BY_SUB_ICB, NO_PARTNERSHIPS, Scope, scope_of
from pipeline.core.timeline import Moment, iso, life, moment
from pipeline.sources.load import find_source, load_source_file
from pipeline.upstream.csvedit import CsvDocument, CsvRow
from pipeline.upstream.edit import Edit, EditRefused, SourceFiles, checked_edit, did_you_mean
from pipeline.upstream.editable import (
    MEMBERSHIP_COLUMNS,
    NAME_COLUMNS,
    PCN_COLUMNS,
    PRACTICE_COLUMNS,
    membership_key,
    name_key,
    pcn_key,
    split_ids,
)
from pipeline.upstream.registry import SourceEntry, append_entries

DAY = timedelta(days=1)
PACKAGE = "package.yaml"
COLUMNS = {
    "pcns": PCN_COLUMNS,
    "pcn_names": NAME_COLUMNS,
    "practices": PRACTICE_COLUMNS,
    "pcn_memberships": MEMBERSHIP_COLUMNS,
}
# The ids a record's `source` field can cite (the pattern of every schema's `source` field)
CITABLE = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)*")


# --- the edits ---------------------------------------------------------------------------------


def move_practice(
    sources: Path, schemas: Path, practice: str, pcn: str, day: date, source: str
) -> Edit:
    """PRACTICE leaves its PCN the day before DAY and is in PCN from DAY, citing SOURCE: its
    current membership ends (the source cited beside its own) and a new one starts, with the
    next id for that practice and PCN, where its key sorts."""
    files = SourceFiles(sources)
    require_source(files, source)
    practices = table(files, "practices")
    pcns = table(files, "pcns")
    memberships = table(files, "pcn_memberships")
    find_row(practices, "practice_code", practice, "practice")
    target = find_row(pcns, "pcn_code", pcn, "PCN")
    current = current_membership(memberships, practice, day - DAY, "a move on " + iso(day))
    if current.get("pcn_code") == pcn:
        raise EditRefused(
            f"practice {practice} is in PCN {pcn} already ({where(memberships, current)})",
            hint="name the PCN the practice moves to",
        )
    require_open(pcns, target, day)
    before = current.values.copy()
    current.set("end_date", iso(day - DAY))
    cite(current, source)
    ident = next_membership_id(
        practice, pcn, (row.get("membership_id") for row in memberships.rows)
    )
    memberships.insert(
        {
            "membership_id": ident,
            "practice_code": practice,
            "pcn_code": pcn,
            "start_date": iso(day),
            "source": source,
        },
        membership_key,
    )
    return checked_edit(
        files,
        schemas,
        f"Practice {practice} moves from PCN {before['pcn_code']} to PCN {pcn} on {iso(day)}: "
        f"{before['membership_id']} ends on {iso(day - DAY)}, {ident} starts.",
        [memberships],
    )


def rename_pcn(sources: Path, schemas: Path, pcn: str, name: str, day: date, source: str) -> Edit:
    """PCN is named NAME from DAY, citing SOURCE: its current name's row in pcn_names ends the
    day before, a row with the next number holds from DAY, and pcns.pcn_name follows."""
    files = SourceFiles(sources)
    require_source(files, source)
    pcns = table(files, "pcns")
    names = table(files, "pcn_names")
    row = find_row(pcns, "pcn_code", pcn, "PCN")
    require_open(pcns, row, day)
    current = current_name(names, pcn)
    old = current.get("name")
    if old == name:
        raise EditRefused(
            f"PCN {pcn} is named {quote(name)} already ({where(names, current)})",
            hint="give the new name as ODS publishes it",
        )
    since = moment(current, "valid_from")
    if not since.known:  # the first name holds from the PCN's opening
        since = moment(row, "open_date")
    if since.hi is not None and day <= since.hi:
        raise EditRefused(
            f"PCN {pcn}'s name {quote(old)} holds from {since.describe()} "
            f"({where(names, current)}): a rename on {iso(day)} must come after it",
            hint="give the day the new name took effect",
        )
    current.set("valid_to", iso(day - DAY))
    cite(current, source)
    numbers = [
        int(r.get("number"))
        for r in names.rows
        if r.get("pcn_code") == pcn and r.get("number").isdigit()
    ]
    names.insert(
        {
            "pcn_code": pcn,
            "number": str(max(numbers, default=0) + 1),
            "name": name,
            "valid_from": iso(day),
            "source": source,
        },
        name_key,
    )
    row.set("pcn_name", name)
    cite(row, source)
    return checked_edit(
        files,
        schemas,
        f"PCN {pcn} is renamed from {old} to {name} on {iso(day)}.",
        [pcns, names],
    )


def close_record(sources: Path, schemas: Path, code: str, day: date, source: str) -> Edit:
    """A PCN or a practice closes, DAY being its last day open (the close date as ODS records
    it), citing SOURCE. A PCN: its close_date, and its open memberships and its current name
    end that day. A practice: its open membership ends that day."""
    files = SourceFiles(sources)
    require_source(files, source)
    pcns = table(files, "pcns")
    if any(row.get("pcn_code") == code for row in pcns.rows):
        return close_pcn(files, schemas, pcns, code, day, source)
    practices = table(files, "practices")
    if any(row.get("practice_code") == code for row in practices.rows):
        return close_practice(files, schemas, code, day, source)
    known = [r.get("pcn_code") for r in pcns.rows] + [
        r.get("practice_code") for r in practices.rows
    ]
    raise EditRefused(
        f"{code} is neither a PCN in {display_path(pcns.path)} nor a practice in "
        f"{display_path(practices.path)}{did_you_mean(code, known)}",
        hint="give the ODS code of the PCN or practice that closes",
    )


def close_pcn(
    files: SourceFiles, schemas: Path, pcns: CsvDocument, code: str, day: date, source: str
) -> Edit:
    names = table(files, "pcn_names")
    memberships = table(files, "pcn_memberships")
    row = find_row(pcns, "pcn_code", code, "PCN")
    closed = moment(row, "close_date")
    if closed.known:
        raise EditRefused(
            f"PCN {code} is closed already: its last day was {closed.describe()} "
            f"({where(pcns, row)})",
            hint="nothing to close; to correct the date, edit close_date in the file",
        )
    require_open(pcns, row, day)
    row.set("close_date", iso(day))
    cite(row, source)
    ended = []
    for member in memberships.rows:
        if member.get("pcn_code") != code or moment(member, "end_date").known:
            continue
        end_after_start(memberships, member, "start_date", day, f"PCN {code} closing on")
        member.set("end_date", iso(day))
        cite(member, source)
        ended.append(member.get("membership_id"))
    current = current_name(names, code)
    current.set("valid_to", iso(day))
    cite(current, source)
    members = f"{len(ended)} membership{'' if len(ended) == 1 else 's'}"
    return checked_edit(
        files,
        schemas,
        f"PCN {code} closes on {iso(day)} (its last day open); its name and {members} "
        f"({', '.join(ended) or 'none open'}) end that day.",
        [pcns, names, memberships],
    )


def close_practice(files: SourceFiles, schemas: Path, code: str, day: date, source: str) -> Edit:
    memberships = table(files, "pcn_memberships")
    current = current_membership(memberships, code, day, "closing it on " + iso(day))
    current.set("end_date", iso(day))
    cite(current, source)
    return checked_edit(
        files,
        schemas,
        f"Practice {code} closes on {iso(day)} (its last day open): "
        f"{current.get('membership_id')} in PCN {current.get('pcn_code')} ends that day.",
        [memberships],
    )


def open_pcn(
    sources: Path,
    schemas: Path,
    code: str,
    name: str,
    day: date,
    source: str,
    *,
    sub_icb: str | None = None,
    partnership: str | None = None,
) -> Edit:
    """A new PCN CODE named NAME opens on DAY, citing SOURCE: a pcns row (commissioned by
    SUB_ICB, by default the ICS's only sub-ICB location; in PARTNERSHIP, required when the
    ICS's partnership rule puts every PCN in one) and its first pcn_names row."""
    files = SourceFiles(sources)
    require_source(files, source)
    pcns = table(files, "pcns")
    names = table(files, "pcn_names")
    existing = next((row for row in pcns.rows if row.get("pcn_code") == code), None)
    if existing is not None:
        raise EditRefused(
            f"PCN {code} exists already ({where(pcns, existing)}): it is "
            f"{quote(existing.get('pcn_name'))}",
            hint="a PCN that reopens keeps its record: edit its dates by hand",
        )
    scope = ics_scope(sources)
    commissioner = sub_icb or only_sub_icb(scope)
    require_code(sources, "organisations", "code", commissioner, "--sub-icb")
    rule = scope.partnership_rule
    if partnership is not None:
        if rule == NO_PARTNERSHIPS:
            raise EditRefused(
                "the ICS has no partnerships (partnership_rule none in ics.yaml): leave out "
                "--partnership",
                hint="or change the partnership rule in ics.yaml first",
            )
        require_code(sources, "partnerships", "id", partnership, "--partnership")
    elif rule in (BY_CCG_2019, BY_SUB_ICB) and scope.owns(commissioner):
        ids = sorted(codes_of(sources, "partnerships", "id"))
        raise EditRefused(
            f"under the partnership rule {rule} (ics.yaml) every PCN of the ICS is in a "
            "partnership: give --partnership",
            hint="one of " + ", ".join(ids) if ids else "add the partnership first",
        )
    pcns.insert(
        {
            "pcn_code": code,
            "pcn_name": name,
            "sub_icb_code": commissioner,
            "open_date": iso(day),
            "partnership": partnership or "",
            "partnership_basis": (
                f"hand-kept: given when the PCN opened ({source})" if partnership else ""
            ),
            "partnership_review": "false",
            "source": source,
        },
        pcn_key,
    )
    names.insert({"pcn_code": code, "number": "1", "name": name, "source": source}, name_key)
    where_ = f" in partnership {partnership}" if partnership else ""
    return checked_edit(
        files,
        schemas,
        f"PCN {code} {name} opens on {iso(day)}, commissioned by {commissioner}{where_}.",
        [pcns, names],
    )


def add_source(
    sources: Path,
    schemas: Path,
    ident: str,
    title: str,
    path: str,
    vintage: date,
    file: Path | None = None,
) -> Edit:
    """Register a public source under `sources:` in package.yaml (its SHA-256 from FILE, when
    given) as a text insertion: every other byte of the file stays."""
    files = SourceFiles(sources)
    package = sources / PACKAGE
    text = files.text(PACKAGE)
    registered = registered_sources(text, package)
    if ident in registered:
        raise EditRefused(
            f"source {ident} is registered already ({display_path(package)}:{registered[ident]})",
            hint="cite it as it is, or choose another id",
        )
    if not CITABLE.fullmatch(ident):
        raise EditRefused(
            f"{quote(ident)} is not an id the records can cite: capital letters and digits, "
            "joined by single hyphens",
            hint="e.g. HAND-2026-11-20 or EPCN-2026-10-01",
        )
    sha256 = file_sha256(file) if file is not None else None
    entry = SourceEntry(ident, title, path, vintage, sha256, None)
    after = append_entries(text, [entry], display_path(package), note=None)
    digest = f", sha256 {sha256}" if sha256 else ""
    return checked_edit(
        files,
        schemas,
        f"Source {ident} is registered (vintage {iso(vintage)}{digest}).",
        texts={PACKAGE: after},
    )


# --- what the records say ----------------------------------------------------------------------


def table(files: SourceFiles, resource: str) -> CsvDocument:
    return files.table(resource, COLUMNS[resource])


def where(document: CsvDocument, row: CsvRow) -> str:
    return f"{display_path(document.path)}:{row.line}"


def find_row(document: CsvDocument, column: str, code: str, what: str) -> CsvRow:
    for row in document.rows:
        if row.get(column) == code:
            return row
    known = [row.get(column) for row in document.rows]
    raise EditRefused(
        f"no {what} {code} in {display_path(document.path)}{did_you_mean(code, known)}",
        hint=f"give the ODS code of the {what}",
    )


def cite(row: CsvRow, source: str) -> None:
    """Add SOURCE to the ids the record cites (after them, once)."""
    ids = split_ids(row.get("source"))
    if source not in ids:
        row.set("source", "; ".join([*ids, source]))


def require_open(pcns: CsvDocument, row: CsvRow, day: date) -> None:
    """Refuse unless the PCN was definitely open on DAY."""
    span = life(row, "open_date", "close_date")
    if span.definitely_on(day):
        return
    closed = f" and closed {span.end.describe()}" if span.end.known else ""
    raise EditRefused(
        f"PCN {row.get('pcn_code')} is not open on {iso(day)}: it opened "
        f"{span.start.describe()}{closed} ({where(pcns, row)})",
        hint="give a day on which the PCN is open",
    )


def current_membership(memberships: CsvDocument, practice: str, last: date, what: str) -> CsvRow:
    """The practice's open membership (no end known), which is to end on LAST: refused when it
    has none, or more than one, or when it starts after LAST."""
    own = [row for row in memberships.rows if row.get("practice_code") == practice]
    open_rows = [row for row in own if not moment(row, "end_date").known]
    if not open_rows:
        ended = max(own, key=lambda r: moment(r, "end_date").hi or date.min, default=None)
        found = (
            f": its last membership {ended.get('membership_id')} ended "
            f"{moment(ended, 'end_date').describe()} ({where(memberships, ended)})"
            if ended is not None
            else f": it has no membership in {display_path(memberships.path)}"
        )
        raise EditRefused(
            f"practice {practice} is in no PCN on {iso(last)}{found}",
            hint="nothing to end: to add a period, add its row by hand",
        )
    if len(open_rows) > 1:
        listed = ", ".join(
            f"{row.get('membership_id')} ({where(memberships, row)})" for row in open_rows
        )
        raise EditRefused(
            f"practice {practice} has {len(open_rows)} memberships with no end: {listed}",
            hint="end all but one of them by hand first",
        )
    end_after_start(memberships, open_rows[0], "start_date", last, what)
    return open_rows[0]


def end_after_start(document: CsvDocument, row: CsvRow, column: str, last: date, what: str) -> None:
    """Refuse to end ROW on LAST when it (possibly) starts after LAST."""
    start: Moment = moment(row, column)
    if start.hi is not None and start.hi > last:
        ident = row.get("membership_id") or row.get("name")
        raise EditRefused(
            f"{ident} of PCN {row.get('pcn_code')} starts {start.describe()} "
            f"({where(document, row)}): {what} would end it on {iso(last)}, before it starts",
            hint="give a later day",
        )


def current_name(names: CsvDocument, pcn: str) -> CsvRow:
    current = [
        row
        for row in names.rows
        if row.get("pcn_code") == pcn and not moment(row, "valid_to").known
    ]
    if len(current) != 1:
        raise EditRefused(
            f"PCN {pcn} has {len(current)} names with no end in {display_path(names.path)} "
            "(its current name is the one with no valid_to)",
            hint="run ics-data validate and fix pcn_names first",
        )
    return current[0]


def registered_sources(text: str, path: Path) -> dict[str, int]:
    """The ids under `sources:` in package.yaml, each with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise EditRefused(
            f"{display_path(path)} cannot be read as YAML", hint="run ics-data validate"
        ) from None
    found: dict[str, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return found
    entries = next((v for k, v in root.value if k.value == "sources"), None)
    for item in entries.value if isinstance(entries, yaml.SequenceNode) else []:
        if isinstance(item, yaml.MappingNode):
            for key, value in item.value:
                if key.value == "id" and isinstance(value, yaml.ScalarNode):
                    found[str(value.value)] = value.start_mark.line + 1
    return found


def require_source(files: SourceFiles, ident: str) -> None:
    package = files.folder / PACKAGE
    registered = registered_sources(files.text(PACKAGE), package)
    if ident not in registered:
        raise EditRefused(
            f"source {ident} is not registered in {display_path(package)}"
            f"{did_you_mean(ident, registered)}",
            hint=f"register your evidence first: ics-data add-source {ident} --title TEXT "
            "--path URL --vintage YYYY-MM-DD",
        )


def records_of(sources: Path, resource: str) -> list[dict[str, str | None]]:
    found = find_source(sources, resource)
    table, _ = load_source_file(found[0], resource) if found else (None, [])
    return [dict(record.values) for record in table.records] if table else []


def codes_of(sources: Path, resource: str, column: str) -> set[str]:
    return {str(r[column]) for r in records_of(sources, resource) if r.get(column)}


def require_code(sources: Path, resource: str, column: str, code: str, option: str) -> None:
    known = codes_of(sources, resource, column)
    if code not in known:
        raise EditRefused(
            f"{option} {code}: no such {column} in {resource}{did_you_mean(code, known)}",
            hint=f"give one of the {resource} the sources hold",
        )


def ics_scope(sources: Path) -> Scope:
    scope = scope_of(records_of(sources, "ics"))
    if scope is None:
        raise EditRefused(
            f"no ICS record with a code in {display_path(sources)}/ics.yaml",
            hint="run ics-data validate",
        )
    return scope


def only_sub_icb(scope: Scope) -> str:
    if len(scope.sub_icb_locations) == 1:
        return scope.sub_icb_locations[0]
    raise EditRefused(
        f"the ICS has {len(scope.sub_icb_locations)} sub-ICB locations "
        f"({', '.join(scope.sub_icb_locations) or 'none'} in ics.yaml): give --sub-icb",
        hint="the PCN's commissioner, as ODS records it",
    )
