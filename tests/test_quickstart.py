"""The researcher's quick start in the release README: every snippet runs, from the release
folder, and prints the figures the tables give (pandas and DuckDB in .venv, R with readr where
Rscript is installed, datasette from .venv-tools)."""

from __future__ import annotations

import csv
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
from shipped import release_folder, shipped_output

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DATASETTE = ROOT / ".venv-tools" / "bin" / "datasette"
FENCE = re.compile(r"```(\w+)\n(# quick start: (\w+)\n.*?)```", re.S)


@pytest.fixture(scope="module")
def folder() -> Path:
    return release_folder(shipped_output())


def snippets(folder: Path) -> dict[str, str]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    return {tool: code for _, code, tool in FENCE.findall(text)}


def figures(folder: Path) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
    """Registered patients per PCN and per partnership on the newest extract date, and names."""
    with (folder / "data" / "registered_patients.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    with (folder / "data" / "pcns.csv").open(encoding="utf-8") as stream:
        pcns = {r["pcn_code"]: r for r in csv.DictReader(stream)}
    newest = max(r["extract_date"] for r in rows)
    by_pcn: dict[str, int] = defaultdict(int)
    by_partnership: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["extract_date"] == newest:
            by_pcn[r["pcn_code"]] += int(r["patients"])
            by_partnership[pcns[r["pcn_code"]]["partnership"]] += int(r["patients"])
    return by_pcn, by_partnership, {c: r["pcn_name"] for c, r in pcns.items()}


def run(command: list[str], folder: Path) -> str:
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_has_a_snippet_for_each_tool(folder: Path) -> None:
    assert set(snippets(folder)) == {"pandas", "R", "DuckDB", "datasette"}


def test_pandas(folder: Path, tmp_path: Path) -> None:
    script = tmp_path / "pandas_quickstart.py"
    script.write_text(snippets(folder)["pandas"], encoding="utf-8")
    out = run([sys.executable, str(script)], folder)
    by_pcn, _, names = figures(folder)
    largest = max(by_pcn, key=lambda code: by_pcn[code])
    assert f"registered in PCNs: {sum(by_pcn.values())}" in out
    assert sum(by_pcn.values()) == 2_026_594
    assert names[largest] in out.splitlines()[1]


def test_duckdb(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="duckdb is in the dev extras: make install")
    script = tmp_path / "duckdb_quickstart.py"
    script.write_text(snippets(folder)["DuckDB"], encoding="utf-8")
    out = run([sys.executable, str(script)], folder)
    _, by_partnership, _ = figures(folder)
    expected = sorted(by_partnership.items(), key=lambda kv: -kv[1])
    assert out.strip() == repr(expected)


def test_r_with_readr(folder: Path, tmp_path: Path) -> None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("no Rscript: apt-get install r-base-core r-cran-readr (.ci/run does)")
    if subprocess.run([rscript, "-e", "library(readr)"], capture_output=True).returncode:
        pytest.skip("R has no readr: apt-get install r-cran-readr (.ci/run does)")
    script = tmp_path / "quickstart.R"
    script.write_text(snippets(folder)["R"], encoding="utf-8")
    out = run([rscript, str(script)], folder)
    by_pcn, _, names = figures(folder)
    largest = max(by_pcn, key=lambda code: by_pcn[code])
    assert f"registered in PCNs: {sum(by_pcn.values())}" in out
    assert names[largest] in out


def test_datasette(folder: Path) -> None:
    if not DATASETTE.exists():
        pytest.skip("no datasette in .venv-tools: make test (or make tools) installs it")
    lines = [line for line in snippets(folder)["datasette"].splitlines() if line]
    assert lines[1] == "pip install datasette"  # .venv-tools has it, from tests/tools-requirements
    command = lines[2].split()
    assert command[0] == "datasette"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(DATASETTE), *command[1:], "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = ""
        for _ in range(100):
            try:
                url = f"http://127.0.0.1:{port}/kent-medway-ics/pcn_memberships?pcn_code=U04973"
                with urllib.request.urlopen(url, timeout=2) as response:
                    page = response.read().decode("utf-8")
                break
            except OSError:
                assert server.poll() is None, "datasette stopped"
                time.sleep(0.2)
        assert "GARDEN CITY PCN</a>&nbsp;<em>U04973</em>" in page
    finally:
        server.terminate()
        server.wait(timeout=10)
