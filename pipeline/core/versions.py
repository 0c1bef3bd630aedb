"""Release versions: MAJOR.MINOR.PATCH, their order, and the bump from one to another."""

from __future__ import annotations

import re

# \Z, not $: `$` also matches before a trailing newline, and "1.0.1\n" would be a version
VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")
BUMPS = ("none", "patch", "minor", "major")


def parse_version(text: str) -> tuple[int, int, int]:
    match = VERSION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a version X.Y.Z")
    return int(match[1]), int(match[2]), int(match[3])


def version_bump(old: str, new: str) -> str:
    """The bump from version OLD to version NEW ("none" when NEW is not higher)."""
    before, after = parse_version(old), parse_version(new)
    if after <= before:
        return "none"
    if after[0] != before[0]:
        return "major"
    return "minor" if after[1] != before[1] else "patch"


def next_version(version: str, bump: str) -> str:
    major, minor, patch = parse_version(version)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return version


def at_least(given: str, needed: str) -> bool:
    return BUMPS.index(given) >= BUMPS.index(needed)
