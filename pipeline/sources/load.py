"""Load source records from `sources/`, keeping for each record its file and line.

Two formats, one per resource: `sources/<resource>.yaml` (a list of mappings, hand-written
records) and `sources/<resource>.csv` (a header row, long lists). Every value is kept as the text
the person typed (or None when empty): types are applied by the schema during validation, never
guessed by a parser, so `09J`, `2016`, `yes` and `0123` stay what they look like.

Loading never raises for a bad file: problems come back as `Issue` values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml

from pipeline.core.files import display_path
from pipeline.core.issues import Issue
from pipeline.core.model import Metadata, Record, SourceTable
from pipeline.sources.bounds import RefusedFile, read_regular_file, yaml_bounds
from pipeline.sources.csvsource import parse_csv

SOURCE_SUFFIXES = (".yaml", ".yml", ".csv")
NULL_TAG = "tag:yaml.org,2002:null"
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab and line ends


@dataclass(frozen=True)
class LoadResult:
    tables: dict[str, SourceTable]
    issues: tuple[Issue, ...]


@dataclass(frozen=True)
class Overlay:
    """A sources folder as a change would leave it, before anything is written: the new text of
    each file the change writes (`texts`, by file name), the files it removes (`removed`), and
    what was loaded of the files it leaves alone (`kept`: their tables by file name, `metadata`:
    package.yaml's), taken as they are instead of being read again."""

    texts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    removed: frozenset[str] = frozenset()
    kept: Mapping[str, SourceTable] = field(default_factory=lambda: MappingProxyType({}))
    metadata: Metadata | None = None

    def exists(self, path: Path) -> bool:
        return path.name in self.texts or (path.name not in self.removed and path.exists())

    def listing(self, folder: Path) -> list[Path]:
        """The files of FOLDER as the change leaves it, in name order."""
        names = {path.name for path in folder.iterdir()} if folder.is_dir() else set()
        return [folder / name for name in sorted((names - self.removed) | set(self.texts))]


NO_OVERLAY = Overlay()  # the folder as it is


def find_source(sources: Path, resource: str, overlay: Overlay = NO_OVERLAY) -> list[Path]:
    return [
        sources / f"{resource}{suffix}"
        for suffix in SOURCE_SUFFIXES
        if overlay.exists(sources / f"{resource}{suffix}")
    ]


def load_source_files(
    sources: Path, resources: Iterable[str], overlay: Overlay = NO_OVERLAY
) -> LoadResult:
    """Load the source file of every named resource; report files that are missing or extra.
    OVERLAY: the folder as a change would leave it."""
    tables: dict[str, SourceTable] = {}
    issues: list[Issue] = []
    wanted = list(resources)
    for resource in wanted:
        paths = find_source(sources, resource, overlay)
        if not paths:
            issues.append(
                Issue(
                    display_path(sources / f"{resource}.yaml"),
                    0,
                    "missing-file",
                    f"no source file for resource {resource!r}: expected "
                    f"{resource}.yaml or {resource}.csv in {display_path(sources)}",
                    resource,
                )
            )
            continue
        if len(paths) > 1:
            issues.append(
                Issue(
                    display_path(paths[1]),
                    0,
                    "duplicate-source",
                    f"resource {resource!r} has more than one source file: "
                    + ", ".join(p.name for p in paths)
                    + "; keep one",
                    resource,
                )
            )
        table, found = load_source_file(paths[0], resource, overlay)
        issues.extend(found)
        if table is not None:
            tables[resource] = table
    for path in overlay.listing(sources):
        if path.suffix in SOURCE_SUFFIXES and path.stem not in wanted and path.stem != "package":
            issues.append(
                Issue(
                    display_path(path),
                    0,
                    "unknown-resource",
                    f"no schema describes resource {path.stem!r}: add schemas/{path.stem}"
                    ".schema.yaml or remove the file",
                    path.stem,
                )
            )
    return LoadResult(tables, tuple(issues))


def read_text(path: Path, overlay: Overlay = NO_OVERLAY) -> tuple[str | None, list[Issue]]:
    """The file's text as UTF-8 (a BOM is accepted), or an issue naming the first bad line.
    OVERLAY: the folder as a change would leave it (a text it gives is checked the same way)."""
    text = overlay.texts.get(path.name)
    if text is None:
        try:
            # a FIFO would block, a device never end, a link lead out of the project: all refused
            data = read_regular_file(path, confined=True)
        except RefusedFile as exc:
            return None, [
                Issue(display_path(path), 0, "unreadable-file", f"{path.name} is refused: {exc}")
            ]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            bad = data[exc.start : exc.start + 1].hex()
            return None, [
                Issue(
                    display_path(path),
                    line,
                    "encoding",
                    f"byte 0x{bad} is not UTF-8; save the file as UTF-8",
                )
            ]
    control = CONTROL.search(text)
    if control:
        # PyYAML refuses these without a line; CSV would publish them. Name the line.
        line = text.count("\n", 0, control.start()) + 1
        return None, [
            Issue(
                display_path(path),
                line,
                "encoding",
                f"control character U+{ord(control[0]):04X} is not text; remove it",
            )
        ]
    if not text.strip():
        return None, [Issue(display_path(path), 0, "empty-file", "the file is empty")]
    return text, []


def load_source_file(
    path: Path, resource: str, overlay: Overlay = NO_OVERLAY
) -> tuple[SourceTable | None, list[Issue]]:
    kept = overlay.kept.get(path.name)
    if kept is not None and kept.resource == resource:
        return kept, []
    text, issues = read_text(path, overlay)
    if text is None:
        return None, [
            Issue(
                i.file,
                i.line,
                i.code,
                i.message + ("; it must hold records" if i.code == "empty-file" else ""),
                resource,
            )
            for i in issues
        ]
    parse = parse_csv if path.suffix == ".csv" else parse_yaml_records
    return parse(text, path, resource)


# --- YAML -------------------------------------------------------------------------------------


# PyYAML's parser messages name its grammar; say what a person usually got wrong instead.
YAML_HINTS = (
    ("found another document", "the file must hold one list of records; remove the '---' line"),
    (
        "mapping values are not allowed",
        "a value that contains ': ' must be in quotes, or this line is indented wrongly",
    ),
    (
        "but found '<scalar>'",
        "is there text after a closing quote, or is this line indented wrongly?",
    ),
    (
        "expected <block end>",
        "check the indentation of this line and the ones above: each record starts with '- ' "
        "and its fields line up under its first field",
    ),
)


def yaml_problem(exc: yaml.YAMLError, file: str, resource: str = "", text: str = "") -> Issue:
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context == "while scanning a quoted scalar" and context_mark is not None:
        # The file ended inside quotes: the mistake is where the quote opened, not at the end.
        return Issue(
            file,
            context_mark.line + 1,
            "yaml-syntax",
            "a quoted value starting on this line is never closed; add the closing quote",
            resource,
        )
    opened = _unclosed_quote(text, problem_mark.line) if text and problem_mark else None
    if opened is not None:
        return Issue(
            file,
            opened + 1,
            "yaml-syntax",
            f"a quoted value starting on this line is not closed on it (a quote on line "
            f"{problem_mark.line + 1 if problem_mark else '?'} closes it); add the closing quote",
            resource,
        )
    mark = problem_mark or context_mark
    line = mark.line + 1 if mark is not None else 0
    message = f"YAML cannot be read: {problem}"
    if context:
        message += f" ({context})"
    # PyYAML writes a tab as '\t'; do not look for the word "tab": "unacceptable" has it.
    if "\t" in problem or "'\\t'" in problem:
        message += "; indent with spaces, not tabs"
    else:
        message += next((f"; {hint}" for key, hint in YAML_HINTS if key in problem), "")
    return Issue(file, line, "yaml-syntax", message, resource)


def _unclosed_quote(text: str, error_line: int) -> int | None:
    """The 0-based line where a quoted value opened, if it spans lines and ends where YAML failed.

    An unclosed quote swallows text up to the next quote, so PyYAML fails later, on that line.
    """
    last: yaml.Token | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in ('"', "'")
                and token.start_mark.line != token.end_mark.line
            ):
                last = token
    except yaml.YAMLError:
        pass  # scanning stops at the same fault; the tokens before it are what we need
    if last is not None and last.end_mark.line == error_line:
        return int(last.start_mark.line)
    return None


# libyaml's parser gives the same nodes, lines and columns as PyYAML's pure-Python one in a
# tenth of the time; the pure-Python parser is run only to word a syntax error, since the hints
# above match its messages.
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose_yaml(text: str, file: str, resource: str = "") -> tuple[yaml.Node | None, list[Issue]]:
    """Compose (parse without constructing): nodes keep their line numbers and raw text."""
    try:
        root = yaml.compose(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit, 1000 levels
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            return None, [Issue(file, line, "yaml-limit", NESTING_MESSAGE, resource)]
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            return None, [yaml_problem(exc, file, resource, text)]
        except RecursionError:  # the pure-Python composer recurses once per level
            return None, [Issue(file, 0, "yaml-limit", NESTING_MESSAGE, resource)]
    except RecursionError:  # no libyaml: FAST_LOADER is the pure-Python one
        return None, [Issue(file, 0, "yaml-limit", NESTING_MESSAGE, resource)]
    bounded = yaml_bounds(root, anchored="&" in text) if root is not None else None
    if bounded is not None:
        return None, [Issue(file, bounded[0] + 1, "yaml-limit", bounded[1], resource)]
    return root, []


NESTING_MESSAGE = "lists and mappings nest too deeply here; a source file needs a few levels"


def construct_yaml(node: yaml.Node) -> object:
    """The plain values of a composed document (what yaml.safe_load gives for its text)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def scalar_text(node: yaml.Node) -> str | None:
    """The text of a scalar as typed; YAML's null and the empty string are no value."""
    if node.tag == NULL_TAG:
        return None
    value = str(node.value)
    return value if value.strip() != "" else None


def parse_yaml_records(
    text: str, path: Path, resource: str
) -> tuple[SourceTable | None, list[Issue]]:
    file = display_path(path)
    root, issues = compose_yaml(text, file, resource)
    if root is None:
        if not issues:
            issues = [Issue(file, 0, "empty-file", "the file holds no records", resource)]
        return None, issues
    if not isinstance(root, yaml.SequenceNode):
        return None, [
            Issue(
                file,
                root.start_mark.line + 1,
                "yaml-structure",
                "the file must be a list of records (each starting with '- ')",
                resource,
            )
        ]
    if not root.value and root.flow_style:
        # An explicit `[]` is a resource with no records yet (an ICS with no partnership
        # layer, no decision recorded); a file with nothing in it is still an empty file.
        return SourceTable(resource, path, "yaml", (), ()), issues
    records: list[Record] = []
    names: list[str] = []
    for index, node in enumerate(root.value):
        record = _yaml_record(node, index, file, resource, issues)
        if record is not None:
            records.append(record)
            names.extend(name for name in record.values if name not in names)
    if not records and not issues:
        issues.append(Issue(file, 0, "empty-file", "the file holds no records", resource))
    if not records or any(issue.code == "yaml-structure" for issue in issues):
        # No table, as for an unreadable file: counts, claims and foreign keys measured against
        # the records that could be read would only echo this problem, in other files.
        return None, issues
    return SourceTable(resource, path, "yaml", tuple(names), tuple(records)), issues


def _yaml_record(
    node: yaml.Node, index: int, file: str, resource: str, issues: list[Issue]
) -> Record | None:
    """The record of one item of the list, each field with its line; what is wrong with it is
    added to ISSUES (an item that is no mapping gives no record)."""
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        issues.append(
            Issue(
                file,
                line,
                "yaml-structure",
                f"each record must be a mapping of field: value, found {_describe(node)}",
                resource,
                record=index,
            )
        )
        return None
    values: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            message = "a field name must be text"
            issues.append(Issue(file, key_line, "yaml-structure", message, resource, record=index))
            continue
        key = str(key_node.value)
        if key in values or key in lines:
            issues.append(
                Issue(
                    file,
                    key_line,
                    "duplicate-key",
                    f"field {key!r} appears twice in this record (first on line "
                    f"{lines[key]}); YAML would silently keep the last",
                    resource,
                    key,
                    record=index,
                )
            )
            continue
        lines[key] = key_line
        if isinstance(value_node, yaml.ScalarNode):
            values[key] = scalar_text(value_node)
            continue
        issues.append(
            Issue(
                file,
                key_line,
                "type-error",
                "expected a single value, found a "
                + ("list" if isinstance(value_node, yaml.SequenceNode) else "mapping"),
                resource,
                key,
                record=index,
            )
        )
        values[key] = None
    return Record(index, line, values, lines)


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing after '- '"
    return f"the text {str(node.value)!r}; is the ': ' after the field name missing?"


@dataclass(frozen=True)
class YamlMapping:
    """A whole YAML document read once: its plain values, and its node tree for line numbers."""

    data: dict[str, object]
    root: yaml.Node


def parse_yaml_mapping(text: str, file: str) -> tuple[YamlMapping | None, list[Issue]]:
    """A whole YAML document as plain values (metadata, schemas), with duplicate keys reported."""
    root, issues = compose_yaml(text, file)
    if root is None:
        return None, issues or [Issue(file, 0, "empty-file", "the file is empty")]
    issues.extend(_duplicate_keys(root, file))
    try:
        data = construct_yaml(root)
    except yaml.YAMLError as exc:  # composed fine, so this is a constructor problem
        return None, [yaml_problem(exc, file)]
    except ValueError as exc:  # a timestamp that is no day (2026-02-30)
        line, key, value = _bad_timestamp(root)
        where = f"{key}: {value!r} is " if key else ""
        message = f"{where}not a date: {exc}"
        return None, [Issue(file, line, "type-error", message, field=key, value=value)]
    if not isinstance(data, dict):
        return None, [Issue(file, 1, "yaml-structure", "the file must be a mapping of key: value")]
    return YamlMapping(data, root), issues


def _bad_timestamp(root: yaml.Node) -> tuple[int, str, str]:
    """The 1-based line, the key and the text of the first YAML timestamp that is no date or
    time; (0, "", "") if none."""
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, key = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:timestamp":
                try:
                    construct_yaml(node)
                except ValueError:
                    return int(node.start_mark.line) + 1, key, str(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((value, str(name.value)) for name, value in reversed(node.value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, key) for item in reversed(node.value))
    return 0, "", ""


def _duplicate_keys(node: yaml.Node, file: str) -> list[Issue]:
    found: list[Issue] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                found.append(
                    Issue(
                        file,
                        line,
                        "duplicate-key",
                        f"key {key!r} appears twice in one mapping (first on line {seen[key]}); "
                        "YAML would silently keep the last",
                        field=key,
                    )
                )
            else:
                seen[key] = line
            found.extend(_duplicate_keys(value_node, file))
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            found.extend(_duplicate_keys(child, file))
    return found
