"""Upstream files are bounded (issue 10, case 5): a zip or xlsx that decompresses to more than
the limit, a sheet or CSV with too many rows or columns, stop with a clear message naming the
file, and `refresh` then changes nothing. Limits are lowered here so the bombs stay small."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Project

from pipeline.cli import cli
from pipeline.upstream import columns
from pipeline.upstream.columns import UpstreamFormatError
from pipeline.upstream.readers import read_epcn, read_gp_map

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"
MAP_CSV = FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.csv"
MAP_ZIP = FIXTURES / "gp-reg-pat-prac-map_2026-08-01_kent_medway.zip"
EPCN = FIXTURES / "epcn_2025-01-20_kent_medway.xlsx"
LIMIT = 1024 * 1024


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "MAX_UNCOMPRESSED", LIMIT)


def zip_bomb(path: Path, member: str, size: int, *, extra_from: Path | None = None) -> Path:
    """A zip whose MEMBER is SIZE bytes of one repeated line (a few KB compressed); with
    EXTRA_FROM, the other entries of that zip are kept (an xlsx with a huge sharedStrings)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if extra_from is not None:
            with zipfile.ZipFile(extra_from) as source:
                for info in source.infolist():
                    if info.filename != member:
                        archive.writestr(info, source.read(info))
        with archive.open(member, "w") as entry:
            line = b"<si><t>lol</t></si>" * 50 + b"\n"
            for _ in range(size // len(line) + 1):
                entry.write(line)
    return path


def test_a_zip_holding_a_huge_csv_is_refused(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "map.zip", "gp-reg-pat-prac-map.csv", 3 * LIMIT)
    assert bomb.stat().st_size < LIMIT / 10
    with pytest.raises(UpstreamFormatError, match="decompresses to more than 1 MB"):
        read_gp_map(bomb)


def test_an_xlsx_with_a_shared_strings_bomb_is_refused(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "ePCN.xlsx", "xl/sharedStrings.xml", 3 * LIMIT, extra_from=EPCN)
    with pytest.raises(UpstreamFormatError, match="decompresses to more than 1 MB") as caught:
        read_epcn(bomb)
    assert "ePCN.xlsx" in str(caught.value)


def test_a_plain_csv_over_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "map.csv"
    big.write_bytes(MAP_CSV.read_bytes() * (LIMIT // MAP_CSV.stat().st_size + 2))
    with pytest.raises(UpstreamFormatError, match="more than 1 MB"):
        read_gp_map(big)


def test_the_shipped_upstream_files_are_within_the_limits() -> None:
    assert read_gp_map(MAP_ZIP).rows and read_epcn(EPCN).pcns


@pytest.mark.parametrize("source", [MAP_CSV, MAP_ZIP])
def test_too_many_rows_are_refused_at_the_row(
    monkeypatch: pytest.MonkeyPatch, source: Path
) -> None:
    monkeypatch.setattr(columns, "MAX_ROWS", 5)
    with pytest.raises(UpstreamFormatError, match="more than 5 rows") as caught:
        read_gp_map(source)
    assert caught.value.row == 6


def test_too_many_rows_in_a_sheet_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "MAX_ROWS", 5)
    with pytest.raises(UpstreamFormatError, match="more than 5 rows") as caught:
        read_epcn(EPCN)
    assert caught.value.sheet and caught.value.row == 6


def test_too_many_columns_are_refused(tmp_path: Path) -> None:
    wide = tmp_path / "map.csv"
    lines = MAP_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    wide.write_text(lines[0].rstrip("\n") + ",X" * 600 + "\n" + "".join(lines[1:3]), "utf-8")
    with pytest.raises(UpstreamFormatError, match="more than 500"):
        read_gp_map(wide)


def test_refresh_with_a_bomb_changes_nothing(project: Project, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in project.sources.iterdir()}
    bomb = zip_bomb(tmp_path / "gp-reg-pat-prac-map.zip", "gp-reg-pat-prac-map.csv", 3 * LIMIT)
    args = ["refresh", "--gp-map", bomb, "--sources", project.sources]
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--schemas", project.schemas]])
    assert result.exit_code == 1 and "decompresses to more than" in result.stderr
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in project.sources.iterdir()} == before
