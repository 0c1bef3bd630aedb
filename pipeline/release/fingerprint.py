"""A no-op publish in a blink: the fingerprint of everything a release's bytes depend on (the
sources, the schemas, the pipeline's own code and templates, the versions of the libraries that
write the files, the releases it is compared with), kept beside the releases in
`OUTPUT/.cache/`, never inside one.

When the sources declare a version already published and the fingerprint recorded when it was
published is the same, the release is unchanged without building it.
Anything else (no record, another fingerprint, the release's descriptor changed) takes the full
way: build every file and compare bytes (`publish --rebuild` always does).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

from pipeline.archive import STAGING_PREFIX, find_releases
from pipeline.core.files import display_path, file_sha256
from pipeline.core.versions import VERSION, parse_version
from pipeline.release.result import PublishResult
from pipeline.sources.load import compose_yaml, read_text

CACHE = ".cache"
RECORD = "fingerprints.json"
# The libraries whose versions can change a published byte (their writers, their readers).
LIBRARIES = ("frictionless", "pyarrow", "xlsxwriter", "PyYAML", "Jinja2")
CODE = Path(__file__).resolve().parent.parent  # the pipeline package: code, templates, schemas


def inputs_fingerprint(sources: Path, schemas: Path, output: Path, version: str) -> str:
    """The SHA-256 of every input of the release VERSION's bytes."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    for folder, label in ((sources, "sources"), (schemas, "schemas"), (CODE, "code")):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            add(f"{label}/{path.relative_to(folder).as_posix()}", path.read_bytes())
    for name in LIBRARIES:
        try:
            add(f"lib/{name}", metadata.version(name).encode())
        except metadata.PackageNotFoundError:
            add(f"lib/{name}", b"-")
    add("python", f"{platform.python_implementation()} {sys.version_info[:2]}".encode())
    for info in find_releases(output):
        if parse_version(info.version) < parse_version(version):
            add(f"release/{info.version}", file_sha256(info.path / "datapackage.json").encode())
    return digest.hexdigest()


def _record_path(output: Path) -> Path:
    return output / CACHE / RECORD


def _read(output: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_record_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Fingerprint:
    """The inputs of the release VERSION, as one SHA-256."""

    version: str
    digest: str


def fingerprint_of(sources: Path, schemas: Path, output: Path) -> Fingerprint | None:
    """The fingerprint of the release the sources declare; None when package.yaml does not say
    which (a full build then reports why)."""
    version = declared_version(sources)
    if version is None or not schemas.is_dir():
        return None
    return Fingerprint(version, inputs_fingerprint(sources, schemas, output, version))


def declared_version(sources: Path) -> str | None:
    """The version package.yaml declares, read (through the bounded loader) without checking
    the rest: the fingerprint covers the file's bytes, which were validated in full when the
    release they name was published. None when it does not say one plainly."""
    path = sources / "package.yaml"
    text, problems = read_text(path)
    if text is None or problems:
        return None
    root, problems = compose_yaml(text, display_path(path))
    if root is None or problems or not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "version" and isinstance(value, yaml.ScalarNode):
            version = str(value.value)
            return version if VERSION.fullmatch(version) else None
    return None


def unchanged_release(output: Path, fingerprint: Fingerprint) -> PublishResult | None:
    """The published release, when it was published from these very inputs and its descriptor
    is the one it had then; None when only a full build can tell."""
    version = fingerprint.version
    entry = _read(output).get(version)
    target = output / version
    if not isinstance(entry, dict) or entry.get("inputs") != fingerprint.digest:
        return None
    try:
        if entry.get("datapackage_sha256") != file_sha256(target / "datapackage.json"):
            return None
    except OSError:
        return None
    files = sum(1 for path in target.rglob("*") if path.is_file())
    return PublishResult(version, target, "unchanged", files)


def remember(output: Path, fingerprint: Fingerprint) -> None:
    """Record that the published release is what these inputs build (a cache: best effort)."""
    version = fingerprint.version
    data = _read(output)
    try:
        data[version] = {
            "inputs": fingerprint.digest,
            "datapackage_sha256": file_sha256(output / version / "datapackage.json"),
        }
        folder = output / CACHE
        folder.mkdir(exist_ok=True)
        temporary = folder / f"{STAGING_PREFIX}{RECORD}-{os.getpid()}"
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, _record_path(output))
    except OSError:
        pass  # without the record, the next publish takes the full way: slower, never wrong
