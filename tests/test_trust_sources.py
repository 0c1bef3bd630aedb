"""Trust at the edges, on the way in: `package.yaml` has a schema, every text value a policy,
and what a source file may make the pipeline do is bounded (issue 10, cases 1, 2, 3, 5, 11).

Each case edits a copy of the shipped project and expects exact (file, line, field, code)
tuples; each class is a table beyond the one example the issue names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import Project, flatten
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.files import display_path
from pipeline.core.text import formula_problem, text_problem
from pipeline.core.versions import parse_version
from pipeline.sources.bounds import MAX_DEPTH, yaml_bounds

STATEMENT = "statement: Kent and Medway has a population of 1.9 million people."


@pytest.fixture
def project(small: Project) -> Project:
    """The tiny golden project: a case here is about one file's text, not the data's size (a
    case about Kent's own records takes `kent`)."""
    return small


def only(project: Project) -> list[tuple[str, int, str, str]]:
    return [(f, line, field, code) for f, line, field, code in project.flat()]


# --- 1. one version, one name ------------------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    [
        '"1.0.1\\n"',
        '"1.0.1\\r"',
        '"1.0.1 "',
        '" 1.0.1"',
        '"\\n1.0.1"',
        "01.0.0",
        "1.00.0",
        "v1.0.1",
        "1.0",
        "1.0.1.0",
        "1.0.1-rc1",
        "1.0.1+build",
        '"1.0.1\\u2028"',
        '"1\u0663.0.0"',  # an Arabic-Indic digit: \d would take it
        "1.0.0.",
    ],
)
def test_a_version_is_exactly_major_minor_patch(project: Project, version: str) -> None:
    project.edit("package.yaml", "version: 1.0.0", f"version: {version}")
    issues = project.validate().report.issues
    line = project.line_of("package.yaml", "version: ")
    codes = {code for f, n, field, code in flatten(issues) if (n, field) == (line, "version")}
    assert codes & {"pattern", "type-error"}  # 1.0 is a number to YAML
    assert project.validate().dataset.metadata is None  # nothing can be built from it


@pytest.mark.parametrize("text", ["1.0.1\n", "1.0.1\r\n", " 1.0.1", "01.0.1", "1.0.1 "])
def test_parse_version_refuses_anything_around_the_digits(text: str) -> None:
    with pytest.raises(ValueError):
        parse_version(text)


@pytest.mark.parametrize(
    "name", ['"kent-medway-ics\\n"', "Kent-Medway", "kent_medway", "-kent", "kent--medway", "a.b"]
)
def test_the_package_name_is_a_slug(project: Project, name: str) -> None:
    project.edit("package.yaml", "name: kent-medway-ics", f"name: {name}")
    assert ("package.yaml", project.line_of("package.yaml", "name: "), "name", "pattern") in (
        project.flat()
    )


# --- 3. package.yaml has a schema --------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "code"),
    [
        (
            "title: NHS Kent and Medway Integrated Care System - structure and facts",
            "title: [a, b]",
            "title",
            "type-error",
        ),
        (
            "licenses:\n  - name: OGL-UK-3.0",
            "licenses: OGL\nlicences:\n  - name: OGL-UK-3.0",
            "licenses",
            "type-error",
        ),
        ("  - NHS\n", "  - 5\n", "keywords[0]", "type-error"),
        (
            "release_date: 2026-11-24",
            "release_date: 2026-11-24T10:00:00+01:00",
            "release_date",
            "pattern",
        ),
        (
            "release_date: 2026-11-24",
            "release_date: 2026-11-24 10:00",
            "release_date",
            "pattern",
        ),
        (
            "release_date: 2026-11-24",
            'release_date: "24/11/2026"',
            "release_date",
            "pattern",
        ),
        (
            "release_date: 2026-11-24",
            'release_date: "2026-02-30"',
            "release_date",
            "type-error",
        ),
        (
            "homepage: https://www.kentandmedway.icb.nhs.uk/",
            "homepage: www.kentandmedway.nhs.uk",
            "homepage",
            "pattern",
        ),
        (
            "homepage: https://www.kentandmedway.icb.nhs.uk/",
            "homepage: 'javascript:alert(9)'",
            "homepage",
            "pattern",
        ),
        (
            "homepage: https://www.kentandmedway.icb.nhs.uk/",
            "homepage: 'https://a b'",
            "homepage",
            "pattern",
        ),
        (
            "    path: https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            '    path: "javascript:alert(9)"',
            "licenses[0].path",
            "pattern",
        ),
        (
            "    path: https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            '    path: "data:text/html,<script>alert(1)</script>"',
            "licenses[0].path",
            "pattern",
        ),
        (
            "    path: https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            '    path: "https://x.org/\\n# Injected"',
            "licenses[0].path",
            "pattern",
        ),
        ("    role: author", "    role: [author]", "contributors[0].role", "type-error"),
        (
            '    vintage: "2025-01-20"',
            "    vintage: [2022]",
            "sources[0].vintage",
            "type-error",
        ),
        ("    sha256: 06736", "    sha256: XYZ06736", "sources[0].sha256", "pattern"),
        ("  - id: EPCN25", "  - id: [1, 2]", "sources[0].id", "type-error"),
        ("  - id: EPCN25", "  - id: MAP22", "sources[1].id", "duplicate-key"),
        ("homepage: https", "homepag: https", "homepag", "unknown-field"),
    ],
)
def test_package_yaml_is_checked_against_its_schema(
    project: Project, old: str, new: str, field: str, code: str
) -> None:
    project.edit("package.yaml", old, new)
    first = new.splitlines()[0] if not new.startswith("licenses: OGL") else "licenses: OGL"
    if code == "duplicate-key":
        first = "  - id: MAP22"
    line = project.line_of("package.yaml", first.strip(), 2 if code == "duplicate-key" else 1)
    assert ("package.yaml", line, field, code) in project.flat()


def test_a_source_path_that_is_a_list_is_refused_at_its_line(project: Project) -> None:
    project.edit(
        "package.yaml",
        "    path: https://github.com/efejiroe",
        "    path: [1, 2]\n    x: https://github.com/efejiroe",
    )
    flat = project.flat()
    line = project.line_of("package.yaml", "path: [1, 2]")
    assert ("package.yaml", line, "sources[0].path", "type-error") in flat
    assert ("package.yaml", line + 1, "sources[0].x", "unknown-field") in flat


def test_a_missing_key_is_named(project: Project) -> None:
    text = project.read("package.yaml")
    project.write("package.yaml", re.sub(r"\nattribution: >-\n(  .*\n)+", "\n", text))
    project.edit("package.yaml", "version: 1.0.0\n", "")
    line = project.line_of("package.yaml", "name: kent-medway-ics")  # the mapping's first line
    assert ("package.yaml", line, "", "missing-value") in project.flat()


# --- 2 and 11. the text policy -----------------------------------------------------------------

HOSTILE = [
    ('"Forty-one\\racross"', "carriage-return"),
    ('"Forty-one\\r\\nacross"', "carriage-return"),
    ('"Forty-one\\nacross"', "line-break"),
    ('"Forty\\u2028one"', "line-separator"),
    ('"Forty\\u2029one"', "line-separator"),
    ('"Forty\\0one"', "control-character"),
    ('"Forty\\eone"', "control-character"),
    ('"Forty\\tone"', "control-character"),
    ('"Forty\\x7fone"', "control-character"),
    ('"Forty\\x85one"', "control-character"),  # NEL, C1
    ('"Forty\\x9bone"', "control-character"),  # CSI, C1
    ('"Forty\\u202eeno"', "control-character"),  # a bidirectional override
    ('"Forty\\ud800one"', "control-character"),  # a lone surrogate cannot be written as UTF-8
    ('"=HYPERLINK(\\"http://x.example/\\", \\"click\\")"', "formula"),
    ("\"+cmd|' /C calc'!A0\"", "formula"),
    ('"-2+3+cmd|x!A0"', "formula"),
    ('"@SUM(1+1)*cmd|x!A0"', "formula"),
    ('"\\t=1+1"', "control-character"),
]


@pytest.mark.parametrize(("value", "code"), HOSTILE)
def test_a_hostile_text_value_is_refused_at_its_line(
    project: Project, value: str, code: str
) -> None:
    project.edit("claims.yaml", STATEMENT, f"statement: {value}")
    line = project.line_of("claims.yaml", f"statement: {value}")
    assert project.flat() == [("claims.yaml", line, "statement", code)]


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("MPA\rPCN", "carriage-return"),
        ("MPA\x00PCN", "control-character"),
        ("=1+1", "formula"),
        ("MPA\nPCN", "line-break"),
    ],
)
def test_a_hostile_csv_cell_is_refused_at_its_line(project: Project, cell: str, code: str) -> None:
    project.edit("pcns.csv", "U87442,MID KENT PCN,", f'U87442,"{cell}",')
    line = project.line_of("pcns.csv", "U87442")
    if code == "control-character":
        # a raw control character in the file is refused before any value, at its line
        assert project.flat() == [("pcns.csv", line, "", "encoding")]
    else:
        assert project.flat() == [("pcns.csv", line, "pcn_name", code)]


@pytest.mark.parametrize("value", ["-5", "+44", "-0.5", "+1e3", "Dartford - Gravesham", "A+B"])
def test_numbers_and_inner_signs_are_plausible_facts(value: str) -> None:
    assert formula_problem(value) is None


@given(st.text())
def test_text_policy_accepts_exactly_the_allowed_characters(value: str) -> None:
    bad = [
        c
        for c in value
        if ord(c) < 0x20
        or 0x7F <= ord(c) <= 0x9F
        or c in "\u2028\u2029"
        or 0x202A <= ord(c) <= 0x202E
        or 0x2066 <= ord(c) <= 0x2069
        or 0xD800 <= ord(c) <= 0xDFFF
    ]
    assert (text_problem(value) is None) == (not bad)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85", "\u2028", "\u202e"])
def test_package_yaml_strings_follow_the_text_policy(project: Project, char: str) -> None:
    escaped = f"\\u{ord(char):04x}"
    project.edit("package.yaml", "  - NHS\n", f'  - "NH{escaped}S"\n')
    codes = {code for _, _, field, code in project.flat() if field == "keywords[0]"}
    assert codes & {"control-character", "line-separator"}


def test_a_long_value_is_shortened_in_messages(project: Project) -> None:
    project.edit("claims.yaml", STATEMENT, "statement: '=" + "A" * 5000 + "'")
    (issue,) = project.validate().report.issues
    assert issue.code == "formula" and len(issue.value) < 300 and "more characters" in issue.value


# --- 5. bounded input --------------------------------------------------------------------------


def alias_bomb() -> str:
    lines = ['l0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        lines.append(f"l{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["package.yaml", "schemas/claims.schema.yaml"])
def test_an_alias_bomb_is_refused_at_its_line(project: Project, where: str) -> None:
    project.write(where, project.read(where) + alias_bomb())
    codes = [(f, code) for f, _, _, code in project.flat()]
    assert (Path(where).name, "yaml-limit") in codes


def test_an_alias_bomb_in_records_is_refused(project: Project) -> None:
    project.write("objectives.yaml", alias_bomb().replace("l0:", "- l0:").replace("\nl", "\n  l"))
    assert ("objectives.yaml", "yaml-limit") in [(f, c) for f, _, _, c in project.flat()]


@pytest.mark.parametrize("depth", [40, 999, 1000, 5000])
@pytest.mark.parametrize("where", ["package.yaml", "schemas/claims.schema.yaml", "claims.yaml"])
def test_deep_nesting_is_refused_at_its_line(project: Project, where: str, depth: int) -> None:
    text = project.read(where)
    extra = "deep: " + "[" * depth + "]" * depth + "\n"
    if where == "claims.yaml":
        extra = "- id: deep\n  statement: " + "[" * depth + "]" * depth + "\n"
    project.write(where, text + extra)
    line = len(text.splitlines()) + 1 + (1 if where == "claims.yaml" else 0)
    found = [(f, n, c) for f, n, _, c in project.flat() if c == "yaml-limit"]
    assert found and found[0][0] == Path(where).name and found[0][1] in (line, 0)


def nested(depth: int) -> st.SearchStrategy[object]:
    """Lists and mappings nested up to DEPTH levels, some of them empty."""
    leaves = st.one_of(st.none(), st.integers(), st.text("ab: -", max_size=3))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text("kxy", min_size=1, max_size=2), inner, max_size=3),
        ),
        max_leaves=depth * 2,
    )


@given(st.lists(nested(40), min_size=1, max_size=3), st.booleans())
def test_a_tree_is_measured_as_the_full_walk_measures_it(values: object, flow: bool) -> None:
    """Without an anchor in the text the nodes are a tree, and the depth-only walk finds what
    the walk that follows aliases finds: the same first node too deep, or none."""
    text = yaml.safe_dump(values, default_flow_style=flow)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert "&" not in text and root is not None
    assert yaml_bounds(root, anchored=False) == yaml_bounds(root)


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
@pytest.mark.parametrize("leaf", ["[]", "[x]", "{}", "{a: 1}", "x"])
def test_a_tree_at_the_depth_limit_is_measured_as_the_full_walk_measures_it(
    depth: int, leaf: str
) -> None:
    text = "- " + "[" * (depth - 1) + leaf + "]" * (depth - 1) + "\n"
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert root is not None
    assert yaml_bounds(root, anchored=False) == yaml_bounds(root)


def test_a_fifo_is_refused_without_blocking(project: Project) -> None:
    path = project.path("pcns.csv")
    path.unlink()
    os.mkfifo(path)
    assert project.flat() == [("pcns.csv", 0, "", "unreadable-file")]


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "/dev/null", "/"])
def test_a_link_out_of_the_project_is_refused_by_name(project: Project, target: str) -> None:
    path = project.path("pcns.csv")
    path.unlink()
    path.symlink_to(target)
    issues = project.validate().report.issues
    assert [i.code for i in issues] == ["unreadable-file"]
    assert "outside the project" in issues[0].message and "root:" not in issues[0].message


def test_a_link_inside_the_project_is_read(project: Project) -> None:
    path = project.path("pcns.csv")
    path.rename(project.root / "pcns-master.csv")
    path.symlink_to(project.root / "pcns-master.csv")
    assert project.flat() == []


def test_a_linked_sources_folder_is_read_and_its_links_judged_from_where_it_leads(
    project: Project, tmp_path: Path
) -> None:
    """sources/ may itself be a link; a file in it is then inside the folder it leads to, and a
    link in it may lead anywhere in that folder's parent, not out of it."""
    elsewhere = tmp_path / "kept" / "sources"
    elsewhere.parent.mkdir()
    project.sources.rename(elsewhere)
    project.sources.symlink_to(elsewhere)
    assert project.flat() == []
    (elsewhere / "pcns.csv").rename(elsewhere.parent / "pcns-master.csv")
    (elsewhere / "pcns.csv").symlink_to(elsewhere.parent / "pcns-master.csv")
    assert project.flat() == []
    (elsewhere / "pcns.csv").unlink()
    outside = project.root / "pcns.csv"  # beside the link sources/, outside where it leads
    (elsewhere.parent / "pcns-master.csv").rename(outside)
    (elsewhere / "pcns.csv").symlink_to(outside)
    issues = project.validate().report.issues
    assert [i.code for i in issues] == ["unreadable-file"]
    assert f"outside the project folder {elsewhere.parent}" in issues[0].message


def test_a_path_is_shown_from_the_working_folder_of_the_moment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a" / "b.csv"
    path.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    assert display_path(path) == os.path.join("a", "b.csv")
    monkeypatch.chdir(path.parent)
    assert display_path(path) == "b.csv"
    monkeypatch.chdir("/")
    assert display_path(path) == str(path.relative_to("/"))


@pytest.mark.parametrize("name", ["pcns.csv", "claims.yaml", "schemas/claims.schema.yaml"])
def test_a_folder_in_place_of_a_file_is_refused(project: Project, name: str) -> None:
    path = project.path(name)
    path.unlink()
    path.mkdir()
    assert "unreadable-file" in [code for *_, code in project.flat()]


@pytest.mark.parametrize(
    "extra",
    [
        "loop: &l [*l]\n",
        "loop: &m {a: *m}\n",
        "loop: &n [1, [2, [3, *n]]]\n",
    ],
)
@pytest.mark.parametrize("where", ["package.yaml", "schemas/claims.schema.yaml"])
def test_an_alias_inside_itself_is_refused(project: Project, where: str, extra: str) -> None:
    text = project.read(where)
    project.write(where, text + extra)
    line = len(text.splitlines()) + 1
    assert (Path(where).name, line, "", "yaml-limit") in project.flat()


def test_nesting_stacked_by_aliases_is_refused(project: Project) -> None:
    levels = 20
    lines = ["a0: &a0 [x]"]
    for n in range(1, 6):  # each alias nests the one before 20 levels deeper: 100 in all
        lines.append(f"a{n}: &a{n} " + "[" * levels + f"*a{n - 1}" + "]" * levels)
    project.write("package.yaml", project.read("package.yaml") + "\n".join(lines) + "\n")
    assert "yaml-limit" in [code for *_, code in project.flat()]
