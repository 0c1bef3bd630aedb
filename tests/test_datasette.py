"""datasette serves the release's SQLite file with its metadata (formats/<name>.metadata.json):
names beside codes where a foreign key holds a code, descriptions, units, licence and source.

datasette is not a dependency of ics-data: `make tools` installs it into .venv-tools from PyPI
(tests/tools-requirements.txt), and `make test` runs `make tools` first.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from shipped import release_folder, shipped_output

ROOT = Path(__file__).resolve().parent.parent
DATASETTE = ROOT / ".venv-tools" / "bin" / "datasette"
NAME = "kent-medway-ics"


def test_the_metadata_names_labels_units_licence_and_source() -> None:
    folder = release_folder(shipped_output())
    metadata = json.loads((folder / "formats" / f"{NAME}.metadata.json").read_text())
    tables = metadata["databases"][NAME]["tables"]
    assert tables["pcns"]["label_column"] == "pcn_name"
    assert tables["practices"]["label_column"] == "practice_name"
    assert tables["partnerships"]["label_column"] == "name"
    assert tables["registered_patients"]["units"] == {"age_from": "year", "age_to": "year"}
    assert "Unit: patients" in tables["registered_patients"]["columns"]["patients"]
    assert tables["pcn_memberships"]["columns"]["pcn_code"]
    assert metadata["license"] == "Open Government Licence v3.0"
    assert metadata["license_url"].startswith("https://www.nationalarchives.gov.uk/")
    assert "AGE26" in metadata["databases"][NAME]["description"]
    # every table of the database is described, every column too
    descriptor = json.loads((folder / "datapackage.json").read_text())
    csv_tables = {r["name"] for r in descriptor["resources"] if r["format"] == "csv"}
    assert set(tables) == csv_tables | {"fields"}
    for resource in descriptor["resources"]:
        if resource["format"] == "csv":
            columns = tables[resource["name"]]["columns"]
            assert set(columns) == {f["name"] for f in resource["schema"]["fields"]}


def test_the_metadata_is_listed_and_hashed_like_every_file() -> None:
    folder = release_folder(shipped_output())
    descriptor = json.loads((folder / "datapackage.json").read_text())
    assert f"formats/{NAME}.metadata.json" in {f["path"] for f in descriptor["files"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not DATASETTE.exists():
        pytest.skip("no datasette in .venv-tools: make test (or make tools) installs it")
    formats = release_folder(shipped_output()) / "formats"
    port = free_port()
    log = tmp_path_factory.mktemp("datasette") / "stderr.log"
    with log.open("wb") as stderr:
        yield from _serve(formats, port, stderr, log)


def _serve(formats: Path, port: int, stderr: object, log: Path) -> Iterator[str]:
    server = subprocess.Popen(
        [
            str(DATASETTE),
            "serve",
            str(formats / f"{NAME}.sqlite"),
            "-m",
            str(formats / f"{NAME}.metadata.json"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,  # type: ignore[arg-type]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # datasette starts in about a second
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"datasette stopped: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


@pytest.mark.slow
def test_a_pcn_page_shows_the_pcn_name_beside_a_membership_code(served: str) -> None:
    # the PCN's own page: its name, and the memberships that point at it
    page = get(f"{served}/{NAME}/pcns/U04973")
    assert "GARDEN CITY PCN" in page
    assert "Links from other tables" in page and "pcn_memberships" in page
    # its memberships: each code with the PCN's and the practice's names beside it
    memberships = get(f"{served}/{NAME}/pcn_memberships?pcn_code=U04973")
    assert (
        '<a href="/kent-medway-ics/pcns/U04973">GARDEN CITY PCN</a>&nbsp;<em>U04973</em>'
        in memberships
    )
    assert '<a href="/kent-medway-ics/practices/G82062">PARROCK STREET SURGERY</a>' in memberships


@pytest.mark.slow
def test_datasette_shows_descriptions_units_and_licence(served: str) -> None:
    page = get(f"{served}/{NAME}/registered_patients?pcn_code=U04973&_size=2")
    assert "not residents of an area" in page  # the table's description
    assert 'data-column-description="Age from.' in page  # a column's
    assert "0&nbsp;a</td>" in page  # age_from in years (pint writes a year as "a")
    assert "Open Government Licence v3.0" in page
    data = json.loads(get(f"{served}/-/metadata.json"))
    assert data["databases"][NAME]["tables"]["pcns"]["label_column"] == "pcn_name"
