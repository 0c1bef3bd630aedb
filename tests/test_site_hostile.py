"""The catalogue escapes by context and links only http(s) and mailto URLs (issue 10, case 4).

A release whose descriptor, tables and changelog hold hostile values in every field the site
shows (as a tampered or an old release could) is rendered; the pages, parsed, link no other
scheme and hold no element the values tried to inject, and the same pages in headless Chromium
run no script. The release README (Markdown) is checked the same way.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from browser import new_page
from shipped import release_folder, shipped_output, shipped_validation

from pipeline.build.readme import md_line, md_link
from pipeline.core.model import Metadata
from pipeline.core.text import UNSAFE_IN_URL, link_target, local_target, text_problem
from pipeline.site.pages import render_site

MARK = "__pwned"
PAYLOADS = [
    f"<script>window.{MARK}=1</script>",
    f'"><img src=x id=injected onerror="window.{MARK}=1">',
    f"'><svg id=injected onload='window.{MARK}=1'>",
    f"</script><script>window.{MARK}=1</script>",
    f"javascript:window.{MARK}=1",
    f"`<b id=injected>`</code><script>window.{MARK}=1</script>",
    "{{ 7*7 }} {% raw %}",
    f"&lt;script&gt;window.{MARK}=1&lt;/script&gt;",
]
URLS = [
    f"javascript:window.{MARK}=1",
    f"JaVaScRiPt:window.{MARK}=1",
    f"java\tscript:window.{MARK}=1",
    f" javascript:window.{MARK}=1",
    f"data:text/html,<script>window.{MARK}=1</script>",
    f"vbscript:window.{MARK}=1",
    f'https://x.example/"><script>window.{MARK}=1</script>',
    "file:///etc/passwd",
]


def hostile(n: int) -> str:
    return PAYLOADS[n % len(PAYLOADS)]


def hostile_release(output: Path) -> Path:
    """A copy of the shipped OUTPUT whose release holds a hostile value in every field the site
    shows; returns the copy's OUTPUT."""
    folder = release_folder(output)
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    count = iter(range(10_000))
    descriptor["title"] = hostile(next(count))
    descriptor["description"] = hostile(next(count))
    descriptor["attribution"] = hostile(next(count))
    descriptor["homepage"] = URLS[0]
    descriptor["keywords"] = PAYLOADS
    descriptor["licenses"] = [{"name": hostile(1), "title": hostile(2), "path": URLS[1]}]
    descriptor["contributors"] = [{"title": p, "role": "author"} for p in PAYLOADS]
    descriptor["sources"] = [
        {"id": hostile(i), "title": hostile(i + 1), "path": url, "version": hostile(i + 2)}
        for i, url in enumerate(URLS)
    ]
    for resource in descriptor["resources"]:
        resource["title"] = hostile(next(count))
        resource["description"] = hostile(next(count))
        for field in resource["schema"]["fields"]:
            field["title"] = hostile(next(count))
            field["description"] = hostile(next(count))
            if field.get("type") == "string":
                field.setdefault("constraints", {})["pattern"] = hostile(next(count))
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    (folder / "CHANGELOG.md").write_text(
        f"# Changes\n\n{hostile(0)} {hostile(1)} {hostile(5)}\n", encoding="utf-8"
    )
    for table in ("pcns", "partnerships", "ics", "structure"):
        path = folder / "data" / f"{table}.csv"
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        for row in rows[1:3]:
            for i in range(len(row)):
                if not row[i].replace("-", "").isdigit() and "_code" not in rows[0][i]:
                    row[i] = hostile(i)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    return output


DATA_SCRIPTS = ("application/ld+json", "application/json")


@pytest.fixture(scope="module")
def clean() -> Path:
    """The shipped site, to compare the hostile one with."""
    return shipped_output()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("hostile") / "output"
    shutil.copytree(shipped_output(), output)
    hostile_release(output)
    for path, content in render_site(output).items():
        (output / path).parent.mkdir(parents=True, exist_ok=True)
        (output / path).write_bytes(content)
    return output


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tags


@pytest.mark.parametrize("page", ["index.html", "releases/1.0.0.html"])
def test_hostile_values_inject_no_element_and_no_link(site: Path, clean: Path, page: str) -> None:
    tags = elements(site / page)
    assert not [t for t, a in tags if a.get("id") == "injected" or t in ("img", "iframe")]
    assert not [a for t, a in tags if any(k.startswith("on") for k in a)]
    scripts = [a for t, a in tags if t == "script"]
    clean = [a for t, a in elements(clean / page) if t == "script"]
    assert scripts == clean  # the template's own scripts, no more
    assert all(a.get("type") in DATA_SCRIPTS or "src" not in a for a in scripts)
    for _, attrs in tags:
        for key in ("href", "src", "action"):
            value = attrs.get(key)
            if value is not None:
                assert (
                    link_target(value)
                    or local_target(value) == value
                    or value.startswith(("#", "../"))
                ), value


def test_the_json_ld_and_dcat_hold_the_values_as_data(site: Path) -> None:
    dcat = json.loads((site / "dcat.jsonld").read_text(encoding="utf-8"))
    (dataset,) = dcat["dcat:dataset"]
    assert dataset["dct:title"] == PAYLOADS[0]
    assert dataset["dct:license"] == {"@id": ""}  # a javascript: licence is no link
    assert dataset["dct:source"] == []  # no source URL is http(s) without quotes or brackets


@pytest.mark.parametrize("url", URLS)
def test_only_http_and_mailto_urls_are_linked(url: str) -> None:
    assert link_target(url) == ""
    text = md_link(url, "label")
    assert text.startswith("label (`") and text.endswith("`)") and "\n" not in text
    assert "`" not in text[len("label (`") : -2]  # the URL stays inside one code span


@pytest.mark.parametrize(
    "url", ["https://x.example/a?b=c#d", "http://x.example", "mailto:data@x.example"]
)
def test_http_and_mailto_urls_are_linked(url: str) -> None:
    assert link_target(url) == url
    assert md_link(url, "label") == f"[label]({url})"


def test_a_url_with_a_newline_injects_nothing_into_markdown() -> None:
    text = md_link("https://x.example/\n# Injected\n[click](javascript:alert(1))", "label")
    assert "\n" not in text and text.startswith("label (`") and text.count("`") == 2
    assert md_line("a\n# heading\n- item <script>") == "a # heading - item &lt;script>"


def test_the_release_readme_folds_hostile_metadata() -> None:
    from pipeline.build.package import collect_tables
    from pipeline.build.readme import render_readme

    validation = shipped_validation()
    metadata = validation.dataset.metadata
    assert metadata is not None
    data = dict(metadata.data)
    data["title"] = "T\n# Injected heading"
    data["licenses"] = [{"title": "L", "path": "https://x.example/\n[x](javascript:alert(1))"}]
    text = render_readme(Metadata(metadata.path, data), collect_tables(validation.dataset))
    outside_code = "".join(text.split("`")[::2])
    assert "\n# Injected" not in text and "javascript:" not in outside_code


# --- in a browser -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("page", ["index.html", "releases/1.0.0.html"])
def test_no_script_runs_in_chromium(
    request: pytest.FixtureRequest, site: Path, clean: Path, page: str
) -> None:
    tab = new_page(request)
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto((site / page).resolve().as_uri())  # returns once the page has loaded
    # no link the page has is one a click would run (read in one call, not one call a link)
    hrefs = tab.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert hrefs
    for href in hrefs:
        assert link_target(href) or not href.lower().lstrip().startswith(
            ("javascript", "data", "vbscript")
        )
    state: Any = tab.evaluate(
        f"() => [window.{MARK} === undefined,"
        " document.querySelectorAll('#injected').length,"
        " document.querySelectorAll('script:not([type])').length]"
    )
    own = sum(1 for t, a in elements(clean / page) if t == "script" and "type" not in a)
    assert state == [True, 0, own]
    ld = tab.evaluate(
        "() => JSON.parse(document.querySelector('script[type=\"application/ld+json\"]')"
        "?.textContent || '{}')"
    )
    if page != "index.html":
        assert ld["name"] == PAYLOADS[0]  # the value arrives whole, as data
    assert not dialogs


def test_a_link_refuses_exactly_the_characters_the_policy_names() -> None:
    """One pattern finds what the character-by-character rule found: a space (str.isspace), a
    character that ends an attribute or tag, or one the text policy refuses in a one-line field.
    Every such character is below U+E000, so every code point below it is tried, and a sample
    above."""
    points = [*range(0xE000), *range(0xE000, 0x110000, 97), 0x10FFFF]
    for point in points:
        char = chr(point)
        refused = char.isspace() or char in '<>"`' or text_problem(char) is not None
        assert (UNSAFE_IN_URL.search(char) is not None) == refused, hex(point)
        if refused:
            assert link_target(f"https://example.org/a{char}b") == ""
            assert local_target(f"data/a{char}b.csv") == ""
