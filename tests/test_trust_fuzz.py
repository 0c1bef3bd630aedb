"""Fuzz the shipped sources (issue 10): random byte and YAML/CSV mutations of one source file,
a bounded number of examples. The invariant: `validate` exits 0 or 1 with one report and no
traceback (a hang guard stops a run that would not end); after any `publish`, either the
release verifies or nothing was written."""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest
from click.testing import CliRunner
from conftest import SCHEMAS, SOURCES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.release.verify import verify

FILES = sorted(p.name for p in (SOURCES).iterdir() if p.is_file())
HANG_GUARD = 120  # seconds: far above any run; only a hang reaches it (not a speed test)

TOKENS = [
    b"\x00",
    b"\r",
    b"\n",
    b"\xff",
    b"\xef\xbb\xbf",
    b'"',
    b"'",
    b",",
    b": ",
    b"- ",
    b"&a ",
    b"*a",
    b"[",
    b"]",
    b"{",
    b"}",
    b"!!python/object:os.system ",
    b"\t",
    b"#",
    b"---\n",
    b"...\n",
    b"=HYPERLINK(1)",
    b"\\u2028",
    b"\xe2\x80\xa8",
    b"1.0.1\n",
    b"9" * 400,
    b"<script>",
    b"javascript:alert(1)",
    b"~",
    b"null",
    b"2026-02-30",
    b"\\x1b",
]


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, its new bytes): one or a few edits of one shipped source file."""
    name = draw(st.sampled_from(FILES))
    data = bytearray((SOURCES / name).read_bytes())
    for _ in range(draw(st.integers(1, 3))):
        kinds = ["insert", "delete", "flip", "line", "truncate", "comment", "blank"]
        kind = draw(st.sampled_from(kinds))
        at = draw(st.integers(0, len(data)))
        if kind == "insert":
            token = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=8))
            data[at:at] = token
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "flip" and data:
            data[min(at, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif kind == "line":
            lines = bytes(data).splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i] if draw(st.booleans()) else lines[i][::-1])
                data = bytearray(b"".join(lines))
        elif kind in ("comment", "blank"):  # layout a person adds: the sources stay valid
            lines = bytes(data).splitlines(keepends=True)
            i = draw(st.integers(0, len(lines)))
            extra = b"\n" if kind == "blank" or name.endswith(".csv") else b"# a note\n"
            lines.insert(i, extra)
            data = bytearray(b"".join(lines))
        else:
            del data[at:]
    return name, bytes(data)


@contextmanager
def hang_guard() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"no result in {HANG_GUARD} s: a hang")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_GUARD)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def mutated_project(folder: Path, name: str, data: bytes) -> tuple[Path, Path]:
    sources, schemas = folder / "sources", folder / "schemas"
    shutil.copytree(SOURCES, sources)
    shutil.copytree(SCHEMAS, schemas)
    (sources / name).write_bytes(data)
    return sources, schemas


def run(*args: str | Path) -> tuple[int, str]:
    with hang_guard():
        result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutation())
def test_validate_of_mutated_sources_exits_0_or_1(case: tuple[str, bytes]) -> None:
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        sources, schemas = mutated_project(Path(folder), name, data)
        status, _ = run("validate", "--sources", sources, "--schemas", schemas)
        assert status in (0, 1)


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutation())
def test_publish_of_mutated_sources_verifies_or_writes_nothing(case: tuple[str, bytes]) -> None:
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        sources, schemas = mutated_project(Path(folder), name, data)
        output = Path(folder) / "output"
        status, text = run(
            "publish", "--sources", sources, "--schemas", schemas, "--output", output
        )
        event("published" if status == 0 else "refused")
        if status == 0:
            results = verify(output)
            assert results and all(problems == [] for problems in results.values()), text
            assert run("verify", "--output", output)[0] == 0
        else:
            assert status == 1, text
            written = [p for p in output.rglob("*")] if output.exists() else []
            assert written == [], written
