"""How to cite a release, from its package metadata: CITATION.cff, a text citation and BibTeX.

`Citation` is read from `sources/package.yaml` when a release is built (CITATION.cff, which is
part of the release) and from a published `datapackage.json` when the site describes a release,
so each release is cited by its own metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

from pipeline.build.edition import edition_of
from pipeline.core.model import Metadata
from pipeline.core.templating import template_environment
from pipeline.core.text import link_target

BIBTEX_SPECIAL = re.compile(r"([&%$#_{}])")


@dataclass(frozen=True)
class CitedSource:
    """An upstream file the records cite, as the registry gives it (`url` only when it is a
    web address)."""

    id: str
    title: str
    url: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Citation:
    name: str
    title: str
    version: str
    released: str  # YYYY-MM-DD
    description: str
    authors: tuple[str, ...]
    licence_id: str
    licence_title: str
    licence_url: str
    homepage: str
    keywords: tuple[str, ...]
    url: str = ""  # the package's own address (package.yaml `url`), not its homepage
    sources: tuple[CitedSource, ...] = ()

    @property
    def edition(self) -> int:
        """What the citation holds (`build.edition`): from edition 2, `url` and the sources."""
        return edition_of(self.released)

    @property
    def year(self) -> str:
        return self.released[:4]

    @property
    def key(self) -> str:
        """A BibTeX key: the package name and version, e.g. kent-medway-ics-1.0.0."""
        return f"{self.name}-{self.version}"


def citation_from(data: Mapping[str, Any], version: str, released: date | str) -> Citation:
    """From package metadata as package.yaml and datapackage.json both hold it."""
    contributors = [c for c in data.get("contributors", []) if isinstance(c, Mapping)]
    authors = [str(c["title"]) for c in contributors if c.get("role") == "author"]
    if not authors:
        authors = [str(c["title"]) for c in contributors if c.get("title")]
    licence = (data.get("licenses") or [{}])[0]
    return Citation(
        name=str(data["name"]),
        title=str(data["title"]),
        version=version,
        released=released.isoformat() if isinstance(released, date) else str(released)[:10],
        description=" ".join(str(data.get("description", "")).split()),
        authors=tuple(authors) or (str(data["name"]),),
        licence_id=str(licence.get("name", "")),
        licence_title=str(licence.get("title", licence.get("name", ""))),
        licence_url=str(licence.get("path", "")),
        homepage=str(data.get("homepage", "") or ""),
        keywords=tuple(str(k) for k in data.get("keywords", [])),
        url=link_target(data.get("url")),
        sources=tuple(cited_sources(data.get("sources") or [])),
    )


def cited_sources(entries: list[Any]) -> list[CitedSource]:
    """The registry's entries that are files (they have a path), from package.yaml (`vintage`)
    or a descriptor (`version`)."""
    return [
        CitedSource(
            id=str(entry["id"]),
            title=" ".join(str(entry.get("title", "")).split()),
            url=link_target(entry.get("path")),
            version=str(entry.get("vintage", entry.get("version", "")) or ""),
            sha256=str(entry.get("sha256") or ""),
        )
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("id") and entry.get("path")
    ]


def from_metadata(metadata: Metadata) -> Citation:
    return citation_from(metadata.data, metadata.version, metadata.release_date)


def from_descriptor(descriptor: Mapping[str, Any]) -> Citation:
    return citation_from(descriptor, str(descriptor["version"]), str(descriptor.get("created")))


def yaml_scalar(value: object) -> str:
    """A YAML double-quoted scalar: JSON string syntax is valid YAML."""
    return json.dumps(str(value), ensure_ascii=False)


def bibtex_escape(value: object) -> str:
    return BIBTEX_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def braced(value: object) -> str:
    """An author that is an organisation: braced, so BibTeX keeps the name whole."""
    return "{" + str(value) + "}"


def environment() -> jinja2.Environment:
    """The environment of the citation templates, for one command's renders."""
    env = template_environment(
        False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml"] = yaml_scalar
    env.filters["bibtex"] = bibtex_escape
    env.filters["braced"] = braced
    return env


def render(template: str, cite: Citation, env: jinja2.Environment | None = None) -> str:
    """TEMPLATE rendered for CITE, in ENV (`environment`: a caller rendering many citations
    passes one, so each template is compiled once)."""
    return (env or environment()).get_template(template).render(cite=cite)


def render_cff(cite: Citation, env: jinja2.Environment | None = None) -> str:
    return render("CITATION.cff.j2", cite, env)


def render_text(cite: Citation, env: jinja2.Environment | None = None) -> str:
    return render("cite.txt.j2", cite, env).strip()


def render_bibtex(cite: Citation, env: jinja2.Environment | None = None) -> str:
    return render("cite.bib.j2", cite, env).strip() + "\n"


def render_bib_file(cite: Citation, env: jinja2.Environment | None = None) -> str:
    """CITATION.bib: the release, then each upstream file it cites."""
    return render("CITATION.bib.j2", cite, env).strip() + "\n"
