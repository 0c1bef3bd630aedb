"""The project around a new project's sources: its Makefile, README, CI workflow and git files.

Written from the package's templates (`pipeline/templates/project/`). The Makefile installs the
tool from the make variable ICS_DATA_SPEC, by default exactly the version that wrote it, so a
project keeps the tool it was made with until someone chooses another; its targets' help lines
are the README's table of targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date

from pipeline.core.templating import template_environment
from pipeline.upstream.init.inputs import InitError

TEMPLATES = (
    ("Makefile", "project/Makefile.j2"),
    ("README.md", "project/README.md.j2"),
    (".github/workflows/data.yml", "project/data.yml.j2"),
    (".gitignore", "project/gitignore.j2"),
    (".gitattributes", "project/gitattributes.j2"),
)
PROJECT_FILES = tuple(name for name, _ in TEMPLATES)
TARGET = re.compile(r"^([a-z][a-z-]*):[^\n]*?## (.+)$", re.M)


@dataclass(frozen=True)
class ReviewItem:
    """What init leaves for a person: where (`sources/partnerships.yaml:5`) and what to do."""

    location: str
    message: str


@dataclass(frozen=True)
class ProjectFacts:
    """What the project's files say of the system, all of it from the sources init made."""

    ics_name: str
    icb: str
    icb_name: str
    sub_icb_locations: tuple[str, ...]
    former_ccgs: tuple[str, ...]
    partnership_rule: str
    release_date: date
    pcns_open: int
    practices_open: int
    memberships: int
    version: str  # the tool's, which the Makefile installs by default
    review: tuple[ReviewItem, ...]


def project_files(facts: ProjectFacts) -> dict[str, str]:
    """Each file of the project around the sources, by its path in the project, as text."""
    environment = template_environment(
        False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
    )
    values: dict[str, object] = {f.name: getattr(facts, f.name) for f in fields(facts)}
    makefile = environment.get_template("project/Makefile.j2").render(values)
    values["targets"] = make_targets(makefile)
    files = {"Makefile": makefile}
    for path, template in TEMPLATES[1:]:
        files[path] = environment.get_template(template).render(values)
    return files


def make_targets(makefile: str) -> list[tuple[str, str]]:
    """The targets a Makefile documents (`name: ... ## help`), in order, with their help."""
    return [(name, text.strip()) for name, text in TARGET.findall(makefile)]


def tool_version() -> str:
    """The installed ics-data's version (`pipeline.__version__`: pyproject.toml's)."""
    from importlib.metadata import PackageNotFoundError

    import pipeline

    try:
        return pipeline.__version__
    except PackageNotFoundError:
        raise InitError(
            "ics-data is not installed, so the version a new project installs is unknown",
            hint="Install it (make install, or pip install ics-data), then run init again.",
        ) from None
