"""Every ICB in England, in one run: `ics-data init`, then publish, for each of the 36 ICBs of the
2026-08-01 mapping file (with the three ePCN files, epcmem, eccg and the ONS ICB names).

    python -m bench.national [--readme README.md] [--icb QOP ...]

The national files are read once (their time is printed once); each ICB's init (build, validate,
write) and publish (validate, build every format, the site) are timed in this process, as a
library caller runs them. The whole run's wall time, CPU time and peak resident memory are
printed at the end. With --readme, the per-ICB table is written into the README between its
markers: PCNs and practices open on the newest date, memberships, warnings by code, and the
init and publish times. No figure is typed by hand.
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.sources.schemas import generic_schemas
from pipeline.stages import publish_release
from pipeline.upstream.init import InitResult, init_project, read_init_inputs
from tests.national import settle_review

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "tests" / "fixtures" / "national"
START = "<!-- bench:national:start -->"
END = "<!-- bench:national:end -->"


@dataclass(frozen=True)
class Row:
    result: InitResult
    init_seconds: float
    publish_seconds: float

    def cells(self) -> list[str]:
        r = self.result
        warnings = ", ".join(f"{code} {n}" for code, n in sorted(r.warnings.items())) or "-"
        return [
            f"`{r.icb}`",
            r.ics_name,
            str(len(r.scope.sub_icb_locations)),
            str(r.pcns_open),
            str(r.practices_open),
            str(r.memberships),
            warnings,
            f"{self.init_seconds:.2f}",
            f"{self.publish_seconds:.2f}",
        ]


HEADER = (
    "ICB",
    "ICS (named from its ICB)",
    "sub-ICB locations",
    "PCNs open",
    "practices in them",
    "memberships",
    "warnings by code",
    "init s",
    "publish s",
)


def render_markdown(rows: Sequence[Row], read_seconds: float, day: str) -> str:
    lines = [
        f"Written by `make bench` (`python -m bench.national`): each ICB of the mapping file of "
        f"{day} through `ics-data init` with the three ePCN files, epcmem, eccg and the ONS ICB "
        f"names, then `publish`, in one process. PCNs open and their member practices on {day}; "
        f"memberships in all; wall seconds of init (build, validate, write; the national files "
        f"were read once, in {read_seconds:.2f} s) and of publish.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|---|" + "---:|" * 4 + "---|---:|---:|",
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    total_pcns = sum(row.result.pcns_open for row in rows)
    total_practices = sum(row.result.practices_open for row in rows)
    lines.append(
        f"| all {len(rows)} | | | {total_pcns} | {total_practices} | "
        f"{sum(row.result.memberships for row in rows)} | | "
        f"{sum(r.init_seconds for r in rows):.1f} | {sum(r.publish_seconds for r in rows):.1f} |"
    )
    return "\n".join(lines)


def update_readme(readme: Path, markdown: str) -> bool:
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        return False
    readme.write_text(
        pattern.sub(lambda _: f"{START}\n{markdown}\n{END}", text, count=1), encoding="utf-8"
    )
    return True


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__)
    parser.add_argument("--readme", type=Path, help="write the table into this README")
    parser.add_argument("--icb", action="append", help="only these ICBs (default: all)")
    options = parser.parse_args(argv)
    wall, cpu = time.perf_counter(), time.process_time()
    inputs = read_init_inputs(
        NATIONAL / "gp-reg-pat-prac-map_2026-08-01.zip",
        [NATIONAL / f"epcn_{d}.xlsx" for d in ("2022-04-27", "2023-01-26", "2025-01-20")],
        NATIONAL / "epcmem.csv",
        NATIONAL / "eccg.csv",
        NATIONAL / "icb_names_codes_dec_2024.csv",
    )
    read_seconds = time.perf_counter() - wall
    print(f"read the national files in {read_seconds:.2f} s")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ics-bench-national-") as folder:
        for icb in options.icb or inputs.icbs_in_map():
            project = Path(folder) / icb
            start = time.perf_counter()
            result = init_project(project, icb, inputs, generic_schemas())
            settle_review(project / "sources")  # as a person does before the first release
            middle = time.perf_counter()
            publish_release(project / "sources", project / "schemas", project / "output")
            end = time.perf_counter()
            row = Row(result, middle - start, end - middle)
            rows.append(row)
            print("  " + " | ".join(row.cells()), flush=True)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    day = inputs.gp_map[1].vintage.isoformat()
    summary = (
        f"{len(rows)} ICBs: reading the national files, then init and publish of each, in one "
        f"run took {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU; peak memory {peak:.0f} MB (the "
        "process's maximum resident set)."
    )
    markdown = render_markdown(rows, read_seconds, day) + "\n\n" + summary
    print()
    print(markdown)
    if options.readme is not None and update_readme(options.readme, markdown):
        print(f"wrote the table into {options.readme}")


if __name__ == "__main__":
    main()
