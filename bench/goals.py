"""The performance goals, checked against the figures of one `make bench` run, and the README
table made from them (between the markers below), so that no figure in the README is typed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.__main__ import Measure

START = "<!-- bench:goals:start -->"
END = "<!-- bench:goals:end -->"


@dataclass(frozen=True)
class Goal:
    """One row of the goals table: a measure, the measure it is compared with, the limits."""

    case: str
    measure: Measure
    baseline: Measure | None  # None: an absolute goal in CPU seconds
    ratio: float | None = None  # ics-data CPU / baseline CPU, at most
    seconds: float | None = None  # CPU seconds, at most
    peak_mb: float | None = None  # peak resident memory, at most

    @property
    def cpu_ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.cpu:
            return None
        return self.measure.cpu / self.baseline.cpu

    @property
    def met(self) -> bool:
        ok = True
        if self.ratio is not None:
            ok = ok and self.cpu_ratio is not None and self.cpu_ratio <= self.ratio
        if self.seconds is not None:
            ok = ok and self.measure.cpu <= self.seconds
        if self.peak_mb is not None:
            ok = ok and self.measure.peak_mb is not None and self.measure.peak_mb <= self.peak_mb
        return ok

    def goal_text(self) -> str:
        parts = []
        if self.ratio is not None:
            parts.append(f"<= {self.ratio:g}x")
        if self.seconds is not None:
            parts.append(f"<= {self.seconds:g} s CPU")
        if self.peak_mb is not None:
            parts.append(f"<= {self.peak_mb:,.0f} MB")
        return ", ".join(parts)

    def cells(self) -> list[str]:
        m = self.measure
        ratio = f"{self.cpu_ratio:.2f}x" if self.cpu_ratio is not None else "-"
        peak = f"{m.peak_mb:,.0f}" if m.peak_mb is not None else "-"
        return [
            self.case,
            m.label,
            str(len(m.samples)),
            f"{m.median:.2f}",
            f"{m.cpu:.2f}",
            peak,
            ratio,
            self.goal_text(),
            "yes" if self.met else "**no**",
        ]


HEADER = ["case", "command", "runs", "wall s", "CPU s", "peak MB", "ratio", "goal", "met"]


def render_text(goals: Sequence[Goal]) -> str:
    rows = [HEADER, *(g.cells() for g in goals)]
    widths = [max(len(row[i].replace("**", "")) for row in rows) for i in range(len(HEADER))]
    lines = []
    for row in rows:
        cells = [
            cell.replace("**", "").ljust(width) for cell, width in zip(row, widths, strict=True)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    lines.append(
        "  ratio: median CPU seconds of the command / those of `frictionless validate` of the same"
        " release in the same run (lower is better)"
    )
    return "\n".join(lines)


def render_markdown(goals: Sequence[Goal], machine: str) -> str:
    right = {2, 3, 4, 5, 6}
    lines = [
        f"Measured by `make bench` ({machine}); every figure below is its output, written here "
        "by it.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(HEADER))) + "|",
    ]
    lines += ["| " + " | ".join(g.cells()) + " |" for g in goals]
    return "\n".join(lines)


def update_readme(readme: Path, markdown: str) -> bool:
    """Replace the table between the markers; False when the README has no markers."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        return False
    readme.write_text(
        pattern.sub(lambda _: f"{START}\n{markdown}\n{END}", text, count=1), encoding="utf-8"
    )
    return True
