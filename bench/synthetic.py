"""A synthetic project: the shipped sources with `factor` times the PCNs, practices and
memberships, every copy given new valid codes, so that keys stay unique and every rule holds.

Copy 0 is the shipped records; copy k > 0 repeats them with each PCN and practice code mapped to
an unused code of the same pattern, so each copy is a disjoint twin of the shipped network: the
same dates, partnerships and commissioners, no practice in two PCNs at once. The one claim that
counts PCNs (`check: pcns-open`) has its figure multiplied by `factor`, since every PCN open on
its date is now open `factor` times.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCALED = ("pcns", "practices", "pcn_memberships", "pcn_names")


@dataclass(frozen=True)
class ScaledProject:
    sources: Path
    schemas: Path
    rows: dict[str, int]  # rows per source file, after scaling


def fresh_codes(prefixes: str, used: set[str]) -> Iterator[str]:
    """Codes `<letter><5 digits>` in order, skipping every code already in use."""
    for prefix in prefixes:
        for number in range(100_000):
            code = f"{prefix}{number:05d}"
            if code not in used:
                yield code


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def scale_claims(text: str, factor: int) -> str:
    """Multiply the figure of each `check: pcns-open` claim, keeping the file as typed."""
    blocks = re.split(r"(?m)^(?=- id:)", text)
    out = []
    for block in blocks:
        if re.search(r"(?m)^  check: pcns-open\s*$", block):
            block = re.sub(
                r"(?m)^(  figure: )(\d+)\s*$",
                lambda m: f"{m[1]}{int(m[2]) * factor}",
                block,
            )
        out.append(block)
    return "".join(out)


def make_scaled_project(root: Path, sources: Path, schemas: Path, factor: int) -> ScaledProject:
    """Write the scaled copy of `sources` (and a copy of `schemas`) under `root`."""
    if factor < 1:
        raise ValueError("factor must be at least 1")
    target = root / "sources"
    shutil.copytree(sources, target)
    shutil.copytree(schemas, root / "schemas")

    pcn_header, pcns = read_csv(sources / "pcns.csv")
    practice_header, practices = read_csv(sources / "practices.csv")
    member_header, members = read_csv(sources / "pcn_memberships.csv")
    names_path = sources / "pcn_names.csv"
    name_header, names = read_csv(names_path) if names_path.exists() else ([], [])
    pcn_codes = fresh_codes("U", {row["pcn_code"] for row in pcns})
    practice_codes = fresh_codes("ZYXWV", {row["practice_code"] for row in practices})

    out_pcns, out_practices, out_members = list(pcns), list(practices), list(members)
    out_names = list(names)
    for _ in range(1, factor):
        pcn_map = {row["pcn_code"]: next(pcn_codes) for row in pcns}
        practice_map = {row["practice_code"]: next(practice_codes) for row in practices}
        out_pcns += [{**row, "pcn_code": pcn_map[row["pcn_code"]]} for row in pcns]
        out_names += [{**row, "pcn_code": pcn_map[row["pcn_code"]]} for row in names]
        out_practices += [
            {**row, "practice_code": practice_map[row["practice_code"]]} for row in practices
        ]
        out_members += [
            {
                **row,
                "practice_code": practice_map[row["practice_code"]],
                "pcn_code": pcn_map[row["pcn_code"]],
                **renamed_id(row, practice_map, pcn_map),
            }
            for row in members
        ]
    write_csv(target / "pcns.csv", pcn_header, out_pcns)
    write_csv(target / "practices.csv", practice_header, out_practices)
    write_csv(target / "pcn_memberships.csv", member_header, out_members)
    if names:
        write_csv(target / "pcn_names.csv", name_header, out_names)
    claims = target / "claims.yaml"
    claims.write_bytes(scale_claims(claims.read_text("utf-8"), factor).encode("utf-8"))
    return ScaledProject(
        target,
        root / "schemas",
        {
            "pcns": len(out_pcns),
            "practices": len(out_practices),
            "pcn_memberships": len(out_members),
        },
    )


def main() -> None:
    """`python -m bench.synthetic ROOT FACTOR`: the benchmark makes its project in a child
    process, so that its own memory stays below that of every command it measures."""
    import json
    import sys

    if len(sys.argv) != 3 or not sys.argv[2].isdigit() or int(sys.argv[2]) < 1:
        sys.exit("usage: python -m bench.synthetic ROOT FACTOR (FACTOR a whole number, 1 or more)")
    root, factor = Path(sys.argv[1]), int(sys.argv[2])
    if root.exists() and any(root.iterdir()):
        sys.exit(f"{root} is not empty: give a new or empty folder for the scaled project")
    here = Path(__file__).resolve().parent.parent
    project = make_scaled_project(root, here / "sources", here / "schemas", factor)
    print(json.dumps(project.rows))


def renamed_id(
    row: dict[str, str], practice_map: dict[str, str], pcn_map: dict[str, str]
) -> dict[str, str]:
    """A membership's id names its practice and PCN: the copy's id names the copy's codes."""
    if "membership_id" not in row:
        return {}
    ordinal = row["membership_id"].rsplit("-", 1)[-1]
    practice, pcn = practice_map[row["practice_code"]], pcn_map[row["pcn_code"]]
    return {"membership_id": f"{practice}-{pcn}-{ordinal}"}


if __name__ == "__main__":
    main()
