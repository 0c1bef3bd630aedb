"""How the commands print a validation report: the summary, or the issues as text or GitHub
annotations, or the library's JSON."""

from __future__ import annotations

import json

import click

from pipeline.core.issues import ValidationReport, render_github, render_text


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
