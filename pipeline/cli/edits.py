"""The guided edits as commands (`ics-data move`, `rename`, `close`, `open`, `add-source`): each
parses its options, calls one function of `pipeline.upstream.edits`, prints the change as a small
diff and writes it unless --dry-run. A refusal is a `PipelineError`, which the `cli` group turns
into one message (exit 1); a day not written YYYY-MM-DD is a usage mistake (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.options import DAY, F, schemas_option, sources_option

if TYPE_CHECKING:
    from pipeline.upstream.edit import Edit

SOURCE_HELP = "The id of the evidence under sources: in package.yaml (see add-source)."


def edit_options(func: F) -> F:
    """What every guided edit takes besides its own options."""
    for option in reversed(
        (
            click.option("--source", "source", required=True, metavar="ID", help=SOURCE_HELP),
            click.option("--dry-run", is_flag=True, help="Print the change; write nothing."),
            sources_option,
            schemas_option,
        )
    ):
        func = option(func)
    return func


def on_option(what: str) -> Callable[[F], F]:
    return click.option("--on", "day", type=DAY, required=True, help=what)


def finish(edit: Edit, dry_run: bool) -> None:
    """Print the change; write it unless DRY_RUN."""
    from pipeline.upstream.edit import render_edit, write_edit

    click.echo(render_edit(edit, not dry_run and write_edit(edit)))


@click.command()
@click.argument("practice")
@click.option("--to", "pcn", required=True, metavar="PCN", help="The PCN the practice joins.")
@on_option("The first day in the new PCN, YYYY-MM-DD.")
@edit_options
def move(
    practice: str, pcn: str, day: date, source: str, dry_run: bool, sources: Path, schemas: Path
) -> None:
    """Move PRACTICE to another PCN from a day.

    Its current membership ends the day before (citing the source beside its own), and a new
    one starts that day with the next id for that practice and PCN. Refused, naming the
    record, when the day is not after the current membership's start, the practice is in no
    PCN, or the PCN is not open that day. Writes nothing unless the sources stay valid.

    \b
    Example:
        ics-data move G82002 --to U25255 --on 2026-12-01 --source HAND-2026-11-20
    """
    from pipeline.upstream.edits import move_practice

    finish(move_practice(sources, schemas, practice, pcn, day, source), dry_run)


@click.command()
@click.argument("pcn")
@click.option("--to", "name", required=True, metavar="NAME", help="The new name, as ODS has it.")
@on_option("The first day of the new name, YYYY-MM-DD.")
@edit_options
def rename(
    pcn: str, name: str, day: date, source: str, dry_run: bool, sources: Path, schemas: Path
) -> None:
    """Rename PCN from a day.

    The current name's row in pcn_names ends the day before, a row with the next number holds
    from the day, and pcns.pcn_name follows (each citing the source). Refused when the day is
    not after the current name's start or the PCN is not open that day.

    \b
    Example:
        ics-data rename U21470 --to "RECULVER PCN" --on 2026-11-20 --source HAND-2026-11-20
    """
    from pipeline.upstream.edits import rename_pcn

    finish(rename_pcn(sources, schemas, pcn, name, day, source), dry_run)


@click.command()
@click.argument("code", metavar="PCN|PRACTICE")
@on_option("The last day open (the close date as ODS records it), YYYY-MM-DD.")
@edit_options
def close(code: str, day: date, source: str, dry_run: bool, sources: Path, schemas: Path) -> None:
    """Close a PCN or a practice on its last day open.

    A PCN: close_date is set, and its open memberships and its current name end that day. A
    practice: its open membership ends that day. Refused when it is closed already, or the
    day is before what it ends.

    \b
    Example:
        ics-data close U82359 --on 2026-11-30 --source HAND-2026-11-20
    """
    from pipeline.upstream.edits import close_record

    finish(close_record(sources, schemas, code, day, source), dry_run)


@click.command("open")
@click.argument("kind", type=click.Choice(["pcn"], case_sensitive=False), metavar="PCN")
@click.option("--code", required=True, help="The new PCN's ODS code, e.g. U99001.")
@click.option("--name", required=True, help="Its name, as ODS has it.")
@on_option("The day it opens, YYYY-MM-DD.")
@click.option(
    "--sub-icb",
    default=None,
    metavar="CODE",
    help="Its commissioner [default: the ICS's sub-ICB location, when it has only one].",
)
@click.option(
    "--partnership",
    default=None,
    metavar="ID",
    help="Its partnership (required when the ICS's partnership_rule is ccg-2019 or "
    "sub-icb-location).",
)
@edit_options
def open_(
    kind: str,
    code: str,
    name: str,
    day: date,
    sub_icb: str | None,
    partnership: str | None,
    source: str,
    dry_run: bool,
    sources: Path,
    schemas: Path,
) -> None:
    """Open a new PCN: its pcns row and its first pcn_names row.

    Refused when the code exists already.

    \b
    Example:
        ics-data open pcn --code U99001 --name "NEW PCN" --on 2026-12-01 --source HAND-2026-12
    """
    from pipeline.upstream.edits import open_pcn

    edit = open_pcn(
        sources, schemas, code, name, day, source, sub_icb=sub_icb, partnership=partnership
    )
    finish(edit, dry_run)


@click.command("add-source")
@click.argument("ident", metavar="ID")
@click.option("--title", required=True, help="What the source is, and who published it.")
@click.option("--path", "url", required=True, metavar="URL", help="Where it can be read.")
@click.option("--vintage", type=DAY, required=True, help="The date of its facts, YYYY-MM-DD.")
@click.option(
    "--file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="The file as downloaded: its SHA-256 is registered.",
)
@click.option("--dry-run", is_flag=True, help="Print the change; write nothing.")
@sources_option
@schemas_option
def add_source(
    ident: str,
    title: str,
    url: str,
    vintage: date,
    file: Path | None,
    dry_run: bool,
    sources: Path,
    schemas: Path,
) -> None:
    """Register a public source under sources: in package.yaml, for records to cite.

    Added at the end of the list; every other byte of the file stays.

    \b
    Example:
        ics-data add-source HAND-2026-12 --title Letter --path https://a.uk/b --vintage 2026-12-01
    """
    from pipeline.upstream.edits import add_source as register

    finish(register(sources, schemas, ident, title, url, vintage, file), dry_run)


EDIT_COMMANDS = (move, rename, close, open_, add_source)
