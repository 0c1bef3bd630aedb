"""Loader tests: what is written as YAML or CSV reads back the same, at the right lines.

The loaders keep every value as the text typed (types come from the schema later), so strings
YAML would turn into numbers, booleans or dates must come back exactly as written.
"""

from __future__ import annotations

import csv
import io
import json
import re
import string
import tempfile
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.model import Record
from pipeline.sources.csvsource import parse_csv
from pipeline.sources.load import load_source_file, parse_yaml_records

# Text YAML would read as something else when written plain: numbers, booleans, dates, sexagesimal.
TRICKY = [
    "09J",
    "yes",
    "no",
    "on",
    "off",
    "YES",
    "true",
    "False",
    "0123",
    "00123",
    "2016",
    "1e3",
    "1E-3",
    "0x1F",
    "0o17",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "+1",
    "-1",
    ".5",
    "1.0",
    "12:30",
    "2022-07-01",
    "2021-04",
    "U04973",
    "E54000032",
    "=1+1",
]
NULL_WORDS = ["null", "Null", "NULL", "~"]

# Printable text only: YAML forbids most control characters and lone surrogates even when quoted.
TEXT = st.text(
    st.characters(
        whitelist_categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No", "P", "S", "Zs"),
        whitelist_characters="\n\t",
    ),
    max_size=30,
)
VALUE = st.one_of(
    st.none(),
    st.sampled_from(TRICKY + NULL_WORDS + ["", " ", "a: b", "# x", "- x", "'", '"', "x #y"]),
    TEXT,
)
# [a-z][a-z0-9_]{0,11}, built from its two parts: st.from_regex draws it fifteen times slower
NAME = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_lowercase),
    st.text(alphabet=string.ascii_lowercase + string.digits + "_", max_size=11),
)
PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/()+-]*")


def expected(value: str | None) -> str | None:
    """What the loader gives for a value: blank text is no value."""
    return None if value is None or value.strip() == "" else value


# --- YAML -------------------------------------------------------------------------------------


def yaml_scalar(value: str | None, style: int) -> str:
    """The value written as YAML: plain where that reads back as the same text, else quoted."""
    if value is None:
        return ["", "null", "~"][style % 3]
    plain_ok = PLAIN.fullmatch(value) and not value.endswith(" ") and value not in NULL_WORDS
    if plain_ok and style % 3 == 0:
        return value
    if style % 3 == 1 and "\n" not in value and "\t" not in value:
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


@st.composite
def yaml_records(draw: st.DrawFn) -> list[dict[str, tuple[str | None, int]]]:
    """Records of field -> (value, how to write it)."""
    records = []
    for _ in range(draw(st.integers(1, 5))):
        names = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
        records.append({name: (draw(VALUE), draw(st.integers(0, 8))) for name in names})
    return records


def write_yaml(
    records: list[dict[str, tuple[str | None, int]]], gaps: list[int]
) -> tuple[str, list[int], list[dict[str, int]]]:
    """YAML text with comments and blank lines between records, and where each line went."""
    lines = ["# written by a test", "# Schema: none"]
    record_lines: list[int] = []
    field_lines: list[dict[str, int]] = []
    for record, gap in zip(records, gaps, strict=True):
        lines.extend(["", "# a comment"][: gap % 3] if gap % 3 < 2 else ["", "# note", ""])
        record_lines.append(len(lines) + 1)
        where = {}
        for position, (name, (value, style)) in enumerate(record.items()):
            where[name] = len(lines) + 1
            prefix = "- " if position == 0 else "  "
            lines.append(f"{prefix}{name}: {yaml_scalar(value, style)}".rstrip())
        field_lines.append(where)
    return "\n".join(lines) + "\n", record_lines, field_lines


@settings(max_examples=examples(200), deadline=None)
@given(records=yaml_records(), gaps=st.lists(st.integers(0, 5), min_size=5, max_size=5))
def test_yaml_records_read_back_the_same_at_their_lines(
    records: list[dict[str, tuple[str | None, int]]], gaps: list[int]
) -> None:
    text, record_lines, field_lines = write_yaml(records, gaps[: len(records)])
    table, issues = parse_yaml_records(text, Path("things.yaml"), "things")
    assert issues == [], text
    assert table is not None
    assert [r.values for r in table.records] == [
        {name: expected(value) for name, (value, _) in record.items()} for record in records
    ]
    assert [r.line for r in table.records] == record_lines
    assert [r.field_lines for r in table.records] == field_lines
    assert [r.index for r in table.records] == list(range(len(records)))
    names = [name for record in records for name in record]
    assert list(table.fields) == list(dict.fromkeys(names))


@pytest.mark.parametrize("value", TRICKY)
def test_yaml_plain_scalars_are_kept_as_typed_text(value: str) -> None:
    text = f"- code: {value}\n  quoted: \"{value}\"\n  single: '{value}'\n"
    table, issues = parse_yaml_records(text, Path("t.yaml"), "t")
    assert issues == []
    assert table is not None
    assert table.records[0].values == {"code": value, "quoted": value, "single": value}


@pytest.mark.parametrize("word", NULL_WORDS)
def test_yaml_null_is_no_value_but_quoted_null_is_text(word: str) -> None:
    text = f"- plain: {word}\n  quoted: \"{word}\"\n  empty:\n  blank: ''\n"
    table, issues = parse_yaml_records(text, Path("t.yaml"), "t")
    assert issues == []
    assert table is not None
    assert table.records[0].values == {"plain": None, "quoted": word, "empty": None, "blank": None}


def test_yaml_block_scalars_keep_their_key_line() -> None:
    text = "- id: a\n  note: >-\n    folded\n    text\n  source: X\n- id: b\n"
    table, _ = parse_yaml_records(text, Path("t.yaml"), "t")
    assert table is not None
    assert table.records[0].values == {"id": "a", "note": "folded text", "source": "X"}
    assert table.records[0].field_lines == {"id": 1, "note": 2, "source": 5}
    assert table.records[1].line == 6


def test_yaml_python_tags_are_never_run() -> None:
    text = "- code: !!python/object/apply:os.system ['echo hi']\n"
    table, issues = parse_yaml_records(text, Path("t.yaml"), "t")
    assert table is not None
    assert [i.code for i in issues] == ["type-error"]  # a list, not a value; nothing ran


def test_record_line_of_falls_back_to_the_record_line() -> None:
    record = Record(0, 7, {"a": "x"}, {"a": 8})
    assert record.line_of("a") == 8
    assert record.line_of("missing") == 7


# --- CSV --------------------------------------------------------------------------------------


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str | None]]]:
    names = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
    first = st.one_of(st.sampled_from(TRICKY), TEXT.filter(lambda v: v.strip() != ""))
    rows = draw(
        st.lists(
            st.tuples(first, st.lists(VALUE, min_size=len(names) - 1, max_size=len(names) - 1)),
            min_size=1,
            max_size=6,
        )
    )
    return names, [[head, *rest] for head, rest in rows]


def write_csv(
    names: list[str], rows: list[list[str | None]], newline: str
) -> tuple[str, list[int]]:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(names)
    lines = []
    for row in rows:
        lines.append(out.getvalue().count("\n") + 1)  # a quoted value may span lines
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue(), lines


@settings(max_examples=examples(200), deadline=None)
@given(table=csv_tables(), newline=st.sampled_from(["\n", "\r\n"]))
def test_csv_records_read_back_the_same_at_their_lines(
    table: tuple[list[str], list[list[str | None]]], newline: str
) -> None:
    names, rows = table
    text, lines = write_csv(names, rows, newline)
    source, issues = parse_csv(text, Path("things.csv"), "things")
    assert issues == [], text
    assert source is not None
    assert source.fields == tuple(names)
    assert [r.values for r in source.records] == [
        {name: expected(value) for name, value in zip(names, row, strict=True)} for row in rows
    ]
    assert [r.line for r in source.records] == lines


@pytest.mark.parametrize("value", TRICKY)
def test_csv_values_are_kept_as_typed_text(value: str) -> None:
    source, issues = parse_csv(f"code,name\n{value},x\n", Path("t.csv"), "t")
    assert issues == []
    assert source is not None
    assert source.records[0].values == {"code": value, "name": "x"}


def test_csv_blank_lines_are_layout_and_lines_still_count() -> None:
    source, issues = parse_csv("code,name\n\nA,x\n,\n\nB,y\n", Path("t.csv"), "t")
    assert issues == []
    assert source is not None
    assert [(r.line, r.values["code"]) for r in source.records] == [(3, "A"), (6, "B")]
    assert [r.index for r in source.records] == [0, 1]


# --- files: encodings and line ends -----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    records=yaml_records(),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_yaml_file_reads_the_same_with_bom_and_crlf(
    records: list[dict[str, tuple[str | None, int]]], bom: bool, crlf: bool
) -> None:
    text, record_lines, field_lines = write_yaml(records, [0] * len(records))
    data = text.replace("\n", "\r\n") if crlf else text
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "things.yaml"
        path.write_bytes(("\ufeff" if bom else "").encode() + data.encode("utf-8"))
        table, issues = load_source_file(path, "things")
    assert issues == []
    assert table is not None
    assert [r.values for r in table.records] == [
        {name: expected(value) for name, (value, _) in record.items()} for record in records
    ]
    assert [r.line for r in table.records] == record_lines
    assert [r.field_lines for r in table.records] == field_lines


@settings(max_examples=60, deadline=None)
@given(table=csv_tables(), bom=st.booleans(), crlf=st.booleans())
def test_csv_file_reads_the_same_with_bom_and_crlf(
    table: tuple[list[str], list[list[str | None]]], bom: bool, crlf: bool
) -> None:
    names, rows = table
    text, lines = write_csv(names, rows, "\r\n" if crlf else "\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "things.csv"
        path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
        source, issues = load_source_file(path, "things")
    assert issues == []
    assert source is not None
    assert source.fields == tuple(names)  # a BOM is not part of the first column's name
    assert [r.line for r in source.records] == lines


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"code,name\nA,caf\xe9\n", 2),
        (b"code,name\nA,x\nB,y\nC,\x96dash\n", 4),
        (b"- code: A\n  name: \xff\n", 2),
    ],
)
def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path, data: bytes, line: int) -> None:
    path = tmp_path / ("t.yaml" if data.startswith(b"-") else "t.csv")
    path.write_bytes(data)
    table, issues = load_source_file(path, "t")
    assert table is None
    assert [(i.code, i.line, i.resource) for i in issues] == [("encoding", line, "t")]
    assert "UTF-8" in issues[0].message


def test_descriptions_of_refreshed_tables_name_no_file_of_today() -> None:
    """What refresh keeps current (pcns, practices, pcn_memberships, pcn_names) is described by
    what its fields mean, never by which file filled them today: that goes stale at the next
    refresh (a registry id such as MAP26 or EPCN25, or an extract date)."""
    import re

    import yaml

    # (2019 facts such as epcmem's last date are history, not a file of today)
    stale = re.compile(r"\b(?:EPCN|MAP)[0-9]{2}\b|\b202[1-9]-[0-9]{2}-[0-9]{2}\b")
    schemas = Path(__file__).resolve().parent.parent / "schemas"
    for name in ("pcns", "practices", "pcn_memberships", "pcn_names"):
        schema = yaml.safe_load((schemas / f"{name}.schema.yaml").read_text("utf-8"))
        texts = [schema["description"], *(f.get("description", "") for f in schema["fields"])]
        assert [t for t in texts if stale.search(t)] == [], name
