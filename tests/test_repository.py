"""A month of the data team's work in a copy of this repository, then CI there: the tool's tests
(`make test`, the README's test command) and the data checks (`make check-data`) both pass.

The month is chosen from whatever the copied data holds on the day after its newest release, so
the test holds for any valid state of `sources/`: the evidence registered (`ics-data add-source`),
a practice moved to another PCN (`ics-data move`), a PCN renamed (`ics-data rename`), a refresh
from a newer mapping file (the national fixture's
file, restamped a day later, showing the ICS as its sources now stand with one more practice
moved), the review settled as the README says, the release `ics-data release` plans, and
`make publish`. The commit of that release must then show its changelog and rows in `git diff`.

Marked `repository`: it runs the whole test suite again inside the copy, so `make test` leaves it
to `make test-repository` (CI runs both).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.repository]

NATIONAL_MAP = REPO / "tests" / "fixtures" / "national" / "gp-reg-pat-prac-map_2026-08-01.zip"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def ok(args: list[str], cwd: Path, **env: str) -> str:
    done = run(args, cwd, **env)
    assert done.returncode == 0, f"{args}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def copy_repository(target: Path) -> Path:
    """The repository's working tree (tracked and new files, nothing git ignores) copied into
    TARGET as a git repository of one commit, with the running environments linked in (so its
    Makefile installs nothing: their stamps are newer than the copy's requirements)."""
    listed = ok(["git", "ls-files", "-z", "-co", "--exclude-standard"], REPO).split("\0")
    for name in filter(None, listed):
        source, copy = REPO / name, target / name
        if source.is_file() and not source.is_symlink():
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(source.read_bytes())
    (target / ".venv").symlink_to(Path(sys.prefix))
    tools = REPO / ".venv-tools"
    if tools.is_dir():
        (target / ".venv-tools").symlink_to(tools)
    for requirement in ("pyproject.toml", "tests/tools-requirements.txt"):
        os.utime(target / requirement, (0, 0))  # older than the linked environments' stamps
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "the repository as it stands")
    return target


def git(folder: Path, *args: str) -> str:
    identity = ["-c", "user.name=Data team", "-c", "user.email=data@example.org"]
    return ok(["git", *identity, *args], folder)


def ics(folder: Path, *args: str) -> str:
    return ok([str(folder / ".venv" / "bin" / "ics-data"), *args], folder)


def structure(folder: Path, day: date) -> dict[str, Any]:
    return dict(json.loads(ics(folder, "as-at", day.isoformat(), "--format", "json")))


def newest_release(folder: Path) -> tuple[str, date]:
    rows = json.loads(ics(folder, "releases", "--format", "json"))
    newest = rows[-1]
    return newest["version"], date.fromisoformat(newest["created"][:10])


# --- a newer mapping file, built from the national fixture ------------------------------------


def newer_mapping(
    folder: Path, day: date, extract: date, moves: dict[str, tuple[str, str]]
) -> Path:
    """The national mapping file with its extract date set to EXTRACT, showing the ICS's
    practices where the copy's structure puts them on DAY, and MOVES (practice -> PCN code and
    name) besides: the NHS file of a later month, as far as this ICS is concerned."""
    seen = structure(folder, day)
    where = {
        practice["practice_code"]: (pcn["pcn_code"], pcn["pcn_name"])
        for partnership in seen["partnerships"]
        for pcn in partnership["pcns"]
        for practice in pcn["practices"]
    } | moves
    stamp = f"{extract.day:02d}{MONTHS[extract.month - 1]}{extract.year}"
    with zipfile.ZipFile(NATIONAL_MAP) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8-sig")
    lines = text.splitlines()
    header = next(csv.reader([lines[0]]))
    out = [lines[0]]
    for line in lines[1:]:
        row = dict(zip(header, next(csv.reader([line])), strict=True))
        row["EXTRACT_DATE"] = stamp
        if row["PRACTICE_CODE"] in where:
            row["PCN_CODE"], row["PCN_NAME"] = where[row["PRACTICE_CODE"]]
        cells = io.StringIO()
        csv.writer(cells, lineterminator="").writerow([row[h] for h in header])
        out.append(cells.getvalue())
    path = folder.parent / "gp-reg-pat-prac-map.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, "\r\n".join(out) + "\r\n")
    return path


def choose(seen: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Three PCNs of the ICS open on the day, the first two with at least two practices each:
    one practice moves from the first to the third by hand, one from the second to the third
    by the NHS file, and the third is renamed."""
    pcns = [
        pcn
        for partnership in seen["partnerships"]
        for pcn in partnership["pcns"]
        if pcn["practices"] and not pcn["possible_practices"]
    ]
    pcns.sort(key=lambda pcn: (-len(pcn["practices"]), pcn["pcn_code"]))
    assert len(pcns) >= 3 and len(pcns[1]["practices"]) >= 2, "too few PCNs to play a month"
    return pcns[0], pcns[1], pcns[2]


def test_a_month_of_data_edits_keeps_both_parts_of_ci_green(tmp_path: Path) -> None:
    folder = copy_repository(tmp_path / "repository")
    sources = folder / "sources"
    ok(["make", "--no-print-directory", "check-data"], folder)  # green before the month

    version, released = newest_release(folder)
    day = released + timedelta(days=1)
    first, second, third = choose(structure(folder, day))
    hand = f"HAND-{day.isoformat()}"
    ics(
        folder,
        "add-source",
        hand,
        "--title",
        f"Changes notified to the ICS data team on {day.isoformat()}",
        "--path",
        f"https://example.org/notified/{day.isoformat()}",
        "--vintage",
        day.isoformat(),
    )
    moved = first["practices"][0]["practice_code"]
    on = ("--on", day.isoformat(), "--source", hand)
    ics(folder, "move", moved, "--to", third["pcn_code"], *on)
    renamed = f"{third['pcn_name']} AND DISTRICT"
    ics(folder, "rename", third["pcn_code"], "--to", renamed, *on)
    ok(["make", "--no-print-directory", "validate"], folder)

    extract = day + timedelta(days=1)
    by_file = second["practices"][0]["practice_code"]
    mapping = newer_mapping(folder, day, extract, {by_file: (third["pcn_code"], renamed)})
    refreshed = ok(
        ["make", "--no-print-directory", "refresh", f"REFRESH=--gp-map {mapping}"], folder
    )
    assert by_file in refreshed
    # The review the README describes: the new registry entry's path is the file's name until a
    # person puts the address it was downloaded from.
    package = sources / "package.yaml"
    text = package.read_text(encoding="utf-8")
    assert 'path: "gp-reg-pat-prac-map.zip"' in text, text
    package.write_text(
        text.replace(
            'path: "gp-reg-pat-prac-map.zip"',
            'path: "https://digital.nhs.uk/data-and-information/publications/statistical/'
            'patients-registered-at-a-gp-practice"',
        ),
        encoding="utf-8",
    )

    planned = ok(
        [
            "make",
            "--no-print-directory",
            "release",
            f"DATE={(day + timedelta(days=6)).isoformat()}",
        ],
        folder,
    )
    assert f"{version} ({released.isoformat()}) -> " in planned
    published = ok(["make", "--no-print-directory", "publish"], folder)
    assert "published" in published
    new_version, _ = newest_release(folder)
    assert new_version != version

    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", f"Release {new_version}")
    shown = git(folder, "show", "--stat=200", "--format=", "HEAD")
    assert "Bin" not in "".join(
        line for line in shown.splitlines() if line.strip().endswith((".csv", ".md", ".json"))
    ), shown
    patch = git(folder, "show", "--format=", "HEAD", "--", f"output/{new_version}/CHANGELOG.md")
    assert f"+## {new_version}" in patch
    rows = git(
        folder, "show", "--format=", "HEAD", "--", f"output/{new_version}/data/pcn_memberships.csv"
    )
    assert f"+{moved}-{third['pcn_code']}-" in rows

    summary = ok(["make", "--no-print-directory", "diff-summary", "BASE=HEAD~1"], folder)
    assert f"{version} ({released.isoformat()}) → sources ({new_version}" in summary
    assert "No differences" not in summary
    assert moved in summary and by_file in summary

    ok(["make", "--no-print-directory", "check-data"], folder)
    ok(["make", "--no-print-directory", "test"], folder, CI="1")
