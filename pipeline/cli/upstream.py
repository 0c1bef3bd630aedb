"""The commands on the NHS files: refresh a project's sources, and init a new project."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.options import (
    format_option,
    schemas_option,
    sources_option,
    terminal_progress,
    upstream_file,
)
from pipeline.core.scope import BY_SUB_ICB, PARTNERSHIP_RULES


@click.command()
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


@click.command("init")
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
    """Write a whole project for any ICB in England from the national files.

    FOLDER gets sources/ and schemas/, and around them a Makefile (make publish, make test,
    the month's targets; it installs this version of ics-data into .venv), a README for the
    ICS, a CI workflow, .gitignore and .gitattributes. The ICB's practices are those of the
    newest mapping file; its sub-ICB locations are theirs; its former CCGs are derived. The
    ePCN files, then the mapping file, are merged as refresh merges them. What init cannot
    know awaits review (publish refuses until a person settles it; the README says how).
    Writes nothing unless the result is valid.

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
