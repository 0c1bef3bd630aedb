"""Options, value types and progress the commands share: each defined once, here."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.core.progress import SILENT, Progress

F = TypeVar("F", bound=Callable[..., Any])


def sources_option(func: F) -> F:
    return click.option(
        "--sources",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("sources"),
        show_default=True,
        help="Folder of source records.",
    )(func)


def schemas_option(func: F) -> F:
    return click.option(
        "--schemas",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("schemas"),
        show_default=True,
        help="Folder of Table Schemas.",
    )(func)


def format_option(*choices: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=choices[0],
            show_default=True,
            help="Output format.",
        )(func)

    return decorate


def output_option(func: F) -> F:
    return click.option(
        "--output",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("output"),
        show_default=True,
        help="Folder of published releases.",
    )(func)


def upstream_file(option: str, what: str) -> Callable[[F], F]:
    return click.option(
        option,
        type=click.Path(path_type=Path, exists=True, dir_okay=False),
        default=None,
        help=what,
    )


class BarProgress:
    """A click progress bar on stderr, drawn once a piece of work says how long it is."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int, label: str) -> None:
        self.finish()
        self._bar = click.progressbar(length=total, label=label, file=sys.stderr)
        self._bar.__enter__()

    def advance(self, label: str) -> None:
        if self._bar is not None:
            self._bar.label = label
            self._bar.update(1)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextmanager
def terminal_progress(fmt: str = "text") -> Iterator[Progress]:
    """A bar on stderr when it is a terminal and the output is not JSON; silence otherwise."""
    if fmt == "json" or not sys.stderr.isatty():
        yield SILENT
        return
    bar = BarProgress()
    try:
        yield bar
    finally:
        bar.finish()


class Day(click.ParamType):  # type: ignore[type-arg]
    """A day written exactly YYYY-MM-DD, and a real one: `2027-1-1` and `2026-02-30` are usage
    mistakes (exit 2), never read as some other day."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value)
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            self.fail(f"{text!r} is not a day written YYYY-MM-DD", param, ctx)
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is not a day of the calendar", param, ctx)


DAY = Day()
