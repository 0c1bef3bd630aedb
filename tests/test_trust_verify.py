"""`ics-data verify` checks everything that is published (issue 10, case 6): after each tampering
it exits 1 naming the file; a malformed descriptor is a finding, never a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import GOLDEN_PROJECT, copy_small_first_release
from shipped import shipped_output
from test_publish import copy_project, publish_args, set_version

from pipeline.cli import cli
from pipeline.core.files import file_sha256
from pipeline.release.bundle import build_zip
from pipeline.release.verify import verify_catalogue, verify_release

VERSION = "1.0.0"
NAME = "kent-medway-ics"


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture
def output(tmp_path: Path) -> Path:
    """A copy of the golden project's first release, for one test to tamper with: what verify
    finds does not depend on the size of the data (the shipped release verifies whole below)."""
    return copy_small_first_release(tmp_path / "output")


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    target = tmp_path / "shipped"
    shutil.copytree(shipped_output(), target)
    return target


def flip(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data, (path, old)
    path.write_bytes(data.replace(old, new, 1))


def rezip(output: Path, folder: Path, version: str) -> None:
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    (output / f"{NAME}-{version}.zip").write_bytes(build_zip(files, f"{NAME}-{version}"))


def rewrite_together(output: Path) -> str:
    """Data, descriptor hashes and zip all rewritten to agree: only catalog.json remembers."""
    folder = output / VERSION
    path = folder / "data" / "pcns.csv"
    flip(path, b"GARDEN CITY PCN", b"GARDEN TOWN PCN")
    descriptor = json.loads((folder / "datapackage.json").read_text("utf-8"))
    for entry in [*descriptor["files"], *descriptor["resources"]]:
        if entry["path"] == "data/pcns.csv":
            entry["hash"] = f"sha256:{file_sha256(path)}"
            entry["bytes"] = path.stat().st_size
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), "utf-8")
    rezip(output, folder, VERSION)
    return f"{VERSION}/datapackage.json"


def top_level(name: str, old: bytes, new: bytes) -> Callable[[Path], str]:
    def damage(output: Path) -> str:
        flip(output / name, old, new)
        return name

    damage.__name__ = f"tamper_{name}"
    return damage


def malformed(key: str, value: object) -> Callable[[Path], str]:
    def damage(output: Path) -> str:
        path = output / VERSION / "datapackage.json"
        descriptor = json.loads(path.read_text("utf-8"))
        descriptor[key] = value
        path.write_text(json.dumps(descriptor), "utf-8")
        return f"{VERSION}/datapackage.json"

    return damage


def empty_folder(output: Path) -> str:
    (output / VERSION / "data" / "spare").mkdir()
    return f"{VERSION}/data/spare"


def link_in_release(output: Path) -> str:
    (output / VERSION / "data" / "passwd.csv").symlink_to("/etc/passwd")
    return f"{VERSION}/data/passwd.csv"


def stray_staging(output: Path) -> str:
    (output / ".staging-site-index.html").write_bytes(b"")
    return ".staging-site-index.html"


def stale_page(output: Path) -> str:
    (output / "releases" / "9.9.9.html").write_text("<p>gone</p>", "utf-8")
    return "releases/9.9.9.html"


def escape_listing(output: Path) -> str:
    path = output / VERSION / "datapackage.json"
    descriptor = json.loads(path.read_text("utf-8"))
    descriptor["files"].append({"path": "../catalog.json", "bytes": 1, "hash": "sha256:0"})
    path.write_text(json.dumps(descriptor), "utf-8")
    return f"{VERSION}/datapackage.json"


DAMAGES = [
    (top_level("catalog.json", b'"latest": "1.0.0"', b'"latest": "1.0.9"'), "hash-mismatch"),
    (top_level("index.html", b"<h1", b"<h2"), "hash-mismatch"),
    (top_level("releases/1.0.0.html", b"<h1", b"<h2"), "hash-mismatch"),
    (top_level("dcat.jsonld", b"dcat:Catalog", b"dcat:Catalos"), "hash-mismatch"),
    (top_level("CHANGELOG.md", b"# Changelog", b"# Changelob"), "hash-mismatch"),
    (rewrite_together, "hash-mismatch"),
    (malformed("files", 5), "malformed-descriptor"),
    (malformed("files", [{"path": 5}]), "malformed-descriptor"),
    (malformed("resources", "x"), "malformed-descriptor"),
    (malformed("version", "1.0.1"), "version-mismatch"),
    (malformed("name", "other"), "name-mismatch"),
    (empty_folder, "extra-file"),
    (link_in_release, "extra-file"),
    (stray_staging, "extra-file"),
    (stale_page, "extra-file"),
    (escape_listing, "malformed-descriptor"),
]


@pytest.mark.parametrize(("damage", "code"), DAMAGES, ids=lambda d: getattr(d, "__name__", d))
def test_verify_exits_1_naming_the_file(
    output: Path, damage: Callable[[Path], str], code: str
) -> None:
    name = damage(output)
    status, text = run("verify", "--output", output)
    assert status == 1, text
    assert any(name in line and f"[{code}]" in line for line in text.splitlines()), text
    assert "Traceback" not in text


def test_the_shipped_output_verifies_whole(shipped: Path) -> None:
    assert run("verify", "--output", shipped) == (0, f"{VERSION}: ok\ncatalogue: ok\n")
    assert verify_catalogue(shipped) == []


def test_swapped_releases_with_rebuilt_zips_are_found(tmp_path: Path, output: Path) -> None:
    sources, schemas = copy_project(tmp_path / "project", GOLDEN_PROJECT)
    set_version(sources, "1.1.0")
    result = CliRunner().invoke(cli, [str(a) for a in publish_args(output, sources, schemas)])
    assert result.exit_code == 0, result.output
    (output / VERSION).rename(output / "swap")
    (output / "1.1.0").rename(output / VERSION)
    (output / "swap").rename(output / "1.1.0")
    for version in (VERSION, "1.1.0"):
        rezip(output, output / version, version)
    status, text = run("verify", "--output", output)
    assert status == 1
    for version in (VERSION, "1.1.0"):
        assert any(
            f"{version}/datapackage.json" in line and "[version-mismatch]" in line
            for line in text.splitlines()
        ), text


def test_a_descriptor_that_is_not_json_is_a_finding(output: Path) -> None:
    (output / VERSION / "datapackage.json").write_bytes(b"{\x00not json")
    assert [i.code for i in verify_release(output / VERSION)] == ["missing-file"]
    status, text = run("verify", "--output", output)
    assert status == 1 and "Traceback" not in text and "unverifiable" in text
