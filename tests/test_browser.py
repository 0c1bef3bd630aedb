"""The site in real headless Chromium (Debian's chromium, driven by Playwright's Python package):
the index and a release page load from disk, show the structure chart and the download table,
and log no errors. Skipped, with the way to install one, where no browser is installed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shipped import shipped_output

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
INSTALL = (
    "install Debian's chromium (apt-get install -y chromium, as .ci/run does) and the Python "
    "playwright package (pip install -e '.[dev]'); `playwright install` cannot download here"
)

playwright_api = pytest.importorskip("playwright.sync_api", reason=f"no playwright: {INSTALL}")
if not CHROMIUM.exists() and shutil.which("chromium") is None:
    pytest.skip(f"no Chromium at {CHROMIUM}: {INSTALL}", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shipped_output(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = CHROMIUM if CHROMIUM.exists() else Path(str(shutil.which("chromium")))
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        yield launched
        launched.close()


def open_page(browser: Any, path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(path.resolve().as_uri())
    return page, problems


def test_index_lists_the_release(browser: Any, output: Path, tmp_path: Path) -> None:
    page, problems = open_page(browser, output / "index.html")
    assert page.locator("h1").count() == 1
    rows = page.locator("#release-table tbody tr")
    assert rows.count() == 1
    assert "1.0.0" in rows.first.inner_text()
    page.locator("#release-table a", has_text="1.0.0").click()
    page.wait_for_load_state()
    assert page.url.endswith("/releases/1.0.0.html")
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    assert not problems


def test_release_page_shows_chart_and_downloads(browser: Any, output: Path, tmp_path: Path) -> None:
    page, problems = open_page(browser, output / "releases" / "1.0.0.html")
    chart = page.locator("svg#structure-chart")
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
    page.screenshot(path=str(tmp_path / "release.png"))
    chart.screenshot(path=str(tmp_path / "chart.png"))
    assert not problems
