"""The `ics-data` command line: thin commands that parse options, call one function, render."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from pipeline.cli_options import F, schemas_option, sources_option
from pipeline.core.errors import (
    EXIT_INTERRUPTED,
    EXIT_REFUSED,
    InvalidSources,
    PipelineError,
    ProjectError,
    describe_os_error,
    os_error_hint,
)
from pipeline.core.files import display_path
from pipeline.core.issues import (
    RELEASE_ADVICE,
    REVIEW_CODES,
    ValidationReport,
    render_github,
    render_text,
)
from pipeline.core.progress import SILENT, Progress
from pipeline.core.scope import BY_SUB_ICB, PARTNERSHIP_RULES
from pipeline.edit_commands import EDIT_COMMANDS

# Each command imports the stages it runs when it runs: `ics-data --help` and `validate` need
# neither the writers (pyarrow, openpyxl, jinja2) nor the diff and the site.


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


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for pipeline errors.")
@click.version_option(package_name="ics-data")
def cli(debug: bool) -> None:
    """Publish an integrated care system's structure as versioned Frictionless data packages.

    \b
    Example:
        ics-data validate
    """


for command in EDIT_COMMANDS:  # move, rename, close, open, add-source (pipeline.edit_commands)
    cli.add_command(command)


def render_summary(report: ValidationReport) -> str:
    summary = report.summary
    lines = ["Records per resource:"]
    for name, count in summary.get("records", {}).items():
        lines.append(f"  {name:<16} {count:>5}")
    pcns = summary.get("pcns_open", {})
    if pcns:
        lines.append("PCNs open:")
        for day, count in pcns.items():
            label = f"{day} (today)" if day == summary.get("today") else day
            lines.append(f"  {label:<20} {count}")
    warnings = summary.get("warnings", {})
    if warnings:
        lines.append("Warnings:")
        lines.extend(f"  {code:<22} {count:>5}" for code, count in warnings.items())
    claims = summary.get("claims", [])
    if claims:
        lines.append("Claims:")
        # every column as wide as its widest value: a long id or figure keeps the columns
        width = max(len(str(claim["id"])) for claim in claims)
        said = max(len(str(claim["claimed"])) for claim in claims)
        found = max(
            len(str(claim["computed"] if claim["computed"] is not None else "-"))
            for claim in claims
        )
        for claim in claims:
            computed = claim["computed"] if claim["computed"] is not None else "-"
            lines.append(
                f"  {claim['id']:<{width}} claimed {claim['claimed']!s:<{said}} "
                f"computed {computed!s:<{found}} "
                f"at {claim['as_at'] or '-'}  {claim['status']}"
            )
            if claim.get("context"):
                lines.append(f"    beside it: {claim['context']}")
    return "\n".join(lines)


def echo_report(report: ValidationReport, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "github":
        if report.issues:
            click.echo(render_github(report.issues))
        if report.ok:
            click.echo("Sources are valid.")
    else:
        if report.issues:
            click.echo(render_text(report.issues))
        if report.ok:
            click.echo(render_summary(report))
            click.echo("Sources are valid.")


@cli.command()
@sources_option
@schemas_option
@format_option("text", "json", "github")
def validate(sources: Path, schemas: Path, fmt: str) -> None:
    """Check every source record against its schema and the rules across records.

    Reports every problem at once with its file, line, resource, field, value and a stable
    code. Exit 0 when valid, 1 when any problem is found, 2 for usage errors.

    \b
    Example:
        ics-data validate --format github
    """
    from pipeline.check.validate import validate_project

    report = validate_project(sources, schemas).report
    echo_report(report, fmt)
    sys.exit(0 if report.ok else 1)


def output_option(func: F) -> F:
    return click.option(
        "--output",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("output"),
        show_default=True,
        help="Folder of published releases.",
    )(func)


@cli.command()
@sources_option
@schemas_option
@output_option
@click.option(
    "--check", is_flag=True, help="Do everything but write: exit 1 if publishing would be refused."
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build the release even when its fingerprint says it is published, and compare bytes.",
)
@click.option(
    "--allow-skip", is_flag=True, help="Accept a version that skips versions (1.0.0 to 1.3.0)."
)
def publish(
    sources: Path, schemas: Path, output: Path, check: bool, rebuild: bool, allow_skip: bool
) -> None:
    """Validate the sources and publish them as the version in sources/package.yaml.

    Writes OUTPUT/<version>/ (datapackage.json, CSV and JSON tables, README.md), the zip
    OUTPUT/<name>-<version>.zip and OUTPUT/catalog.json. Invalid sources: the validation
    report, exit 1, nothing written. A published version is never rewritten. Refused: a new
    version dated on or before the newest release, one that skips versions (unless
    --allow-skip), too small a bump, and anything awaiting review (`validate` warns of it).

    \b
    Example:
        ics-data publish --output output
    """
    from pipeline.stages import publish_release

    try:
        with terminal_progress() as progress:
            result = publish_release(
                sources,
                schemas,
                output,
                check=check,
                rebuild=rebuild,
                allow_skip=allow_skip,
                progress=progress,
            )
    except InvalidSources as exc:
        click.echo(render_text(exc.issues), err=True)
        click.echo("Nothing was published.", err=True)
        sys.exit(1)
    if result.status == "unchanged":
        click.echo(f"already published as {result.version} ({display_path(result.path)})")
    elif result.status == "checked":
        click.echo(f"{result.version} can be published ({result.files} files)")
    else:
        click.echo(
            f"published {result.version} in {display_path(result.path)} ({result.files} files)"
        )


@cli.command()
@sources_option
@schemas_option
@output_option
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The release date, YYYY-MM-DD (default: today).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
def release(
    sources: Path, schemas: Path, output: Path, day: datetime | None, dry_run: bool
) -> None:
    """Plan the next release: set version and release_date in sources/package.yaml.

    The version is the smallest bump the changes since the newest release in OUTPUT need
    (`ics-data diff latest sources`); only those two values of package.yaml are written, the
    rest stays byte for byte. Prints the changelog publish will write, and what still awaits
    review. Refused when nothing changed or DATE is not after the newest release.

    \b
    Example:
        ics-data release --date 2026-12-04
    """
    from pipeline.check.validate import validate_project
    from pipeline.release.planning import plan_release, render_plan, write_plan

    validation = validate_project(sources, schemas)
    if not validation.report.ok:
        click.echo(render_text(validation.report.issues), err=True)
        click.echo("Nothing was planned.", err=True)
        sys.exit(1)
    plan = plan_release(validation, output, day.date() if day else date.today())
    written = not dry_run and write_plan(plan)
    click.echo(render_plan(plan, written, dry_run))
    review = [i for i in validation.report.issues if i.code in REVIEW_CODES]
    if review:
        click.echo(f"\nBefore publishing, clear what awaits review ({len(review)}):")
        click.echo("\n".join(f"  {i.location()}  {i.message}" for i in review))


@cli.command()
@output_option
@click.argument("version", required=False)
def verify(output: Path, version: str | None) -> None:
    """Re-check every file of the releases (or of VERSION), and the catalogue beside them.

    Sizes and SHA-256 of every file, no file missing or extra, the descriptor's name and
    version against its folder and zip, the zip, the SHA-256 catalog.json recorded, and a
    frictionless validation of the package; then catalog.json, CHANGELOG.md and the site
    must be exactly what the releases regenerate. Exit 1 on any problem.

    \b
    Example:
        ics-data verify 1.0.0
    """
    from pipeline.release.verify import CATALOGUE, CATALOGUE_ADVICE, verify_catalogue
    from pipeline.release.verify import verify as verify_releases

    results = verify_releases(output, version)
    if not results:
        raise ProjectError(f"no releases in {display_path(output)}", hint="run ics-data publish")
    results[CATALOGUE] = verify_catalogue(output)
    failed = False
    for name, issues in results.items():
        if issues:
            failed = True
            click.echo(f"{name}: {len(issues)} problem(s)")
            advice = CATALOGUE_ADVICE if name == CATALOGUE else RELEASE_ADVICE
            click.echo(render_text(issues, advice))
        else:
            click.echo(f"{name}: ok")
    sys.exit(1 if failed else 0)


@cli.command()
@output_option
@format_option("text", "json")
def releases(output: Path, fmt: str) -> None:
    """List the published releases.

    \b
    Example:
        ics-data releases --format json
    """
    from pipeline.release.catalog import release_rows

    rows = release_rows(output)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no releases in {display_path(output)}")
    for row in rows:
        click.echo(
            f"{row['version']:<10} {row['created']}  {row['resources']:>3} resources  "
            f"{row['bytes']:>9} bytes  {row['path']}"
        )


@cli.command()
@click.argument("old")
@click.argument("new")
@sources_option
@schemas_option
@output_option
@format_option("text", "json", "markdown")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences.")
def diff(
    old: str, new: str, sources: Path, schemas: Path, output: Path, fmt: str, exit_code: bool
) -> None:
    """Show what changed from OLD to NEW, per resource and keyed by primary key.

    OLD and NEW are each a version in OUTPUT, `latest` (the newest release there), a release
    folder, or `sources` (the working sources, built in memory). Reports records added, removed
    and changed field by field, schema changes, what they mean (a PCN opened, closed, renamed;
    a practice moved; ...) and the smallest version bump they need. Exit 0 whether or not there
    are differences; with --exit-code, 1 when there are.

    \b
    Example:
        ics-data diff latest sources --format markdown
    """
    from pipeline.changes.changelog import render_markdown, render_text
    from pipeline.changes.diff import diff_snapshots
    from pipeline.changes.snapshot import resolve

    result = diff_snapshots(
        resolve(old, output, sources, schemas), resolve(new, output, sources, schemas)
    )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result))
    sys.exit(1 if exit_code and not result.empty else 0)


@cli.command()
@output_option
def site(output: Path) -> None:
    """Regenerate the catalogue in OUTPUT from the published releases.

    Writes OUTPUT/catalog.json, OUTPUT/CHANGELOG.md, OUTPUT/index.html,
    OUTPUT/releases/<version>.html and OUTPUT/dcat.jsonld (publish does this after every
    release; run it when a publish says the catalogue could not be updated). Releases
    themselves are never touched.

    \b
    Example:
        ics-data site --output output
    """
    from pipeline.archive import find_releases, package_name
    from pipeline.release.publish import publish_lock, write_catalogue

    if not find_releases(output):
        raise ProjectError(f"no releases in {display_path(output)}", hint="run ics-data publish")
    with publish_lock(output):
        written = write_catalogue(output, package_name(output) or "")
    click.echo(f"wrote {len(written)} files of the catalogue in {display_path(output)}")


@cli.command("as-at")
@click.argument("day", metavar="DATE", type=click.DateTime(formats=["%Y-%m-%d"]))
@sources_option
@schemas_option
@format_option("text", "csv", "json")
def as_at(day: datetime, sources: Path, schemas: Path, fmt: str) -> None:
    """The structure on DATE (YYYY-MM-DD): each open PCN with its partnership and members.

    A PCN is listed when it was definitely open that day; practices whose membership dates
    leave the day in doubt are marked as uncertain. Exit 1 if the sources are invalid.

    \b
    Example:
        ics-data as-at 2022-07-01 --format csv
    """
    from pipeline.check.structure import render_csv, structure_as_at
    from pipeline.check.structure import render_text as render_structure
    from pipeline.check.validate import validate_project

    validation = validate_project(sources, schemas)
    if not validation.report.ok:
        click.echo(render_text(validation.report.issues), err=True)
        sys.exit(1)
    result = structure_as_at(validation.dataset, day.date())
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(render_csv(result), nl=False)
    else:
        click.echo(render_structure(result))


def upstream_file(option: str, what: str) -> Callable[[F], F]:
    return click.option(
        option,
        type=click.Path(path_type=Path, exists=True, dir_okay=False),
        default=None,
        help=what,
    )


@cli.command()
@upstream_file("--epcn", "ODS ePCN.xlsx workbook (PCNs and practice-PCN history).")
@upstream_file("--gp-map", "NHS England gp-reg-pat-prac-map, as the .zip or the .csv in it.")
@upstream_file(
    "--registered-patients",
    "NHS England gp-reg-pat-prac-sing-age-regions (registered patients by sex and age), as the "
    ".zip or the .csv in it.",
)
@sources_option
@schemas_option
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option(
    "--allow-older",
    is_flag=True,
    help="Accept a file older than one the sources hold (it only fills what is missing).",
)
@format_option("text", "markdown", "json")
def refresh(
    epcn: Path | None,
    gp_map: Path | None,
    registered_patients: Path | None,
    sources: Path,
    schemas: Path,
    dry_run: bool,
    allow_older: bool,
    fmt: str,
) -> None:
    """Bring pcns, practices and pcn_memberships up to date with the NHS files.

    Keeps the rows of this ICS (its codes in sources/ics.yaml), adds records, sets close
    and end dates or their bounds, records renames, proposes a partnership for a new PCN
    (partnership_review = true), cites the file in every record it changes and registers
    it in package.yaml. Prints the semantic diff of the sources before and after (the
    same diff as `ics-data diff`) and the version bump it implies. Writes all files or
    none, and only if the result is valid; a file older than one the sources hold is
    refused unless --allow-older.

    With --registered-patients, replaces the registered_patients and registered_totals rows
    of the file's extract date: each PCN by sex and five-year age band, the ICB and its
    sub-ICB locations with the sum over their PCNs and the patients of practices in no PCN.

    \b
    Example:
        ics-data refresh --gp-map gp-reg-pat-prac-map.zip --dry-run
    """
    # Imported here: openpyxl would add a quarter of a second to every other command.
    from pipeline.upstream.refresh import apply_refresh, plan_refresh
    from pipeline.upstream.report import render_refresh

    with terminal_progress(fmt) as progress:
        plan = plan_refresh(
            sources,
            schemas,
            epcn=epcn,
            gp_map=gp_map,
            allow_older=allow_older,
            registered_patients=registered_patients,
            progress=progress,
        )
    report = plan.report if dry_run else apply_refresh(plan)
    click.echo(render_refresh(report, fmt))


@cli.command("init")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--icb", required=True, help="The ODS code of the ICB, e.g. QOP or S9B9J.")
@click.option(
    "--gp-map",
    "gp_maps",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="NHS England gp-reg-pat-prac-map (.zip or .csv); the newest says what the ICB is, "
    "older ones only fill gaps. Repeatable.",
)
@click.option(
    "--epcn",
    "epcns",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="ODS ePCN.xlsx workbook; repeatable, merged in vintage order.",
)
@upstream_file("--epcmem", "ODS epcmem.csv: each practice's 2019 CCG.")
@upstream_file("--eccg", "ODS eccg.csv: CCGs and sub-ICB locations, open and closed.")
@upstream_file("--icb-names", "ONS ICB names and codes (ICB24CD, ICB24CDH, ICB24NM).")
@click.option(
    "--partnership-rule",
    type=click.Choice(PARTNERSHIP_RULES),
    default=BY_SUB_ICB,
    show_default=True,
    help="How PCNs map to the ICS's partnerships (written to ics.yaml).",
)
@click.option(
    "--schemas",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The Table Schemas to copy into FOLDER/schemas [default: the tool's generic ones].",
)
@format_option("text", "json")
def init(
    folder: Path,
    icb: str,
    gp_maps: tuple[Path, ...],
    epcns: tuple[Path, ...],
    epcmem: Path | None,
    eccg: Path | None,
    icb_names: Path | None,
    partnership_rule: str,
    schemas: Path | None,
    fmt: str,
) -> None:
    """Write FOLDER/sources and FOLDER/schemas for any ICB in England from the national files.

    The ICB's practices are those of the newest mapping file; its sub-ICB locations are
    theirs; its former CCGs are derived. The ePCN files, then the mapping file, are merged as
    refresh merges them. Writes nothing unless the result is valid. Then run validate,
    publish, refresh and diff with --sources FOLDER/sources --schemas FOLDER/schemas.

    \b
    Example:
        ics-data init gm --icb QOP --gp-map gp-reg-pat-prac-map.zip --epcn ePCN.xlsx
    """
    from pipeline.upstream.init import init_project, read_init_inputs, render_init

    with terminal_progress(fmt) as progress:
        inputs = read_init_inputs(gp_maps, epcns, epcmem, eccg, icb_names, progress)
    from pipeline.sources.schemas import generic_schemas

    chosen = schemas if schemas is not None else generic_schemas()
    result = init_project(folder, icb, inputs, chosen, rule=partnership_rule)
    click.echo(render_init(result, fmt))


def main() -> None:
    cli(prog_name="ics-data")
