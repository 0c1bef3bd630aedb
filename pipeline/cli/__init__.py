"""The `ics-data` command line: thin commands that parse options, call one function, render.

The commands live in `releases` (the sources and the releases), `upstream` (the NHS files) and
`edits` (the guided edits of the month), their shared options in `options`; this module is the
group, which turns every pipeline error into one message and its exit code.
"""

from __future__ import annotations

from typing import Any

import click

from pipeline.cli import edits, releases, upstream
from pipeline.core.errors import (
    EXIT_INTERRUPTED,
    EXIT_REFUSED,
    PipelineError,
    describe_os_error,
    os_error_hint,
)


class Group(click.Group):
    """Turns pipeline errors and OS errors into one message and their exit code (1; 3 for a
    release published without its catalogue; 130 for Ctrl-C); a traceback only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PipelineError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"Error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # permission, disk full, not a folder, ...: never a traceback
            if ctx.params.get("debug"):
                raise
            click.echo(f"Error: {describe_os_error(exc)}", err=True)
            click.echo(f"Hint: {os_error_hint(exc)}", err=True)
            ctx.exit(EXIT_REFUSED)
        except KeyboardInterrupt:
            if ctx.params.get("debug"):
                raise
            click.echo("Interrupted: nothing was published that is not complete.", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    commands=[
        releases.validate,
        releases.publish,
        releases.release,
        releases.verify,
        releases.releases,
        releases.diff,
        releases.site,
        releases.as_at,
        upstream.refresh,
        upstream.init,
        *edits.EDIT_COMMANDS,
    ],
)
@click.option("--debug", is_flag=True, help="Show tracebacks for pipeline errors.")
@click.version_option(package_name="ics-data")
def cli(debug: bool) -> None:
    """Publish an integrated care system's structure as versioned Frictionless data packages.

    \b
    Example:
        ics-data validate
    """


def main() -> None:
    cli(prog_name="ics-data")
