"""The version policy, in the semver spirit for data, and the files it adds to every release.

- **major**: a reader can break: a resource, field or record removed, a field renamed, a type
  changed, the primary key changed, a constraint tightened or a foreign key added;
- **minor**: additions (resources, fields, records), records closed (an end date set), a
  constraint loosened or a foreign key removed;
- **patch**: corrections of values in existing records, and of the schemas' words;
- **none**: nothing changed in the data.

`publish` refuses a declared version smaller than the changes since the newest release need.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.changes.model import Diff
from pipeline.core.errors import ReleaseError
from pipeline.core.files import display_path
from pipeline.core.versions import at_least, next_version, version_bump

SHOWN = 10


def reasons(diff: Diff, bump: str) -> list[str]:
    found = [c.description for c in diff.needing(bump)]
    shown = found[:SHOWN]
    if len(found) > SHOWN:
        shown.append(f"and {len(found) - SHOWN} more")
    return shown


def verdict(diff: Diff) -> str:
    """One line on the version: the bump the changes need, and whether NEW declares enough."""
    needed, old = diff.bump, diff.old.version
    if needed == "none":
        return f"No change needs a new version after {old}."
    line = f"The changes need a {needed} release: {next_version(old, needed)} after {old}."
    declared = diff.new.version
    if diff.new.label == declared:
        return line
    given = version_bump(old, declared)
    if given == "none":
        return line + f" Declared: {declared}, not higher than {old}: bump it."
    if not at_least(given, needed):
        return line + f" Declared: {declared}, a {given} release: too small."
    return line + f" Declared: {declared}, a {given} release: enough."


def check_version(diff: Diff, declared: str, where: Path) -> None:
    """Refuse DECLARED when it is a smaller bump from the old release than the changes need."""
    needed, old = diff.bump, diff.old.version
    given = version_bump(old, declared)
    if at_least(given, needed):
        return
    target = next_version(old, needed)
    raise ReleaseError(
        f"version {declared} is a {given} release after {old}, but the changes need a {needed} "
        f"release ({target}):\n" + "\n".join(f"  {line}" for line in reasons(diff, needed)),
        hint=f"set `version: {target}` in {display_path(where)}; "
        f"`ics-data diff {old} sources` lists every change",
    )
