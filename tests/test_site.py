"""The static catalogue: pages, links, accessibility basics, JSON-LD, DCAT and CITATION.cff."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import rdflib
import yaml
from click.testing import CliRunner
from periods import days_to_check, expected_structure, periods_release
from shipped import release_folder, shipped_output, shipped_validation

import pipeline
from pipeline.check.structure import structure_as_at
from pipeline.cli import cli
from pipeline.site.explore import explore, structure_on
from pipeline.site.pages import changelog_summary, render_site, write_site

OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
SCHEMA = rdflib.Namespace("https://schema.org/")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")


def page_links(html: str) -> list[str]:
    """Every href and src in a page."""
    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if name in ("href", "src") and value is not None:
                    found.append(value)

    Parser().feed(html)
    return found


@pytest.fixture(scope="module")
def output() -> Path:
    return shipped_output()


def pages(output: Path) -> list[Path]:
    return [output / "index.html", *sorted((output / "releases").glob("*.html"))]


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        self._script = tag == "script" and attributes.get("type") == "application/ld+json"

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        if self._script:
            self.scripts.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_publish_writes_the_site(output: Path) -> None:
    assert (output / "index.html").is_file()
    assert (output / "releases" / "1.0.0.html").is_file()
    assert (output / "dcat.jsonld").is_file()
    index = (output / "index.html").read_text(encoding="utf-8")
    assert "1.0.0" in index and "First release." in index


def broken_links(output: Path) -> tuple[list[str], int]:
    """Links of every page that do not resolve to a file (and anchor) inside the site."""
    broken = []
    checked = 0
    anchors: dict[Path, set[str]] = {}
    for page in pages(output):
        for link in page_links(page.read_text(encoding="utf-8")):
            parts = urlsplit(link)
            if parts.scheme in ("http", "https"):
                continue  # outside the site: the licence, the sources
            checked += 1
            if parts.scheme or link.startswith("/"):
                broken.append(f"{page.name}: {link} is not relative")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.is_file() or output.resolve() not in target.parents:
                broken.append(f"{page.name}: {link} -> {target} is not a file of the site")
                continue
            if parts.fragment:
                if target not in anchors:
                    anchors[target] = parse(target).ids if target.suffix == ".html" else set()
                if parts.fragment not in anchors[target]:
                    broken.append(f"{page.name}: {link} has no anchor")
    return broken, checked


def test_every_link_resolves_to_a_file_that_exists(output: Path) -> None:
    broken, checked = broken_links(output)
    assert not broken
    assert checked > 100


def test_a_release_without_structure_has_no_chart(output: Path, tmp_path: Path) -> None:
    copy = tmp_path / "output"
    shutil.copytree(output, copy)
    folder = copy / "1.0.0"
    descriptor = json.loads((folder / "datapackage.json").read_text())
    descriptor["resources"] = [
        r for r in descriptor["resources"] if not r["name"].startswith("structure")
    ]
    descriptor["files"] = [f for f in descriptor["files"] if "structure" not in f["path"]]
    (folder / "datapackage.json").write_text(json.dumps(descriptor))
    for path in folder.rglob("structure.*"):
        path.unlink()
    write_site(copy)
    html = (copy / "releases" / "1.0.0.html").read_text(encoding="utf-8")
    assert "has no <code>structure</code> table" in html
    assert 'id="structure-chart' not in html  # the pyramids of registered patients remain
    broken, _ = broken_links(copy)
    assert not broken


def test_release_page_lists_every_file_with_size_and_hash(output: Path) -> None:
    folder = release_folder(output)
    descriptor = json.loads((folder / "datapackage.json").read_text())
    html = (output / "releases" / "1.0.0.html").read_text(encoding="utf-8")
    for entry in descriptor["files"]:
        assert f'href="../1.0.0/{entry["path"]}"' in html, entry["path"]
        assert entry["hash"].removeprefix("sha256:") in html
    assert 'href="../kent-medway-ics-1.0.0.zip"' in html
    assert "CITATION.cff" in html and "@misc{kent-medway-ics-1.0.0," in html


def test_pages_are_accessible_by_construction(output: Path) -> None:
    for path in pages(output):
        page = parse(path)
        tags = [t for t, _ in page.tags]
        assert tags.count("h1") == 1, path
        assert ("html", {"lang": "en-GB"}) in page.tags
        for tag, attrs in page.tags:
            if tag == "img":
                assert attrs.get("alt"), path
            if tag == "th":
                assert attrs.get("scope") in ("col", "row", "colgroup"), path
        assert tags.count("table") == tags.count("caption"), path
    release = parse(output / "releases" / "1.0.0.html")
    (svg,) = [a for tag, a in release.tags if tag == "svg" and a.get("id") == "structure-chart"]
    assert svg["role"] == "img" and svg["aria-labelledby"] == "chart-title chart-desc"
    assert {"chart-title", "chart-desc", "structure-chart", "download-table"} <= release.ids


def release_jsonld(output: Path) -> dict[str, Any]:
    (script,) = parse(output / "releases" / "1.0.0.html").scripts
    data: dict[str, Any] = json.loads(script)
    return data


RDFLIB_WARNING = "ignore:ConjunctiveGraph is deprecated:DeprecationWarning"  # rdflib's own


@pytest.mark.filterwarnings(RDFLIB_WARNING)
def test_schema_org_jsonld_names_licence_distributions_and_version(output: Path) -> None:
    data = release_jsonld(output)
    assert data["@context"] == "https://schema.org" and data["@type"] == "Dataset"
    assert data["license"] == OGL
    assert data["version"] == "1.0.0"
    assert data["datePublished"] == "2026-11-24"
    assert data["creator"] and data["keywords"] and len(data["description"]) >= 50
    descriptor = json.loads((release_folder(output) / "datapackage.json").read_text())
    urls = {d["contentUrl"] for d in data["distribution"]}
    expected = {f"../1.0.0/{f['path']}" for f in descriptor["files"]}
    assert expected | {"../1.0.0/datapackage.json", "../kent-medway-ics-1.0.0.zip"} == urls
    for item in data["distribution"]:
        assert (output / "releases" / item["contentUrl"]).is_file()
        assert item["encodingFormat"] and re.fullmatch(r"[0-9a-f]{64}", item["sha256"])

    # a JSON-LD processor reads the same (schema.org's context, given here without a network)
    local = dict(data, **{"@context": {"@vocab": "https://schema.org/"}})
    graph = rdflib.Graph().parse(
        data=json.dumps(local), format="json-ld", base="https://example.org/releases/1.0.0.html"
    )
    (dataset,) = graph.subjects(rdflib.RDF.type, SCHEMA.Dataset)
    assert str(graph.value(dataset, SCHEMA.version)) == "1.0.0"
    assert str(graph.value(dataset, SCHEMA.license)) == OGL
    assert len(list(graph.objects(dataset, SCHEMA.distribution))) == len(urls)


@pytest.mark.filterwarnings(RDFLIB_WARNING)
def test_dcat_catalogue_parses_as_rdf(output: Path) -> None:
    base = (output / "dcat.jsonld").resolve().as_uri()
    graph = rdflib.Graph().parse(output / "dcat.jsonld", format="json-ld", publicID=base)
    (catalogue,) = graph.subjects(rdflib.RDF.type, DCAT.Catalog)
    (dataset,) = graph.objects(catalogue, DCAT.dataset)
    assert str(graph.value(dataset, DCAT.version)) == "1.0.0"
    assert str(graph.value(dataset, DCT.license)) == OGL
    distributions = list(graph.objects(dataset, DCAT.distribution))
    descriptor = json.loads((release_folder(output) / "datapackage.json").read_text())
    assert len(distributions) == len(descriptor["files"]) + 2  # + datapackage.json and zip
    for distribution in distributions:
        url = str(graph.value(distribution, DCAT.downloadURL))
        assert Path(unquote(urlsplit(url).path)).is_file(), url
        assert graph.value(distribution, DCAT.byteSize) is not None


def test_citation_cff_is_in_the_release(output: Path) -> None:
    folder = release_folder(output)
    descriptor = json.loads((folder / "datapackage.json").read_text())
    assert "CITATION.cff" in {f["path"] for f in descriptor["files"]}
    cff = yaml.safe_load((folder / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["title"] == descriptor["title"]
    assert cff["version"] == "1.0.0" and cff["date-released"] == "2026-11-24"
    assert cff["license"] == "OGL-UK-3.0"
    assert cff["authors"] == [{"name": "ics-data maintainers"}]


def test_site_is_reproducible_and_regenerated_by_the_cli(output: Path, tmp_path: Path) -> None:
    copy = tmp_path / "output"
    shutil.copytree(output, copy)
    for page in pages(copy):
        page.unlink()
    (copy / "dcat.jsonld").unlink()
    result = CliRunner().invoke(cli, ["site", "--output", str(copy)])
    assert result.exit_code == 0, result.output
    for path in ["index.html", "releases/1.0.0.html", "dcat.jsonld"]:
        assert (copy / path).read_bytes() == (output / path).read_bytes(), path
    assert render_site(copy) == render_site(output)


def test_index_shows_what_changed(output: Path, tmp_path: Path) -> None:
    """A later release with a CHANGELOG.md shows its summary; the first says so."""
    copy = tmp_path / "output"
    shutil.copytree(output, copy)
    later = copy / "1.1.0"
    shutil.copytree(copy / "1.0.0", later)
    descriptor = json.loads((later / "datapackage.json").read_text())
    descriptor["version"] = "1.1.0"
    (later / "datapackage.json").write_text(json.dumps(descriptor))
    (later / "CHANGELOG.md").write_text(
        "# Changes in 1.1.0\n\n- 2 PCNs opened\n- 1 practice moved PCN\n\n## Details\n\nmore\n"
    )
    write_site(copy)
    index = (copy / "index.html").read_text(encoding="utf-8")
    assert "2 PCNs opened; 1 practice moved PCN" in index
    assert "First release." in index
    assert index.index("1.1.0") < index.index("First release.")  # newest first
    old = (copy / "releases" / "1.0.0.html").read_text(encoding="utf-8")
    assert "A newer release exists" in old


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        (
            "# Changelog\n\nTwo PCNs merged.\nOne renamed.\n\n## More\n",
            "Two PCNs merged.; One renamed.",
        ),
        ("## 1.1.0\n\n* `pcns`: 2 rows added\n", "pcns: 2 rows added"),
        ("", ""),
    ],
)
def test_changelog_summary(text: str, summary: str) -> None:
    assert changelog_summary(text) == summary


# --- what a page lets a reader explore -----------------------------------------------------------


@pytest.mark.parametrize(
    "day", ["2019-10-01", "2020-04-01", "2022-07-01", "2023-01-01", "2025-06-01", "2026-08-01"]
)
def test_the_page_structure_on_a_day_agrees_with_as_at(output: Path, day: str) -> None:
    """The rule the page's script runs (here in Python, on the data the page embeds) gives the
    same PCNs and members as `ics-data as-at` on every day."""
    x = explore(release_folder(output), "2026-11-24")
    page = {(p.code, p.members, p.possible) for p in structure_on(x.data, day)}
    expected = structure_as_at(shipped_validation().dataset, date.fromisoformat(day))
    assert page == {(p.pcn_code, len(p.members), len(p.possible)) for p in expected.pcns}


def test_the_page_data_agrees_with_as_at_on_every_day_of_hostile_periods() -> None:
    """Exact dates, single bounds, both bounds, one day, a PCN closed before it surely opened,
    memberships across the ICB's first day: the periods the page carries give, on every day a
    date can change an answer, what `ics-data as-at` gives (names included)."""
    output, validation = periods_release()
    x = explore(output / "1.0.0", "2026-11-24")
    first = date.fromisoformat(x.first_date)
    for day in days_to_check(validation, first, date(2026, 11, 24)):
        shown = {
            (p.code, p.name, p.members, p.possible) for p in structure_on(x.data, day.isoformat())
        }
        assert shown == expected_structure(validation, day), day


def test_the_as_at_counts_the_issue_names() -> None:
    dataset = shipped_validation().dataset
    assert len(structure_as_at(dataset, date(2022, 7, 1)).pcns) == 41
    assert len(structure_as_at(dataset, date(2026, 8, 1)).pcns) == 45


def test_the_release_page_shows_everything_without_script(output: Path) -> None:
    html = (output / "releases" / "1.0.0.html").read_text(encoding="utf-8")
    page = parse(output / "releases" / "1.0.0.html")
    assert {
        "population",
        "pyramid-ics",
        "as-at",
        "asat-count",
        "pcn-table",
        "practice-table",
        "timeline-list",
        "structure-chart-narrow",
    } <= page.ids
    # the release date's structure is in the page itself, as are the tables' rows
    assert re.search(r'<strong id="asat-count">45</strong>', html)
    assert html.count('<g class="band">') == 5 * 20  # the ICB and four partnerships
    assert "2,036,209" in html and "1.9 million people" in html
    assert "not a mismatch" in html
    # the timeline has the rename and a practice's move
    assert "PCN U87442 renamed from ASHFORD STOUR PCN to MID KENT PCN" in html
    assert "G82024 " in html and "moved from SOUTH MAIDSTONE PCN (U92034) to ATHENA PCN" in html
    # the data dictionary and the chart come before the file hashes
    assert (
        html.index('id="structure"') < html.index('id="dictionary"') < html.index('id="download"')
    )
    # no file is fetched: the script and its data are in the page
    assert not [t for t, a in page.tags if t in ("script", "link") and (a.get("src") or "").strip()]


def test_embedded_data_cannot_end_its_script(output: Path, tmp_path: Path) -> None:
    copy = tmp_path / "output"
    shutil.copytree(output, copy)
    pcns = copy / "1.0.0" / "data" / "pcns.csv"
    hostile = "</script><script>alert(1)</script>"
    pcns.write_text(pcns.read_text().replace("GARDEN CITY PCN", hostile), encoding="utf-8")
    html = render_site(copy)["releases/1.0.0.html"].decode("utf-8")
    assert hostile not in html
    assert "&lt;/script&gt;" in html  # in the tables, escaped as HTML
    assert "\\u003c/script\\u003e" in html  # in the JSON, escaped for a script


# --- a release too large to list in one page ----------------------------------------------------


def test_a_release_over_the_limit_gets_a_page_of_previews_with_every_link_kept(
    output: Path,
) -> None:
    """Over the limit (here 100 rows; the shipped release has 172 structure rows), a page carries
    no explorer, chart or embedded rows: each table's first rows, every download, and a note
    saying where the rest is. Under it, the same release carries everything."""
    page = render_site(output, limit=100)["releases/1.0.0.html"].decode("utf-8")
    full = render_site(output)["releases/1.0.0.html"].decode("utf-8")
    assert len(page) < len(full) / 2
    assert "too large to draw or list in one page (more than 100 rows" in page
    gone = ('id="explore-data"', 'id="rows-pcn_memberships"', 'id="asat-form"', "structure-chart")
    for marker in gone:
        assert marker not in page and marker in full
    assert 'id="rows-partnerships"' in page  # a short table still pages in the page
    assert 'id="preview-pcn_memberships"' in page and "rows: a table this long" in page
    assert page.count('id="preview-') == full.count('id="preview-')
    kept = [link for link in page_links(full) if not link.startswith("#")]
    assert [link for link in page_links(page) if not link.startswith("#")] == kept
    targets = {link[1:] for link in page_links(page) if link.startswith("#")}
    parsed = Page()
    parsed.feed(page)
    assert targets <= parsed.ids  # no link to a section left out


def test_the_limit_counts_rows_not_lines_of_the_header(tmp_path: Path) -> None:
    from pipeline.site.explore import csv_rows, listable

    data = tmp_path / "data"
    data.mkdir()
    (data / "pcns.csv").write_bytes(b"pcn_code\nU1\nU2\n")
    assert csv_rows(tmp_path, "pcns") == 2 and csv_rows(tmp_path, "practices") == 0
    assert listable(tmp_path, 2) and not listable(tmp_path, 1)


# --- nothing kept between calls ------------------------------------------------------------------


def test_rendering_the_site_writes_nothing_beside_the_templates(output: Path) -> None:
    """Templates are compiled in the environment of one render, never kept in the package."""
    templates = Path(pipeline.__file__).parent / "templates"
    before = sorted(path.name for path in templates.rglob("*"))
    render_site(output)
    assert sorted(path.name for path in templates.rglob("*")) == before
