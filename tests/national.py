"""The national fixtures (tests/fixtures/national), and what a person does after `ics-data init`
before the first release: settle the review items, as the project's README says."""

from __future__ import annotations

import re
from pathlib import Path

NATIONAL = Path(__file__).parent / "fixtures" / "national"
MAP26 = NATIONAL / "gp-reg-pat-prac-map_2026-08-01.zip"
MAP22 = NATIONAL / "gp-reg-pat-prac-map_2022-01-01.csv"
EPCNS = tuple(NATIONAL / f"epcn_{day}.xlsx" for day in ("2022-04-27", "2023-01-26", "2025-01-20"))
EPCMEM, ECCG = NATIONAL / "epcmem.csv", NATIONAL / "eccg.csv"
ICB_NAMES = NATIONAL / "icb_names_codes_dec_2024.csv"
# owner/repo:path@commit, the copy a national file was taken from (the fixtures' README)
COPY = re.compile(r"([\w.-]+/[\w.-]+):([^@\s]+)@([0-9a-f]{40})")


def download_addresses() -> dict[str, str]:
    """Each national file's name -> the address of the copy it was taken from, as its README
    gives it (`owner/repo:path@commit`): what a person puts in package.yaml's `path`."""
    found = {}
    readme = (NATIONAL / "README.md").read_text(encoding="utf-8")
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 4 and cells[1].startswith("`") and (copy := COPY.fullmatch(cells[3])):
            repository, path, commit = copy.groups()
            found[cells[1].strip("`")] = f"https://github.com/{repository}/raw/{commit}/{path}"
    return found


def settle_review(sources: Path) -> None:
    """Settle what init leaves for review, as the project's README tells a person to: the
    partnerships and objectives confirmed as init wrote them (`name_review`, `objective_review`
    set to false), and each national file's address put in package.yaml in place of its name."""
    for name, field in (
        ("partnerships.yaml", "name_review"),
        ("objectives.yaml", "objective_review"),
    ):
        path = sources / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(f'{field}: "true"', f'{field}: "false"'), encoding="utf-8")
    package = sources / "package.yaml"
    text = package.read_text(encoding="utf-8")
    for file, address in download_addresses().items():
        text = text.replace(f'path: "{file}"', f'path: "{address}"')
    package.write_text(text, encoding="utf-8")
