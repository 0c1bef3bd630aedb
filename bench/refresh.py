"""`ics-data refresh` on national-size upstream files: time and peak memory.

    python -m bench.refresh [--runs 3]          # measure (also part of `python -m bench`)
    python -m bench.refresh make DIR            # only write the national files into DIR

The national files are made from the Kent and Medway subsets in tests/fixtures/upstream, at the
size of the real publications: an ePCN workbook of 1,392 PCNs and 7,648 partner rows (the real
2025-01 file: 1,366 and 7,705) and a gp-reg-pat-prac-map zip of 6,650 practices (2026-08: 6,129).
Copy 0 of each is Kent and Medway itself; every other copy stands for another place, with its
own PCN, practice, sub-ICB and ICB codes, so the refresh must find this ICS's rows among them.

Two cases, each `ics-data refresh` as a subprocess on a copy of the shipped sources:
- the newest files (ePCN 2025-01-20 and mapping 2026-08-01), which the sources already hold: the
  whole read, filter and merge, and no change;
- a month later (mapping 2026-09-01: a new PCN, a rename, practices moved), `--dry-run`: the
  merge, the validation of the result and the semantic diff.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.__main__ import Case

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "upstream"
EPCN25 = FIXTURES / "epcn_2025-01-20_kent_medway.xlsx"
MAP26 = FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.csv"
SHEETS = ("PCNDetails", "PCN Core Partner Details")
# Copies of the Kent and Medway rows: PCNs, partner rows, practices of the mapping.
COPIES = {"PCNDetails": 29, "PCN Core Partner Details": 32, "map": 38}
CODE = re.compile(r"^[UGY][0-9]{5}$")
OTHER = {"U": "V", "G": "H", "Y": "Z"}


def elsewhere(value: object, copy: int) -> object:
    """A value of copy `copy`: 0 is Kent and Medway itself, the others another place."""
    if copy == 0 or not isinstance(value, str):
        return value
    if value in {"91Q", "10D"}:
        return f"{copy:02d}X"
    if value.startswith("NHS KENT AND MEDWAY") or value == "NHS SWALE CCG":
        return f"NHS PLACE {copy:02d}"
    if CODE.match(value):
        # Another letter (Kent and Medway's codes start U, G, Y), digits shifted per copy.
        return f"{OTHER[value[0]]}{(int(value[1:]) + copy * 1009) % 100_000:05d}"
    return value


def national_epcn(path: Path) -> dict[str, int]:
    import openpyxl  # only in the child that makes the files

    source = openpyxl.load_workbook(EPCN25, read_only=True)
    book = openpyxl.Workbook(write_only=True)
    counts = {}
    try:
        for name in SHEETS:
            target = book.create_sheet(name)
            header, *rows = source[name].iter_rows(values_only=True)
            target.append(header)
            copies = COPIES[name]
            for copy in (*range(1, copies // 2), 0, *range(copies // 2, copies)):
                for row in rows:
                    target.append([elsewhere(value, copy) for value in row])
            counts[name] = copies * len(rows)
    finally:
        source.close()
    book.save(path)
    set_vintage(path, date(2025, 1, 20))
    return counts


def set_vintage(path: Path, day: date) -> None:
    """The workbook's last-saved date is its vintage; openpyxl stamps the time of saving."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    stamp = f"{day.isoformat()}T09:00:00Z".encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\2", data
                )
            archive.writestr(info, data)


def month_later(lines: list[str]) -> list[str]:
    """2026-09-01: two practices form a new PCN, a PCN is renamed, a practice closes."""
    out = []
    for line in lines:
        if ",G82002," in line:
            continue
        if ",G82122," in line or ",G82212," in line:
            line = line.replace("U04973,GARDEN CITY PCN", "U99001,SWANSCOMBE & GREENHITHE PCN")
        out.append(line.replace("DARTFORD MODEL PCN", "DARTFORD MODEL PRIMARY CARE NETWORK"))
    return out


def national_map(
    path: Path, edit: Callable[[list[str]], list[str]] = list, extract: str = "01Aug2026"
) -> int:
    header, *published = MAP26.read_text(encoding="utf-8").splitlines()
    lines = [line.replace(",01Aug2026,", f",{extract},") for line in published]
    kent = edit(lines)
    body = []
    copies = COPIES["map"]
    for copy in (*range(1, copies // 2), 0, *range(copies // 2, copies)):
        if copy == 0:
            body += kent
            continue
        for line in lines:
            cells = [str(elsewhere(cell, copy)) for cell in _cells(line)]
            cells[11] = f"Q{copy:02d}"  # ICB_CODE
            body.append(",".join(_quote(cell) for cell in cells))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("gp-reg-pat-prac-map.csv", "\r\n".join([header, *body]) + "\r\n")
    return len(body)


def _cells(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]))


def _quote(cell: str) -> str:
    return f'"{cell}"' if "," in cell else cell


def make(folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    sheets = national_epcn(folder / "ePCN.xlsx")
    practices = national_map(folder / "gp-reg-pat-prac-map.zip")
    national_map(folder / "gp-reg-pat-prac-map-2026-09.zip", month_later, "01Sep2026")
    return {
        "pcns": sheets["PCNDetails"],
        "partner_rows": sheets["PCN Core Partner Details"],
        "practices": practices,
    }


def refresh_case(work: Path, runs: int, ics: Sequence[str]) -> Case:
    """Both cases measured as subprocesses; a `bench.__main__.Case` to print."""
    from bench.__main__ import Case, progress, repeat, run

    progress("ics-data refresh on national-size files")
    files = work / "national"
    made = subprocess.run(
        [sys.executable, "-m", "bench.refresh", "make", str(files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    counts = json.loads(made.stdout)
    projects = []
    for i in range(runs):
        project = work / f"refresh-{i}"
        shutil.copytree(ROOT / "sources", project / "sources")
        shutil.copytree(ROOT / "schemas", project / "schemas")
        projects.append(
            ["--sources", str(project / "sources"), "--schemas", str(project / "schemas")]
        )
    newest = [
        "--epcn",
        str(files / "ePCN.xlsx"),
        "--gp-map",
        str(files / "gp-reg-pat-prac-map.zip"),
    ]
    later = ["--gp-map", str(files / "gp-reg-pat-prac-map-2026-09.zip"), "--dry-run"]
    measures = [
        repeat(
            "ics-data refresh, newest files (no change)",
            runs,
            lambda i: run([*ics, "refresh", *newest, *projects[i]], work),
        ),
        repeat(
            "ics-data refresh --dry-run, a month later",
            runs,
            lambda i: run([*ics, "refresh", *later, *projects[i]], work),
        ),
    ]
    heading = [
        f"National-size upstream files: ePCN {counts['pcns']:,} PCNs and "
        f"{counts['partner_rows']:,} partner rows, mapping {counts['practices']:,} practices "
        "(Kent and Medway is 48, 239 and 175 of them)",
        f"N = {runs} run(s) each",
    ]
    return Case(heading, measures, files / "ePCN.xlsx")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.refresh", description=__doc__.split("\n")[0]
    )
    parser.add_argument("action", nargs="?", choices=["make"], help="only write the files")
    parser.add_argument("folder", nargs="?", type=Path, help="where `make` writes them")
    parser.add_argument("--runs", type=int, default=3, help="runs per command")
    options = parser.parse_args(argv)
    if options.action == "make":
        if options.folder is None:
            parser.error("make needs a folder")
        print(json.dumps(make(options.folder)))
        return
    from bench.__main__ import render, tool

    with tempfile.TemporaryDirectory(prefix="ics-bench-refresh-") as folder:
        case = refresh_case(Path(folder), options.runs, tool("ics-data", "pipeline"))
        print(render(case, case.measures[0]))


if __name__ == "__main__":
    main()
