"""The geometry of the structure chart: the ICS, its partnerships in columns, and each PCN as a
bar whose length is its number of member practices. Numbers only; `structure.svg.j2` draws it,
so the page shows it without JavaScript.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Okabe-Ito colours, told apart with colour blindness; text never sits on them.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
TINTS = ("#E5F0F7", "#FCF3E0", "#E0F3EE", "#F8EEF4", "#EAF5FC", "#FAEBE0")
WIDTH = 1100
MARGIN = 8
GAP = 18
ROOT_HEIGHT = 58
NO_PARTNERSHIP = "No partnership"  # the column of PCNs with none
HEAD_TOP = 112
HEAD_LINE = 19  # line height of a partnership name (15px bold)
HEAD_CHAR = 9.0  # average advance at 15px bold, mixed case
ROOT_CHAR = 10.2  # at 17px bold
LINE = 15  # line height of a PCN name
BAR = 12
ROW_GAP = 11
CHAR = 7.3  # average advance of a capital at 12px: names are published in capitals
COUNT_SPACE = 30


@dataclass(frozen=True)
class Bar:
    code: str
    name: str
    lines: tuple[str, ...]
    practices: int
    y: float  # top of the first line of the name
    bar_y: float
    bar_width: float


@dataclass(frozen=True)
class Column:
    id: str
    name: str
    colour: str
    tint: str
    name_lines: tuple[str, ...]
    x: float
    width: float
    centre: float
    practices: int
    bars: tuple[Bar, ...]
    head_y: float = HEAD_TOP  # the top of its heading box: rows of columns stack down


@dataclass(frozen=True)
class Chart:
    day: str
    ics_name: str
    ics_code: str
    width: int
    height: float
    root_x: float
    root_width: float
    bus_y: float
    columns: tuple[Column, ...]
    head_height: float
    id: str = "structure-chart"
    linked: bool = True  # one row of columns, joined to the ICS by lines
    root_y: float = MARGIN
    root_height: float = ROOT_HEIGHT
    title_size: float = 17.0  # the ICS's name, made smaller where it would overflow its box
    head_y: float = HEAD_TOP
    head_line: float = HEAD_LINE
    line: float = LINE
    bar: float = BAR

    @property
    def pcns(self) -> int:
        return sum(len(c.bars) for c in self.columns)

    @property
    def practices(self) -> int:
        return sum(c.practices for c in self.columns)


def wrap(text: str, width: float, lines: int = 2, char: float = CHAR) -> tuple[str, ...]:
    """Words into at most `lines` lines of about `width` pixels; the last is cut with an
    ellipsis if the name is longer (the full name is in the bar's <title>)."""
    limit = max(4, int(width // char))
    out: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) <= limit or not current:
            current = candidate
        else:
            out.append(current)
            current = word
    out.append(current)
    if len(out) > lines:
        out = out[: lines - 1] + [" ".join(out[lines - 1 :])]
    return tuple(
        line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026" for line in out
    )


def structure_chart(
    structure_csv: str,
    partnerships: Iterable[Mapping[str, str]],
    ics: Mapping[str, str],
    per_row: int | None = None,
    total_width: int = WIDTH,
    chart_id: str = "structure-chart",
) -> Chart | None:
    """The chart of a release's `structure` table (CSV text), with its partnerships' names.

    `per_row` partnerships side by side (all by default, joined to the ICS by lines); fewer
    make rows that stack down, which is how the chart reflows for a phone (one per row in a
    narrower drawing, so its text stays legible when the drawing fills a small screen)."""
    rows = list(csv.DictReader(io.StringIO(structure_csv)))
    if not rows:
        return None
    members: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for row in rows:
        members[row["partnership"]][row["pcn_code"]].append(row["practice_code"])
        names[row["pcn_code"]] = row["pcn_name"]
    ordered = sorted(partnerships, key=lambda p: p["id"])
    if "" in members:  # PCNs with no partnership (the rule none, or other ICBs' PCNs)
        ordered.append({"id": "", "name": NO_PARTNERSHIP})
    count = max(1, min(per_row or len(ordered), len(ordered)))
    width = (total_width - 2 * MARGIN - GAP * (count - 1)) / count
    largest = max(len(v) for pcns in members.values() for v in pcns.values())
    heads = {p["id"]: wrap(p.get("name") or p["id"], width - 16, char=HEAD_CHAR) for p in ordered}
    head_height = 22.0 + HEAD_LINE * max((len(v) for v in heads.values()), default=1) + 20
    head_top = float(HEAD_TOP if count == len(ordered) else MARGIN + ROOT_HEIGHT + GAP)
    columns: list[Column] = []
    bottom = head_top + head_height + 18
    for index, partnership in enumerate(ordered):
        if index and index % count == 0:  # a new row of columns, below the longest above
            head_top = bottom + GAP
        x = MARGIN + (index % count) * (width + GAP)
        pcns = sorted(
            members.get(partnership["id"], {}).items(), key=lambda kv: (-len(kv[1]), names[kv[0]])
        )
        bars, end = _bars(pcns, names, head_top + head_height + 18, width, largest)
        bottom = max(bottom, end)
        columns.append(
            Column(
                partnership["id"],
                partnership.get("name") or partnership["id"],
                PALETTE[index % len(PALETTE)],
                TINTS[index % len(TINTS)],
                heads[partnership["id"]],
                x,
                width,
                x + width / 2,
                sum(len(p) for _, p in pcns),
                bars,
                head_top,
            )
        )
    linked = count == len(ordered)
    title = f"{ics.get('name', '')} ({ics.get('code', '')})"
    root_width = min(total_width - 2 * MARGIN, max(440.0, len(title) * ROOT_CHAR + 48))
    return Chart(
        day=rows[0].get("as_at", ""),
        ics_name=ics.get("name", ""),
        ics_code=ics.get("code", ""),
        width=total_width,
        height=bottom + MARGIN,
        root_x=(total_width - root_width) / 2,
        root_width=root_width,
        bus_y=(MARGIN + ROOT_HEIGHT + HEAD_TOP) / 2,
        columns=tuple(columns),
        head_height=head_height,
        id=chart_id,
        linked=linked,
        title_size=_title_size(title if linked else ics.get("name", ""), linked, root_width),
    )


def _bars(
    pcns: list[tuple[str, list[str]]],
    names: Mapping[str, str],
    top: float,
    width: float,
    largest: int,
) -> tuple[tuple[Bar, ...], float]:
    """A column's bars from TOP down, one per PCN (with its member practices), each as long as
    its practices beside the LARGEST; and the height below the last."""
    y = top
    bars = []
    for code, practices in pcns:
        lines = wrap(names[code], width - 4)
        bar_y = y + LINE * len(lines) + 2
        bar_width = max(3.0, (width - COUNT_SPACE) * len(practices) / largest)
        bars.append(Bar(code, names[code], lines, len(practices), y, bar_y, bar_width))
        y = bar_y + BAR + ROW_GAP
    return tuple(bars), y


def _title_size(shown: str, linked: bool, root_width: float) -> float:
    """The ICS's name shrinks to fit its box (a phone's drawing is narrow): 17px bold beside the
    columns, 15px stacked, smaller when the name would run past the box."""
    base = 17.0 if linked else 15.0
    room = (root_width - 24) / max(1, len(shown)) / (ROOT_CHAR / 17.0)
    return round(max(9.0, min(base, room)), 1)
