"""`OUTPUT/catalog.json`: every release, its date, the SHA-256 of its descriptor and its files,
rebuilt from the release folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.archive import STAGING_PREFIX, find_releases, read_descriptor, zip_name
from pipeline.core.files import display_path, dump_json, file_sha256, write_if_changed

CATALOG = "catalog.json"


def catalog(output: Path, name: str) -> dict[str, Any]:
    releases = []
    for info in find_releases(output):
        descriptor = read_descriptor(info.path)
        files = [
            {"path": f"{info.version}/{f['path']}", "bytes": f["bytes"], "hash": f["hash"]}
            for f in descriptor.get("files", [])
        ]
        package = info.path / "datapackage.json"
        entry: dict[str, Any] = {
            "version": info.version,
            "created": descriptor.get("created"),
            "title": descriptor.get("title"),
            "path": f"{info.version}/datapackage.json",
            "datapackage_sha256": file_sha256(package),
            "files": [
                {
                    "path": f"{info.version}/datapackage.json",
                    "bytes": package.stat().st_size,
                    "hash": f"sha256:{file_sha256(package)}",
                },
                *files,
            ],
        }
        zip_path = output / zip_name(str(descriptor.get("name", name)), info.version)
        if zip_path.exists():
            entry["zip"] = {
                "path": zip_path.name,
                "bytes": zip_path.stat().st_size,
                "hash": f"sha256:{file_sha256(zip_path)}",
            }
        releases.append(entry)
    return {
        "name": name,
        "latest": releases[-1]["version"] if releases else None,
        "releases": releases,
    }


def write_catalog(output: Path, name: str) -> list[Path]:
    """catalog.json lists every release; it is rebuilt from the release folders each time, and
    written only when that changes it (the file, if written)."""
    data = dump_json(catalog(output, name))
    target = output / CATALOG
    return [target] if write_if_changed(target, data, output / f"{STAGING_PREFIX}{CATALOG}") else []


def release_rows(output: Path) -> list[dict[str, Any]]:
    rows = []
    for info in find_releases(output):
        descriptor = read_descriptor(info.path)
        size = sum(p.stat().st_size for p in info.path.rglob("*") if p.is_file())
        resources = descriptor.get("resources")  # a damaged descriptor is verify's to name
        rows.append(
            {
                "version": info.version,
                "created": str(descriptor.get("created", ""))[:10],
                "resources": len(resources) if isinstance(resources, list) else 0,
                "bytes": size,
                "path": display_path(info.path),
            }
        )
    return rows
