"""Options and value types the command modules share (`pipeline.cli`, `pipeline.edit_commands`),
defined once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

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
