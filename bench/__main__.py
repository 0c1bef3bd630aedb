"""Print how long ics-data takes beside plain frictionless, and how much memory each uses.

    python -m bench [--runs 5] [--scale-runs 3] [--factor 100]

Every command runs as a subprocess of this venv's executables (`ics-data`, `frictionless`), so
start-up is counted as a user sees it; its peak memory is the child's own maximum resident set
size, read with os.wait4. Wall times are medians of the runs (N is printed with them). The
frictionless library is also timed in this process, warm (imported once, outside the timing).

Linux counts into a child's peak the peak of the process it was started from (exec records the
old address space's high-water mark), so this process keeps small until every child has run:
the synthetic project is made by a child (`python -m bench.synthetic`) and the library is
imported last. Its own peak is printed as the floor under every child's figure.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.goals import Goal, update_readme
from bench.goals import render_markdown as render_goals_markdown
from bench.goals import render_text as render_goals

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Sample:
    seconds: float  # wall time
    cpu: float  # user + system CPU seconds: far less moved by other load on the machine
    peak_mb: float | None  # None when measured in this process


@dataclass(frozen=True)
class Measure:
    label: str
    samples: tuple[Sample, ...]

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def peak_mb(self) -> float | None:
        peaks = [s.peak_mb for s in self.samples if s.peak_mb is not None]
        return max(peaks) if peaks else None


def tool(name: str, module: str) -> list[str]:
    """The venv's console script, else `python -m module`."""
    path = BIN / name
    return [str(path)] if path.exists() else [sys.executable, "-m", module]


def run(command: Sequence[str | Path], cwd: Path) -> Sample:
    """Run a command to its end; its wall time and its own peak resident memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in command], cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            out.seek(0)
            raise SystemExit(
                f"{' '.join(map(str, command))} exited {proc.returncode}:\n"
                + (out.read() + err.read()).decode("utf-8", "replace")[-3000:]
            )
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS
    kilobytes = usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)
    return Sample(seconds, usage.ru_utime + usage.ru_stime, kilobytes / 1024)


def repeat(label: str, runs: int, once: Callable[[int], Sample]) -> Measure:
    return Measure(label, tuple(once(i) for i in range(runs)))


def in_process(label: str, runs: int, action: Callable[[], object]) -> Measure:
    samples = []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        action()
        samples.append(Sample(time.perf_counter() - start, time.process_time() - cpu, None))
    return Measure(label, tuple(samples))


def frictionless_library(datapackage: Path) -> Callable[[], object]:
    from frictionless import Package

    def validate() -> object:
        report = Package(str(datapackage)).validate()
        if not report.valid:
            raise SystemExit(f"frictionless finds {datapackage} invalid")
        return report

    return validate


def csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)


def release_rows(release: Path) -> int:
    """Data rows of every CSV table in a release (each is also published as JSON)."""
    return sum(csv_rows(path) for path in release.glob("data/*.csv"))


def source_rows(sources: Path) -> int:
    """Records in the source files: CSV rows and YAML list items."""
    import yaml

    records = sum(csv_rows(path) for path in sources.glob("*.csv"))
    for path in sources.glob("*.yaml"):
        if path.name != "package.yaml":
            records += len(yaml.safe_load(path.read_text("utf-8")) or [])
    return records


def table(measures: Sequence[Measure], baseline: Measure) -> list[str]:
    lines = [
        f"  {'command':<50} {'wall s':>7} {'min':>6} {'max':>6} {'ratio':>6}"
        f" {'cpu s':>7} {'ratio':>6} {'peak MB':>8}",
    ]
    for m in measures:
        times = [s.seconds for s in m.samples]
        peak = f"{m.peak_mb:8.0f}" if m.peak_mb is not None else f"{'-':>8}"
        lines.append(
            f"  {m.label:<50} {m.median:7.2f} {min(times):6.2f} {max(times):6.2f}"
            f" {m.median / baseline.median:5.2f}x {m.cpu:7.2f} {m.cpu / baseline.cpu:5.2f}x {peak}"
        )
    lines.append(
        f"  wall s: median wall time; cpu s: median user + system CPU time; ratio: to "
        f"'{baseline.label}'"
    )
    return lines


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def progress(text: str) -> None:
    print(f"  measuring {text} ...", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Case:
    """One project measured: its figures, the release it published, and what to print."""

    heading: list[str]
    measures: list[Measure]
    datapackage: Path
    footer: tuple[str, ...] = ()
    name: str = "shipped"


def shipped(work: Path, runs: int, ics: list[str], fl: list[str]) -> Case:
    sources, schemas = ROOT / "sources", ROOT / "schemas"
    project = ["--sources", str(sources), "--schemas", str(schemas)]
    outputs = [work / f"publish-{i}" for i in range(runs)]
    progress("the shipped sources")
    publish = repeat(
        "ics-data publish (into an empty folder)",
        runs,
        lambda i: run([*ics, "publish", *project, "--output", outputs[i]], work),
    )
    release = next(p for p in outputs[0].iterdir() if p.is_dir())
    datapackage = release / "datapackage.json"
    measures = [
        publish,
        repeat(
            "ics-data publish (no-op republish)",
            runs,
            lambda i: run([*ics, "publish", *project, "--output", outputs[0]], work),
        ),
        repeat(
            "ics-data publish --rebuild (no-op, every byte compared)",
            runs,
            lambda i: run([*ics, "publish", *project, "--output", outputs[0], "--rebuild"], work),
        ),
        repeat("ics-data validate", runs, lambda i: run([*ics, "validate", *project], work)),
        repeat(
            "ics-data verify (hashes + frictionless)",
            runs,
            lambda i: run([*ics, "verify", "--output", outputs[0]], work),
        ),
        repeat(
            "frictionless validate datapackage.json (CLI)",
            runs,
            lambda i: run([*fl, "validate", datapackage], work),
        ),
        repeat("ics-data --help", runs, lambda i: run([*ics, "--help"], work)),
    ]
    heading = [
        f"Shipped sources: {source_rows(sources)} records in {sources.relative_to(ROOT)}/ -> "
        f"release {release.name}: {release_rows(release)} rows per format "
        f"(CSV + JSON, {len(list(release.glob('data/*')))} files)",
        f"N = {runs} runs each; peak MB = the process's maximum resident set size",
    ]
    return Case(heading, measures, datapackage)


def scaled(work: Path, runs: int, factor: int, ics: list[str], fl: list[str]) -> Case:
    progress(f"the synthetic project, {factor}x")
    root = work / f"scaled-{factor}"
    made = subprocess.run(
        [sys.executable, "-m", "bench.synthetic", str(root), str(factor)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows_by_table: dict[str, int] = json.loads(made.stdout)
    args = ["--sources", str(root / "sources"), "--schemas", str(root / "schemas")]
    outputs = [work / f"scaled-{factor}-publish-{i}" for i in range(runs)]
    validate = repeat("ics-data validate", runs, lambda i: run([*ics, "validate", *args], work))
    publish = repeat(
        "ics-data publish (into an empty folder)",
        runs,
        lambda i: run([*ics, "publish", *args, "--output", outputs[i]], work),
    )
    release = next(p for p in outputs[0].iterdir() if p.is_dir())
    noop = repeat(
        "ics-data publish (no-op republish)",
        runs,
        lambda i: run([*ics, "publish", *args, "--output", outputs[0]], work),
    )
    frictionless = repeat(
        "frictionless validate datapackage.json (CLI)",
        runs,
        lambda i: run([*fl, "validate", release / "datapackage.json"], work),
    )
    rows = release_rows(release)
    counts = ", ".join(f"{name} {count:,}" for name, count in rows_by_table.items())
    heading = [
        f"Synthetic scale: {factor}x the shipped pcns, practices and memberships ({counts}); "
        f"{source_rows(root / 'sources'):,} source records -> {rows:,} rows per format "
        f"({2 * rows:,} rows validated by frictionless, CSV + JSON)",
        f"N = {runs} run(s) each",
    ]
    footer = [
        f"  peak memory ratio: validate {mb_ratio(validate, frictionless)}, "
        f"publish {mb_ratio(publish, frictionless)} of frictionless",
        f"  throughput: frictionless {2 * rows / frictionless.median:,.0f} rows/s (CSV + JSON); "
        f"ics-data validate {sum(rows_by_table.values()) / validate.median:,.0f} rows of the "
        "scaled tables/s",
    ]
    shutil.rmtree(root)  # the sources and the other outputs: a 1000x case needs the disk
    for extra in outputs[1:]:
        shutil.rmtree(extra, ignore_errors=True)
    measures = [validate, publish, noop, frictionless]
    return Case(heading, measures, release, tuple(footer), f"{factor}x")


def mb_ratio(measure: Measure, baseline: Measure) -> str:
    if measure.peak_mb is None or not baseline.peak_mb:
        return "-"
    return f"{measure.peak_mb / baseline.peak_mb:.2f}x"


def render(case: Case, baseline: Measure) -> str:
    return "\n".join([*case.heading, *table(case.measures, baseline), *case.footer])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command, shipped sources")
    parser.add_argument("--scale-runs", type=int, default=3, help="runs per command, scale case")
    parser.add_argument("--factor", type=int, default=100, help="scale factor of the rows")
    parser.add_argument(
        "--large-factor", type=int, default=1000, help="the largest scale, run once (0: skip)"
    )
    parser.add_argument(
        "--readme", type=Path, help="write the goals table into this README, between its markers"
    )
    options = parser.parse_args(argv)
    # The commands are timed as an installed package runs: with its modules' bytecode written.
    # An editable install where PYTHONDONTWRITEBYTECODE is set would otherwise compile every
    # module of `pipeline` again in each run (docs/stack-notes.md).
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "pipeline"), quiet=1)
    ics = tool("ics-data", "pipeline")
    fl = tool("frictionless", "frictionless")
    print(
        f"ics-data {version('ics-data')} | frictionless {version('frictionless')} | "
        f"Python {platform.python_version()} | {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="ics-bench-") as folder:
        work = Path(folder)
        small = shipped(work, options.runs, ics, fl)
        large = None
        if options.scale_runs > 0 and options.factor > 1:
            large = scaled(work, options.scale_runs, options.factor, ics, fl)
        huge = None
        if options.large_factor > 1:
            huge = scaled(work, 1, options.large_factor, ics, fl)
        national = None
        if options.scale_runs > 0:
            from bench.refresh import refresh_case  # ics-data refresh on national-size files

            national = refresh_case(work, options.scale_runs, ics)
        floor = own_peak_mb()
        # in this process, last: importing frictionless here would raise the floor above
        progress("the frictionless library")
        library = frictionless_library(small.datapackage)
        library()  # warm: imports and first-use caches outside the timing
        small.measures.append(
            in_process("frictionless Package.validate() (library, warm)", options.runs, library)
        )
        print()
        print(render(small, baseline_of(small)))
        if large is not None:
            print()
            print(render(large, baseline_of(large)))
        if huge is not None:
            print()
            print(render(huge, baseline_of(huge)))
        if national is not None:
            print()
            print(render(national, national.measures[0]))
        found = goals(small, large, huge)
        print()
        print("Goals (ratios of CPU seconds to frictionless validate of the same release):")
        print(render_goals(found))
        if options.readme is not None:
            machine = (
                f"frictionless {version('frictionless')}, Python {platform.python_version()}, "
                f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
            )
            if update_readme(options.readme, render_goals_markdown(found, machine)):
                print(f"\nwrote the goals table into {options.readme}")
        print()
        print(
            f"This process's own peak before the library run: {floor:.0f} MB, a floor under "
            "every peak MB above (Linux counts the parent's peak into a child's)."
        )


def own_peak_mb() -> float:
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / (1024 * 1024 if sys.platform == "darwin" else 1024)


def goals(small: Case, large: Case | None, huge: Case | None) -> list[Goal]:
    """The goals of the performance issue, each with its measure from this run."""
    by = {m.label: m for m in small.measures}
    base = by["frictionless validate datapackage.json (CLI)"]
    found = [
        Goal("shipped", by["ics-data publish (no-op republish)"], base, ratio=0.1),
        Goal("shipped", by["ics-data validate"], base, ratio=0.3),
        Goal("shipped", by["ics-data publish (into an empty folder)"], base, ratio=0.7),
        Goal("shipped", by["ics-data verify (hashes + frictionless)"], base, ratio=1.1),
        Goal("shipped", by["ics-data --help"], None, seconds=0.15),
    ]
    for case, publish_goal, peak in ((large, 1.0, None), (huge, 1.0, 1024)):
        if case is None:
            continue
        name = case.name
        scale = {m.label: m for m in case.measures}
        scale_base = scale["frictionless validate datapackage.json (CLI)"]
        found.append(Goal(name, scale["ics-data validate"], scale_base, ratio=0.25))
        found.append(
            Goal(
                name,
                scale["ics-data publish (into an empty folder)"],
                scale_base,
                ratio=publish_goal,
                peak_mb=peak,
            )
        )
        if case is large:
            found.append(Goal(name, scale["ics-data publish (no-op republish)"], scale_base, 0.1))
    return found


def baseline_of(case: Case) -> Measure:
    return next(m for m in case.measures if m.label.startswith("frictionless validate"))


if __name__ == "__main__":
    main()
