"""The text policy: what a text value may hold, and how much of a value a message shows.

Every text value of every table, and every string of `package.yaml`, is checked at validation:

- control characters (C0 but LF, DEL, C1), bidirectional overrides and lone surrogates are
  refused (`control-character`); a carriage return is refused (`carriage-return`): a reader
  splitting lines on it sees more rows than were written;
- a line break (LF) is refused where a field is one line (`line-break`); U+2028 and U+2029 are
  refused everywhere (`line-separator`): JavaScript and some editors break lines on them;
- a value a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
  carriage return) is refused (`formula`) unless it is a plain signed number, the one such value
  that is a plausible fact: a spreadsheet opening a CSV runs `=HYPERLINK(...)` or `+cmd|...`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SIGNED_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
SHOWN = 120  # characters of a value a message shows; the rest is counted, not printed


def shorten(text: str, limit: int = SHOWN) -> str:
    """TEXT cut to LIMIT characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


# Every character the policy may refuse, found in one pass in C; the loop below words it.
SUSPECT = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
SUSPECT_OR_LF = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def text_problem(value: str, *, multiline: bool = False) -> tuple[str, str] | None:
    """(code, message) of the first character the policy refuses in VALUE, or None."""
    if (SUSPECT if multiline else SUSPECT_OR_LF).search(value) is None:
        return None
    return first_refused(value, multiline=multiline)


def first_refused(value: str, *, multiline: bool = False) -> tuple[str, str] | None:
    """The policy, character by character (what `text_problem` runs once a suspect is found)."""
    for position, char in enumerate(value, start=1):
        point = ord(char)
        where = f"character {position} is"
        if char == "\n":
            if multiline:
                continue
            return "line-break", f"{where} a line break in a one-line field; keep it on one line"
        if char == "\r":
            return (
                "carriage-return",
                f"{where} a carriage return (U+000D), which readers take for a line end; remove it",
            )
        if char in ("\u2028", "\u2029"):
            return (
                "line-separator",
                f"{where} U+{point:04X}, a line separator that breaks lines in browsers and "
                "editors; remove it",
            )
        if point < 0x20 or 0x7F <= point <= 0x9F:
            return "control-character", f"{where} control character U+{point:04X}; remove it"
        if char in BIDI:
            return (
                "control-character",
                f"{where} U+{point:04X}, a bidirectional override that makes text display in "
                "another order than it reads; remove it",
            )
        if 0xD800 <= point <= 0xDFFF:
            return "control-character", f"{where} U+{point:04X}, half of a character; remove it"
    return None


def formula_problem(value: str) -> str | None:
    """The message when a spreadsheet would run VALUE as a formula, else None."""
    if not value.startswith(FORMULA_START) or SIGNED_NUMBER.match(value):
        return None
    first = {"\t": "a tab", "\r": "a carriage return"}.get(value[0], repr(value[0]))
    return (
        f"starts with {first}, so a spreadsheet opening the CSV would run it as a formula; "
        "reword it so that it starts with a letter, digit or quote"
    )


# --- links ------------------------------------------------------------------------------------

LINKABLE = ("http", "https", "mailto")


def link_target(url: object) -> str:
    """URL if a page may link to it: an absolute http(s) URL with a host, or a mailto: address;
    else "". A browser drops tabs and line breaks inside a URL (`java\\tscript:` runs), so any
    space or control character refuses it."""
    if not isinstance(url, str) or not url or _unsafe_in_url(url):
        return ""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    if parts.scheme == "mailto" and "@" in parts.path:
        return url
    return ""


def local_target(path: object) -> str:
    """PATH if it is a relative path a page may link to (no scheme, no host), else "": a file
    named `javascript:alert(1)-1.0.0.zip` is linked as `./javascript:...`, which is a path."""
    if not isinstance(path, str) or not path or _unsafe_in_url(path):
        return ""
    if path.startswith(("/", "\\")):
        return ""
    return f"./{path}" if urlsplit(path).scheme else path


# A character no link may hold: a space (as str.isspace has it; re's \s is the same set), a
# character that ends an attribute or a tag, or any the text policy refuses in one line.
UNSAFE_IN_URL = re.compile('[\\s<>"`' + SUSPECT_OR_LF.pattern[1:-1] + "]")


def _unsafe_in_url(url: str) -> bool:
    return UNSAFE_IN_URL.search(url) is not None


# --- table names ------------------------------------------------------------------------------

FORMAT_TABLES = ("fields", "about")  # the tables (and XLSX sheets) every format adds itself
SHEET_NAME_MAX = 31  # characters of an XLSX sheet name (Excel's limit)
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def table_name_problems(
    names: list[str], reserved: tuple[str, ...] = FORMAT_TABLES
) -> list[tuple[str, str]]:
    """(name, problem) for each table name SQLite and XLSX cannot hold as a table and a sheet of
    its own: one of RESERVED (the formats' own tables), the same as another but for case (SQLite
    and Excel ignore case), over 31 characters, or holding `[ ] : * ? / \\` (Excel refuses
    them) or an apostrophe at an edge."""
    found = []
    seen: dict[str, str] = {}
    for name in names:
        folded = name.casefold()
        problem = ""
        if folded in reserved:
            problem = "is the name of a table every format adds (the fields, or about)"
        elif folded in seen:
            problem = f"differs from {seen[folded]!r} only by case, which SQLite and Excel ignore"
        elif len(name) > SHEET_NAME_MAX:
            problem = f"is {len(name)} characters; an XLSX sheet name holds {SHEET_NAME_MAX}"
        elif SHEET_NAME_BAD.search(name) or name.startswith("'") or name.endswith("'"):
            problem = "holds a character an XLSX sheet name cannot: [ ] : * ? / \\ or an edge '"
        if problem:
            found.append((name, problem))
        seen[folded] = name
    return found
