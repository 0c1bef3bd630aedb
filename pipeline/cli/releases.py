"""The commands on the sources and the releases: validate, publish, release, verify, releases,
diff, site and as-at. Each imports the stages it runs when it runs: `ics-data --help` and
`validate` need neither the writers (pyarrow, openpyxl, jinja2) nor the diff and the site."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import click

from pipeline.cli.options import (
    format_option,
    output_option,
    schemas_option,
    sources_option,
    terminal_progress,
)
from pipeline.cli.report import echo_report
from pipeline.core.errors import InvalidSources, ProjectError
from pipeline.core.files import display_path
from pipeline.core.issues import RELEASE_ADVICE, REVIEW_CODES, render_text


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command("as-at")
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
