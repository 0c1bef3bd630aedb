"""The site in real headless Chromium (Debian's chromium, driven by Playwright's Python package):
the index and a release page load from disk, show the structure chart and the download table,
and log no errors; at a phone's width (390 px) and a desktop's (1280 px) no page scrolls
sideways, the search, the structure on any day, the pyramids, the timeline and the paged
previews work, and no request leaves the site's folder. Screenshots of both widths are written
to tmp_path. Skipped, with the way to install one, where no browser is installed."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from browser import missing, new_page
from periods import days_to_check, expected_structure, periods_release
from shipped import release_folder, shipped_output

if (why := missing()) is not None:
    pytest.skip(why, allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def output() -> Path:
    return shipped_output()


def open_page(
    request: pytest.FixtureRequest, path: Path, width: int = 1280
) -> tuple[Any, list[str]]:
    page = new_page(request, viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    site = path.resolve().parent.parent if path.parent.name == "releases" else path.parent
    outside = site.resolve().as_uri() + "/"

    def request_made(req: Any) -> None:
        # data: and about: stay in the page; every file must be inside the site's folder
        if not req.url.startswith((outside, "data:", "about:")):
            problems.append(f"request outside the site: {req.url}")

    page.on("request", request_made)
    page.goto(path.resolve().as_uri())
    return page, problems


WIDTHS = [390, 1280]


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), page.evaluate(
        "[document.documentElement.scrollWidth, innerWidth]"
    )


def test_index_lists_the_release(
    request: pytest.FixtureRequest, output: Path, tmp_path: Path
) -> None:
    page, problems = open_page(request, output / "index.html")
    assert page.locator("h1").count() == 1
    rows = page.locator("#release-table tbody tr")
    assert rows.count() == 1
    assert "1.0.0" in rows.first.inner_text()
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)  # the index, before leaving
    assert not problems
    # the link leads to the release page (followed until the page commits: the release page
    # is laid out, at every width, by test_explore_the_release)
    with page.expect_navigation(wait_until="commit"):
        page.locator("#release-table a", has_text="1.0.0").click()
    assert page.url.endswith("/releases/1.0.0.html")


def chart_and_downloads(page: Any, tmp_path: Path) -> None:
    """A desktop release page shows the structure chart and the download table."""
    chart = page.locator("svg#structure-chart")
    chart.scroll_into_view_if_needed()
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 800 and box["height"] > 400
    assert chart.get_attribute("role") == "img"
    assert "Structure of the" in page.locator("#chart-title").text_content()
    assert page.locator("svg#structure-chart g.pcn").count() == 45
    assert page.locator("svg#structure-chart g.partnership").count() == 4

    table = page.locator("table#download-table")
    assert table.is_visible()
    assert table.locator("tbody tr").count() >= 39
    assert table.locator("a", has_text="kent-medway-ics-1.0.0.zip").count() == 1
    assert table.locator("th[scope=col]").count() == 5
    # the data dictionary and the previews render as tables too
    assert page.locator("h3#table-structure").is_visible()
    # Chromium shoots an element taller than the viewport by laying the whole page (tens of
    # thousands of pixels) out again at its full height, seconds of CPU: the viewport is made
    # as tall as the chart first (the width, and so the layout, stay the same)
    page.set_viewport_size({"width": 1280, "height": max(900, math.ceil(box["height"]))})
    chart.screenshot(path=str(tmp_path / "chart.png"))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_index_scrolls_no_sideways(
    request: pytest.FixtureRequest, output: Path, tmp_path: Path, width: int
) -> None:
    page, problems = open_page(request, output / "index.html", width)
    no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / f"index-{width}.png"), full_page=True)
    assert not problems


@pytest.mark.parametrize("width", WIDTHS)
def test_explore_the_release(
    request: pytest.FixtureRequest, output: Path, tmp_path: Path, width: int
) -> None:
    page, problems = open_page(request, output / "releases" / "1.0.0.html", width)
    # as loaded, the page scrolls no sideways; of the page (tens of thousands of pixels) its
    # first screen is shot (a release page takes about a second of CPU to load: it is loaded
    # once a width, for this check and the exploring)
    no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / f"1.0.0-{width}.png"))
    assert not problems  # in loading it
    # the structure chart reflows: one partnership per row on a phone
    wide, narrow = page.locator("svg#structure-chart"), page.locator("svg#structure-chart-narrow")
    assert (wide.is_visible(), narrow.is_visible()) == (width > 800, width < 800)
    assert "Tap or hover" in page.locator("figure.chart-figure figcaption").inner_text()
    # search a practice by part of its name
    search = page.locator("#practice-search")
    assert search.is_visible()
    search.fill("shimm")
    shown = page.locator("#practice-table tbody tr:visible")
    assert shown.count() == 1
    assert "DR CJ SHIMMINS & PARTNERS" in shown.first.inner_text()
    assert page.locator("#practice-table-found").inner_text().startswith("1 of ")
    # sort the PCNs by registered patients, largest first
    header = page.locator("#pcn-table thead th", has_text="Registered patients")
    header.locator("button").click()
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    first = page.locator("#pcn-table tbody tr").first.locator("td").last.inner_text()
    values = [
        int(v.replace(",", "") or 0)
        for v in page.locator("#pcn-table tbody tr td:last-child").all_inner_texts()
    ]
    assert int(first.replace(",", "")) == max(values)
    # the structure on any day, computed in the page
    for day, pcns in (("2022-07-01", "41"), ("2026-08-01", "45")):
        page.fill("#asat-date", day)
        page.dispatch_event("#asat-date", "change")
        assert page.locator("#asat-count").inner_text() == pcns
        assert page.locator("#asat-day").inner_text() == day
        assert page.locator("#asat-table tbody tr").count() == int(pcns)
    # population pyramids and the timeline render
    pyramid = page.locator("svg#pyramid-ics")
    pyramid.scroll_into_view_if_needed()
    assert pyramid.is_visible() and pyramid.locator("g.band").count() == 20
    box = pyramid.bounding_box()
    assert box is not None and box["width"] > 300
    assert page.locator("svg.pyramid").count() == 5
    timeline = page.locator("#timeline-list")
    assert timeline.is_visible()
    assert page.locator("#timeline-list li.event").count() > 20
    assert page.locator("#timeline-list li.event.renamed").count() >= 1
    # a paged preview pages on
    preview = page.locator("[data-preview=pcn_memberships]")
    preview.locator("button.next").click()
    assert preview.locator("caption .from").inner_text() == "11"
    assert preview.locator("tbody tr").count() == 10
    rows = (release_folder(output) / "data" / "pcn_memberships.csv").read_text().count("\n") - 1
    assert preview.locator(".where").inner_text() == f"rows 11 to 20 of {rows}"
    second = preview.locator("tbody tr").first.locator("td").first.inner_text()
    assert (
        second
        == (release_folder(output) / "data" / "pcn_memberships.csv")
        .read_text(encoding="utf-8")
        .splitlines()[11]
        .split(",")[0]
    )
    no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / f"explore-{width}.png"))
    pyramid.screenshot(path=str(tmp_path / f"pyramid-{width}.png"))
    if width > 800:  # the page is loaded once a width: the desktop's chart and downloads too
        chart_and_downloads(page, tmp_path)
    assert not problems


# --- the structure on any day, on hostile periods ---------------------------------------------

# The page's own script, run for each day: the date chosen as a reader chooses it (the input's
# change event), then what the page shows read back.
CHOOSE_DAYS = """(days) => {
  const input = document.getElementById("asat-date");
  return days.map((day) => {
    input.value = day;
    input.dispatchEvent(new Event("change"));
    const rows = Array.from(document.querySelectorAll("#asat-table tbody tr"), (row) => [
      row.cells[2].textContent, row.cells[1].textContent,
      Number(row.cells[3].textContent), Number(row.cells[4].textContent)]);
    return [document.getElementById("asat-day").textContent,
            Number(document.getElementById("asat-count").textContent),
            Number(document.getElementById("asat-practices").textContent), rows];
  });
}"""


def test_the_page_script_agrees_with_as_at_on_every_day_of_hostile_periods(
    request: pytest.FixtureRequest,
) -> None:
    """The release page of a project holding every kind of period (tests/periods.py), in
    Chromium at a phone's width: on every day a date can change an answer, the structure its
    script shows (PCNs, names, member and possible practices, the totals) is `ics-data as-at`'s.
    Then at a phone's and a desktop's width the page scrolls no sideways and fetches nothing."""
    output, validation = periods_release()
    page, problems = open_page(request, output / "releases" / "1.0.0.html", 390)
    first = date.fromisoformat(page.get_attribute("#asat-date", "min"))
    last = date.fromisoformat(page.get_attribute("#asat-date", "max"))
    days = days_to_check(validation, first, last)
    assert len(days) > 100
    shown = page.evaluate(CHOOSE_DAYS, [day.isoformat() for day in days])
    wrong = []
    for day, (said, count, practices, rows) in zip(days, shown, strict=True):
        expected = expected_structure(validation, day)
        seen = {tuple(row) for row in rows}
        if (said, count, practices, seen) != (
            day.isoformat(),
            len(expected),
            sum(members for *_, members, _ in expected),
            expected,
        ):
            wrong.append((day.isoformat(), sorted(seen ^ expected)))
    assert wrong == []
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    no_sideways_scroll(page)
    assert not problems
