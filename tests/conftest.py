"""Shared helpers: a throwaway copy of the real project under tmp_path, edited one small way.

Tests never write into the repository: every edit happens in the copy.
"""

from __future__ import annotations

import atexit
import functools
import gc
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from pipeline.check.validate import validate_project
from pipeline.core.gcpolicy import for_bulk_data
from pipeline.core.issues import Issue
from pipeline.core.model import Validation
from pipeline.sources.project import SchemaSet, read_schemas
from pipeline.sources.schemas import generic_schemas
from pipeline.stages import publish_release

REPO = Path(__file__).resolve().parent.parent
# The tool's tests run on fixture projects of their own, never on the repository's sources/,
# schemas/ or output/ (the data, which changes every month; the data checks guard it):
# KENT is a frozen Kent and Medway project declaring its first release (tests/fixtures/kent),
# SCHEMAS the generic Table Schemas the tool ships, GOLDEN_PROJECT a tiny project of every
# resource.
KENT = REPO / "tests" / "fixtures" / "kent"
SOURCES = KENT / "sources"
SCHEMAS = generic_schemas()
GOLDEN_PROJECT = REPO / "tests" / "golden" / "project"


def pytest_configure(config: pytest.Config) -> None:
    # Subprocesses the tests start (and kill) keep their scratch files in one folder of the
    # session, removed at its end: a publish killed by SIGKILL cannot remove its own.
    for_bulk_data()  # as the ics-data command does (pipeline.core.gcpolicy)
    # git run by a test works on the repository of its own folder, whatever started pytest: a
    # hook or `git rebase --exec` sets GIT_DIR, and a `git init` under it would turn the
    # repository running the tests into a bare one.
    for name in [n for n in os.environ if n.startswith("GIT_")]:
        del os.environ[name]
    scratch = tempfile.mkdtemp(prefix="ics-data-tests-")
    atexit.register(shutil.rmtree, scratch, True)
    os.environ["TMPDIR"] = scratch
    # hypothesis keeps examples and caches in ./.hypothesis: keep them out of the repository
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "ics-data-hypothesis")
    # In CI the examples are derandomized, so a run is repeatable and a red build is a real
    # finding; locally each run explores new examples. The inner loop (make test-fast) tries a
    # quarter of them (`examples`); make test, and so CI, tries them all.
    settings.register_profile(
        "ics-data",
        database=None,
        derandomize=bool(os.environ.get("CI")),
        max_examples=examples(100),
    )
    settings.load_profile("ics-data")


def pytest_collection_finish(session: pytest.Session) -> None:
    # The modules imported and the tests collected live as long as the session: moved out of
    # the cycle collector's generations, its full collections do not walk them again and again.
    gc.collect()
    gc.freeze()


QUICK = bool(os.environ.get("ICS_TEST_QUICK"))  # set by make test-fast


def examples(count: int) -> int:
    """COUNT examples for a property test, or a quarter of them in the inner loop."""
    return max(10, count // 4) if QUICK else count


Flat = tuple[str, int, str, str]  # (file name, line, field, code), like report.flatten


def flatten(issues: tuple[Issue, ...] | list[Issue]) -> list[Flat]:
    """Issues as compact tuples, in the report's own order."""
    return [(Path(i.file).name, i.line, i.field, i.code) for i in issues]


@dataclass(frozen=True)
class Project:
    """A copy of a fixture project's sources and schemas, with helpers to break them."""

    root: Path

    @property
    def sources(self) -> Path:
        return self.root / "sources"

    @property
    def schemas(self) -> Path:
        return self.root / "schemas"

    def path(self, name: str) -> Path:
        """`name` is a file in sources/, or `schemas/<file>` for a schema."""
        if name.startswith("schemas/"):
            return self.root / name
        return self.sources / name

    def read(self, name: str) -> str:
        return self.path(name).read_bytes().decode("utf-8")

    def write(self, name: str, text: str) -> Path:
        path = self.path(name)
        path.write_bytes(text.encode("utf-8"))  # bytes: keep "\n" line ends on every platform
        return path

    def edit(self, name: str, old: str, new: str, count: int = 1) -> Path:
        """Replace the first `count` occurrences of `old`; fail loudly if it is not there."""
        text = self.read(name)
        assert text.count(old) >= count, f"{old!r} occurs {text.count(old)} times in {name}"
        return self.write(name, text.replace(old, new, count))

    def line_of(self, name: str, needle: str, nth: int = 1) -> int:
        """The 1-based line of the `nth` line containing `needle` in the (edited) file."""
        found = [n for n, line in enumerate(self.read(name).splitlines(), 1) if needle in line]
        assert len(found) >= nth, f"{needle!r} occurs on {len(found)} lines of {name}"
        return found[nth - 1]

    def validate(self) -> Validation:
        return validate_project(self.sources, schemas_of(self.schemas))

    def flat(self) -> list[Flat]:
        return flatten(self.validate().report.issues)


@functools.cache
def schema_set(folder: Path) -> SchemaSet:
    """The schemas of a fixture's folder (SCHEMAS, the golden project's), read and checked once
    for the session: most tests validate a copy whose schemas they leave alone."""
    return read_schemas(folder)


def schemas_of(folder: Path) -> Path | SchemaSet:
    """The schemas a test's copy validates against: the set read once for the session when
    FOLDER holds a fixture's schemas byte for byte (`schema_set`), else FOLDER itself."""
    files = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    for pristine in (SCHEMAS, GOLDEN_PROJECT / "schemas"):
        if len(files) == sum(1 for _ in pristine.iterdir()) and all(
            files.get(path.name) == path.read_bytes() for path in pristine.iterdir()
        ):
            return schema_set(pristine)
    return folder


# The release the Kent fixture declares: tests of publishing start from a known first release of
# a fresh archive.
FIRST_VERSION, FIRST_DATE = "1.0.0", date(2026, 11, 24)


def copy_project(root: Path) -> Project:
    """The Kent fixture's sources and the generic schemas copied under ROOT, declaring the first
    release (the bytes, not the file times)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(first_release_sources(), root / "sources", copy_function=shutil.copyfile)
    shutil.copytree(SCHEMAS, root / "schemas", copy_function=shutil.copyfile)
    return Project(root)


def first_release_sources() -> Path:
    """The Kent fixture's sources, declaring the first release (read only: a test that edits
    them copies them first, with `copy_project`)."""
    return SOURCES


@functools.cache
def published_once(sources: Path, schemas: Path) -> Path:
    """OUTPUT after one `publish_release` of SOURCES and SCHEMAS (release 1.0.0, its catalogue
    and site, and the fingerprint recorded beside them), made once for the session: the tests
    that start from a published first release copy it. Read only; removed when the session
    ends."""
    root = Path(tempfile.mkdtemp(prefix="ics-data-first-output-"))
    atexit.register(shutil.rmtree, root, True)
    result = publish_release(sources, schemas, root / "output")
    assert (result.version, result.status) == (FIRST_VERSION, "published")
    return root / "output"


def first_release_output() -> Path:
    """The Kent fixture's first release, published once for the session (`published_once`)."""
    return published_once(first_release_sources(), SCHEMAS)


def small_first_release_output() -> Path:
    """The golden project's first release, published once for the session (`published_once`)."""
    return published_once(GOLDEN_PROJECT / "sources", GOLDEN_PROJECT / "schemas")


def copy_output(output: Path, target: Path) -> Path:
    """TARGET, a new OUTPUT holding a copy of OUTPUT (the bytes), for one test to publish into
    or to break."""
    shutil.copytree(output, target, copy_function=shutil.copyfile)
    return target


def copy_first_release(target: Path) -> Path:
    return copy_output(first_release_output(), target)


def copy_small_first_release(target: Path) -> Path:
    return copy_output(small_first_release_output(), target)


def copy_small_project(root: Path) -> Project:
    """The tiny golden project (tests/golden/project: the shipped package, a few rows a table)
    copied under ROOT, for a test whose subject does not depend on the size of the data."""
    root.mkdir(parents=True, exist_ok=True)
    for part in ("sources", "schemas"):
        shutil.copytree(GOLDEN_PROJECT / part, root / part, copy_function=shutil.copyfile)
    return Project(root)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A fresh copy of the Kent fixture project, for one test to break."""
    yield copy_project(tmp_path / "project")


def tree_digest(*folders: Path) -> dict[str, str]:
    """Every file under FOLDERS with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(REPO)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session", autouse=True)
def repository_untouched() -> Iterator[None]:
    """Tests work on copies: the repository's data, the fixture projects and the generic schemas
    are byte for byte the same after the session as before it (checked at the session's end)."""
    data = (REPO / "sources", REPO / "schemas", REPO / "output")
    folders = (*data, REPO / "tests" / "fixtures", REPO / "tests" / "golden", SCHEMAS)
    before = tree_digest(*folders)
    yield
    after = tree_digest(*folders)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the test session changed files of the repository: {changed[:10]}"


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Project]:
    """A fresh copy of the tiny golden project, for one test to break: what a test whose
    subject does not depend on the size of the data runs on."""
    yield copy_small_project(tmp_path / "project")


@pytest.fixture
def kent(tmp_path: Path) -> Iterator[Project]:
    """A fresh copy of the Kent fixture project (`project`), for a module whose `project` is
    the small one and a test that needs Kent's own records."""
    yield copy_project(tmp_path / "kent")
