"""Writing the two values of `sources/package.yaml` a release plan sets, `version` and
`release_date`, and nothing else: every other byte of the file stays as the person wrote it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipeline.core.errors import ProjectError
from pipeline.core.files import display_path

# a top-level `key: value` line, the value plain or quoted, an optional comment after it
LINE = r"^({key}:[ \t]*)([\"']?)([0-9A-Za-z][0-9A-Za-z.:+-]*)(\2)([ \t]*(?:#.*)?)$"


def set_release_fields(path: Path, version: str, release_date: date) -> bool:
    """Set `version` and `release_date` in PATH (a package.yaml), keeping their quoting and any
    comment on their line; return whether the file changed. A key missing, repeated or not a
    one-line value is a `ProjectError`: the person's file is never rewritten as a whole."""
    text = path.read_bytes().decode("utf-8")
    for key, value in (("version", version), ("release_date", release_date.isoformat())):
        pattern = re.compile(LINE.format(key=key), re.M)
        found = pattern.findall(text)
        if len(found) != 1:
            raise ProjectError(
                f"{display_path(path)} has {len(found)} top-level `{key}:` lines with a one-line "
                "value; a release plan sets exactly one",
                hint=f"write it as `{key}: {value}` on a line of its own",
            )
        text = pattern.sub(_setter(value), text)
    before = path.read_bytes()
    after = text.encode("utf-8")
    if after == before:
        return False
    path.write_bytes(after)
    return True


def _setter(value: str) -> Callable[[re.Match[str]], str]:
    def put(match: re.Match[str]) -> str:
        return f"{match[1]}{match[2]}{value}{match[4]}{match[5]}"

    return put
