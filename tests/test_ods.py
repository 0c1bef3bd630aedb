"""The ODS readers of practices' legal lives (epraccur, in both layouts) and of successions
(succ): what they read from the national files, and a refusal naming the line and column for
every surprise in the format."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.upstream.columns import UpstreamFormatError
from pipeline.upstream.ods import read_epraccur, read_succ, succ_vintage

NATIONAL = Path(__file__).parent / "fixtures" / "national"
NEW = (
    '"{code}","A PRACTICE","Y59","QKS","","","","","","ME1 1AA","{open}","{close}","{status}",'
    '"B","91Q","20200401","","","","","","1","","91Q","","{role}",""'
)


def line(
    code: str = "G80001",
    open: str = "19740401",
    close: str = "",
    status: str = "ACTIVE",
    role: str = "RO76",
) -> str:
    return NEW.format(code=code, open=open, close=close, status=status, role=role)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "layout", "vintage", "practices"),
    [
        ("epraccur_2026-02-03.csv", "ods", date(2026, 2, 3), 8183),
        ("epraccur_2022-12-05.csv", "legacy", date(2022, 12, 5), 8640),
    ],
)
def test_both_layouts_read_the_same_way(
    name: str, layout: str, vintage: date, practices: int
) -> None:
    read = read_epraccur(NATIONAL / name)
    assert (read.layout, read.vintage, len(read.practices)) == (layout, vintage, practices)
    # BSW's practices that the mapping files lost: three closed on 2025-04-30, one dormant
    # (as published: the dormant one's ICB is Dorset's, its commissioner BSW's)
    if layout == "ods":
        lives = [read.practices[c] for c in ("L81064", "L81101", "Y03671")]
        assert {(life.status, life.close_date) for life in lives} == {("closed", date(2025, 4, 30))}
        dormant = read.practices["J81083"]
        assert (dormant.status, dormant.icb_code, dormant.commissioner) == ("dormant", "QVV", "92G")
    statuses = {life.status for life in read.practices.values()}
    assert statuses <= {"active", "closed", "dormant", "proposed"}
    assert all(
        (life.close_date is not None) == (life.status == "closed")
        for life in read.practices.values()
    )


def test_only_gp_practices_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "epraccur.csv"
    path.write_text(
        "\n".join([line("G80001"), line("Y00001", role="RO72"), line("G80002", status="DORMANT")]),
        encoding="utf-8",
    )
    read = read_epraccur(path)
    assert sorted(read.practices) == ["G80001", "G80002"]
    assert read.practices["G80002"].status == "dormant"


def legacy(code: str = "G80001", close: str = "", status: str = "A") -> str:
    return line(code, close=close, status=status, role="4")


@pytest.mark.parametrize(
    ("lines", "where", "problem"),
    [
        ([line(), legacy("G80002")], "line 2, column M", "one file is wholly one layout"),
        ([line(status="OPEN")], "line 1, column M", "status 'OPEN' is none of epraccur's"),
        ([line(status="INACTIVE")], "line 1, column L", "a closed practice with no close date"),
        ([legacy(status="C")], "line 1, column L", "a closed practice with no close date"),
        ([line(close="20200101")], "line 1, column L", "a close date on a practice whose status"),
        ([line(open="")], "line 1, column K", "no open date"),
        ([line(open="20200230")], "line 1, column K", "no such day"),
        ([line(open="2020-01-01")], "line 1, column K", "is not a YYYYMMDD date"),
        (
            [line(open="20200101", close="20191231", status="INACTIVE")],
            "line 1, column L",
            "closed before it opened",
        ),
        ([line(), line()], "line 2, column A", "practice G80001 is also on line 1"),
        (['"G80001","A PRACTICE","Y59"'], "line 1", "3 fields where epraccur has 27"),
        ([line(role="RO72")], "epraccur.csv", "no GP practice rows"),
    ],
)
def test_epraccur_surprises_name_line_and_column(
    tmp_path: Path, lines: list[str], where: str, problem: str
) -> None:
    path = tmp_path / "epraccur.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UpstreamFormatError) as raised:
        read_epraccur(path)
    assert where in str(raised.value) and problem in str(raised.value)


def test_succ_reads_the_mergers_of_2026() -> None:
    successions = read_succ(NATIONAL / "succ_2026-04-01.csv")
    assert succ_vintage(successions) == date(2026, 4, 1)
    surrey = sorted(s.old_code for s in successions if s.new_code == "S9B9J")
    assert surrey == ["QNQ", "QNX", "QXU"]
    frimley = sorted(s.new_code for s in successions if s.old_code == "QNQ")
    assert frimley == ["QRL", "S0E4D", "S9B9J"]
    sittingbourne = [s for s in successions if s.old_code == "U08744"]
    assert [(s.new_code, s.effective) for s in sittingbourne] == [("U37339", date(2020, 4, 1))]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('"QNX","S9B9J","","2026-04-01","0"\n', "line 1, column D", "is not a YYYYMMDD date"),
        ('"QNX","S9B9J","","","0"\n', "line 1, column D", "no effective date"),
        ('"QNX","QNX","","20260401","0"\n', "line 1, column B", "is no succession"),
        ('"","QNX","","20260401","0"\n', "line 1, column A", "is no succession"),
        ('"QNX","S9B9J"\n', "line 1", "2 fields where succ has 5"),
        ("\n", "succ.csv", "no succession rows"),
    ],
)
def test_succ_surprises_name_line_and_column(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = tmp_path / "succ.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UpstreamFormatError) as raised:
        read_succ(path)
    assert where in str(raised.value) and problem in str(raised.value)
