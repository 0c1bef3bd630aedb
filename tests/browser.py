"""One headless Chromium for the whole test session (Debian's chromium, driven by Playwright's
Python package), shared by the modules that open the site in a browser: starting and ending a
Chromium costs more CPU than most of the tests that use it. Each test opens its pages in a
browser context of its own (no cookies, storage, cache or handlers left by another test), closed
when the test ends; the browser is closed when the session ends.

The browser is kept in the session's stash, not in a fixture: a fixture imported into two test
modules is two fixtures to pytest, each set up once, so each module would start its own."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest

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
BROWSER = pytest.StashKey[Any]()


def executable() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def missing() -> str | None:
    """Why no browser can run here, with the way to install one; None where one can."""
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        return f"no playwright: {INSTALL}"
    if executable() is None:
        return f"no Chromium at {CHROMIUM}: {INSTALL}"
    return None


def chromium(session: pytest.Session) -> Any:
    """The session's Chromium, started by the first test that asks for it (a test is skipped
    where there is none)."""
    if BROWSER not in session.stash:
        why = missing()
        if why is not None:
            pytest.skip(why)
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        session.addfinalizer(playwright.stop)
        launched = playwright.chromium.launch(executable_path=str(executable()), args=ARGS)
        session.addfinalizer(launched.close)
        session.stash[BROWSER] = launched
    return session.stash[BROWSER]


def new_page(request: pytest.FixtureRequest, **options: Any) -> Any:
    """A page of the session's Chromium in a new context (OPTIONS: its viewport, ...), closed
    with the context when the test ends."""
    context = chromium(request.session).new_context(**options)
    request.addfinalizer(context.close)
    return context.new_page()
