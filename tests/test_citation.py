"""How a release is cited (`build.citation`, `build.edition`): from edition 2, CITATION.cff and
CITATION.bib cite the release by name, version and date, the package's own `url` (never the
organisation's homepage) and each upstream file with its SHA-256 where the registry has one; a
release of edition 1 is cited exactly as it was published (the committed archive rebuilds byte
for byte, which `make check-data` checks)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import copy_small_project

from pipeline.build.citation import citation_from, render_bib_file, render_bibtex, render_cff
from pipeline.build.edition import edition_of

SHA = "06736278f6d74a95e7d367f0b22fc667cca69ec1aaed326f3519ec5c60944012"


def package(**extra: Any) -> dict[str, Any]:
    return {
        "name": "kent-medway-ics",
        "title": "NHS Kent and Medway ICS - structure",
        "description": "The structure.",
        "homepage": "https://www.kentandmedway.icb.nhs.uk/",
        "licenses": [{"name": "OGL-UK-3.0", "title": "Open Government Licence v3.0"}],
        "contributors": [{"title": "ics-data maintainers", "role": "author"}],
        "sources": [
            {"id": "EPCN25", "title": "NHS ODS ePCN.xlsx", "path": "https://a.uk/ePCN.xlsx",
             "vintage": "2025-01-20", "sha256": SHA},
            {"id": "KM-ICS", "title": "NHS Kent and Medway pages", "path": "https://b.uk/",
             "vintage": "2022-07-01"},
            {"id": "MAP-2026-12-01", "title": "gp-reg-pat-prac-map", "path": "map.zip"},
            {"id": "DERIVED", "title": "Derived by ics-data"},
        ],
        **extra,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("day", "edition"),
    [
        (date(2026, 11, 24), 1),
        ("2026-12-01T00:00:00Z", 1),
        (date(2026, 12, 2), 2),
        ("2027-01-05", 2),
    ],
)
def test_a_release_is_of_the_edition_of_its_date(day: date | str, edition: int) -> None:
    assert edition_of(day) == edition


def test_edition_2_cites_the_package_url_and_each_upstream_file_with_its_sha256() -> None:
    cite = citation_from(package(url="https://example.org/kent/"), "1.1.0", date(2026, 12, 4))
    cff = yaml.safe_load(render_cff(cite))
    assert (cff["title"], cff["version"], cff["date-released"]) == (
        "NHS Kent and Medway ICS - structure", "1.1.0", "2026-12-04"
    )  # fmt: skip
    assert cff["url"] == "https://example.org/kent/"
    assert cff["identifiers"][0]["value"] == "kent-medway-ics 1.1.0"
    references = {r["notes"].split()[1]: r for r in cff["references"]}
    assert list(references) == ["EPCN25", "KM-ICS", "MAP-2026-12-01"]  # files; DERIVED is none
    assert references["EPCN25"]["identifiers"] == [
        {
            "type": "other",
            "value": f"sha256:{SHA}",
            "description": "SHA-256 of the file as published",
        }
    ]
    assert references["EPCN25"]["url"] == "https://a.uk/ePCN.xlsx"
    assert references["EPCN25"]["version"] == "2025-01-20"
    assert "identifiers" not in references["KM-ICS"]  # no sha256 registered
    assert "url" not in references["MAP-2026-12-01"]  # a file's name is no address
    assert all(r["type"] == "data" and r["authors"] for r in cff["references"])

    bib = render_bib_file(cite)
    assert bib.startswith("% How to cite") and render_bibtex(cite) in bib
    assert "  url          = {https://example.org/kent/},\n" in bib
    assert "@misc{kent-medway-ics-1.1.0-EPCN25," in bib and f"SHA-256 {SHA}}}" in bib
    assert bib.count("@misc{") == 4


def test_edition_2_without_a_package_url_names_no_homepage_as_the_release_address() -> None:
    cite = citation_from(package(), "1.1.0", date(2026, 12, 4))
    assert "url" not in yaml.safe_load(render_cff(cite))
    assert "kentandmedway" not in render_bibtex(cite)


def test_edition_1_is_cited_as_published() -> None:
    cite = citation_from(package(url="https://example.org/kent/"), "1.0.0", date(2026, 11, 24))
    cff = yaml.safe_load(render_cff(cite))
    assert cff["url"] == "https://www.kentandmedway.icb.nhs.uk/" and "references" not in cff
    assert "url          = {https://www.kentandmedway.icb.nhs.uk/}" in render_bibtex(cite)


def test_package_yaml_may_declare_the_package_url(tmp_path: Path) -> None:
    project = copy_small_project(tmp_path / "project")
    project.edit("package.yaml", "homepage:", "url: https://example.org/kent/\nhomepage:")
    assert project.validate().report.ok
    project.edit("package.yaml", "url: https://example.org/kent/", "url: example.org/kent")
    line = project.line_of("package.yaml", "url: example.org")
    assert ("package.yaml", line, "url", "pattern") in project.flat()
