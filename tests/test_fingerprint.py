"""A no-op publish is recognised by the fingerprint of its inputs; anything else builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Project, copy_first_release

from pipeline.cli import cli
from pipeline.core.errors import ReleaseError
from pipeline.release.fingerprint import (
    declared_version,
    fingerprint_of,
    remember,
    unchanged_release,
)
from pipeline.stages import publish_release


def test_a_publish_records_its_fingerprint_and_a_no_op_finds_it(
    project: Project, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    first = publish_release(project.sources, project.schemas, output)
    assert first.status == "published"
    fingerprint = fingerprint_of(project.sources, project.schemas, output)
    assert fingerprint is not None and fingerprint.version == first.version
    same = unchanged_release(output, fingerprint)
    assert same is not None and same.status == "unchanged"
    assert publish_release(project.sources, project.schemas, output).status == "unchanged"
    assert (output / ".cache" / "fingerprints.json").is_file()


def test_a_changed_source_takes_the_full_way_and_is_refused(
    project: Project, tmp_path: Path
) -> None:
    output = copy_first_release(tmp_path / "out")  # published from these sources
    before = fingerprint_of(project.sources, project.schemas, output)
    project.edit("pcns.csv", "MPA PCN", "MPA PRIMARY CARE NETWORK")
    project.edit("pcn_names.csv", "MPA PCN", "MPA PRIMARY CARE NETWORK")
    after = fingerprint_of(project.sources, project.schemas, output)
    assert before is not None and after is not None and before.digest != after.digest
    assert unchanged_release(output, after) is None
    with pytest.raises(ReleaseError, match="already published .* with different content"):
        publish_release(project.sources, project.schemas, output)


def test_a_changed_schema_changes_the_fingerprint(project: Project, tmp_path: Path) -> None:
    before = fingerprint_of(project.sources, project.schemas, tmp_path)
    project.edit("schemas/pcns.schema.yaml", "description:", "description: Changed.", 1)
    assert before != fingerprint_of(project.sources, project.schemas, tmp_path)


def test_a_release_whose_descriptor_changed_is_not_taken_as_unchanged(
    project: Project, tmp_path: Path
) -> None:
    output = copy_first_release(tmp_path / "out")
    fingerprint = fingerprint_of(project.sources, project.schemas, output)
    assert fingerprint is not None and unchanged_release(output, fingerprint) is not None
    descriptor = output / fingerprint.version / "datapackage.json"
    descriptor.write_bytes(descriptor.read_bytes() + b" ")
    assert unchanged_release(output, fingerprint) is None
    remember(output, fingerprint)  # what a full compare that found it equal would record
    assert unchanged_release(output, fingerprint) is not None


def test_rebuild_compares_every_byte_even_when_the_fingerprint_matches(
    project: Project, tmp_path: Path
) -> None:
    output = copy_first_release(tmp_path / "out")
    readme = output / "1.0.0" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "tampered\n", encoding="utf-8")
    args = ["--sources", str(project.sources), "--schemas", str(project.schemas)]
    fast = CliRunner().invoke(cli, ["publish", *args, "--output", str(output)])
    assert fast.exit_code == 0 and "already published" in fast.output
    full = CliRunner().invoke(cli, ["publish", *args, "--output", str(output), "--rebuild"])
    assert full.exit_code == 1
    assert "different content" in full.output


def test_an_unreadable_record_is_no_record(project: Project, tmp_path: Path) -> None:
    output = copy_first_release(tmp_path / "out")
    record = output / ".cache" / "fingerprints.json"
    record.write_text("{not json", encoding="utf-8")
    fingerprint = fingerprint_of(project.sources, project.schemas, output)
    assert fingerprint is not None and unchanged_release(output, fingerprint) is None
    assert publish_release(project.sources, project.schemas, output).status == "unchanged"
    assert record.read_text(encoding="utf-8") == "{not json"  # a no-op writes nothing


def test_a_release_published_without_a_record_takes_the_full_way(
    project: Project, tmp_path: Path
) -> None:
    """A fresh clone holds the committed releases, not the cache: the no-op builds and compares,
    and leaves the output as it was."""
    output = copy_first_release(tmp_path / "out")
    (output / ".cache" / "fingerprints.json").unlink()
    (output / ".cache").rmdir()
    assert publish_release(project.sources, project.schemas, output).status == "unchanged"
    assert not (output / ".cache").exists()


@pytest.mark.parametrize(
    "text",
    [
        'version: "1.0.1\\n"\n',
        "version: [1, 0]\n",
        "- not a mapping\n",
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        + "".join(
            f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "version: 1.0.0\n",
    ],
)
def test_the_fast_path_reads_only_a_plain_version(tmp_path: Path, text: str) -> None:
    """A version it cannot read plainly (or a file the bounded loader refuses, such as an alias
    bomb) sends the publish the full way, where validation words the problem."""
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "package.yaml").write_text(text, encoding="utf-8")
    assert declared_version(sources) is None


def test_the_fast_path_reads_a_plain_version(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "package.yaml").write_text("name: x\nversion: 2.1.0\n", encoding="utf-8")
    assert declared_version(sources) == "2.1.0"
