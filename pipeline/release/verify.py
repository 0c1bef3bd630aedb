"""Verify everything that is published: each release (every file's size and SHA-256 against its
descriptor, nothing missing or extra, its name and version against its folder and zip, each zip
exactly its release, frictionless's own validation, each JSON table checked equal to its CSV
twin), and the catalogue beside the releases
(`catalog.json`, `CHANGELOG.md`, the site), which must be exactly what the releases regenerate.

A tampered or malformed file is a finding, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.archive import (
    STAGING_PREFIX,
    find_releases,
    package_name,
    read_descriptor,
    zip_name,
)
from pipeline.build.tables import CSV_DIALECT  # the dialect a publish gives every CSV
from pipeline.changes.changelog import CHANGELOG, cumulative_changelog
from pipeline.core.errors import ReleaseError
from pipeline.core.files import display_path, dump_json, file_sha256, sha256_bytes
from pipeline.core.issues import Issue
from pipeline.release.bundle import build_zip
from pipeline.release.catalog import CATALOG, catalog
from pipeline.site.pages import PAGES, render_site

# What a tampered descriptor or folder can make a rebuild raise: each becomes a finding.
REBUILD_ERRORS = (ReleaseError, KeyError, TypeError, ValueError, AttributeError, OSError)
CATALOGUE = "catalogue"  # the key of the catalogue's findings in `verify`'s result
CATALOGUE_ADVICE = (
    "The catalogue is rebuilt from the releases: once every release verifies, run ics-data site."
)


def descriptor_problems(descriptor: dict[str, Any], file: str) -> list[Issue]:
    """The shape a release descriptor must have before its entries can be checked."""
    problems = []
    files = descriptor.get("files")
    if not isinstance(files, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("path"), str)
        and isinstance(f.get("bytes"), int)
        and isinstance(f.get("hash"), str)
        for f in files
    ):
        problems.append(
            Issue(file, 0, "malformed-descriptor", "`files` must list {path, bytes, hash} entries")
        )
    resources = descriptor.get("resources")
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        problems.append(Issue(file, 0, "malformed-descriptor", "`resources` must be a list"))
    for key in ("name", "version"):
        if not isinstance(descriptor.get(key), str):
            problems.append(Issue(file, 0, "malformed-descriptor", f"`{key}` must be text"))
    return problems


def inside(path: str) -> bool:
    """A listed path stays inside its release (a tampered `../x` would be read elsewhere)."""
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in path


def verify_release(release: Path, package_name: str | None = None) -> list[Issue]:
    """Every file's size and SHA-256 against datapackage.json; nothing missing or extra (files,
    links or empty folders); the descriptor's version is its folder's name (and its name the
    package's); then frictionless validates the package as a researcher's copy would."""
    file = display_path(release / "datapackage.json")
    try:
        descriptor = read_descriptor(release)
    except ReleaseError as exc:
        return [Issue(file, 0, "missing-file", exc.message)]
    issues = descriptor_problems(descriptor, file)
    if issues:
        return issues
    if descriptor["version"] != release.name:
        issues.append(
            Issue(
                file,
                0,
                "version-mismatch",
                f"the descriptor says version {descriptor['version']!r}, its folder is "
                f"{release.name!r}: a release was moved or swapped",
            )
        )
    if package_name is not None and descriptor["name"] != package_name:
        issues.append(
            Issue(
                file,
                0,
                "name-mismatch",
                f"the descriptor says name {descriptor['name']!r}, the catalogue's package is "
                f"{package_name!r}",
            )
        )
    listed: dict[str, dict[str, Any]] = {}
    for entry in descriptor["files"]:
        if not inside(entry["path"]):
            issues.append(
                Issue(file, 0, "malformed-descriptor", f"{entry['path']!r} is not in the release")
            )
        else:
            listed[entry["path"]] = entry
    for resource in descriptor["resources"]:
        entry = listed.get(str(resource.get("path", "")))
        if entry is None:
            issues.append(
                Issue(
                    file,
                    0,
                    "missing-file",
                    f"resource {resource.get('name')} is not in the file list",
                )
            )
        elif resource.get("hash") != entry["hash"]:
            issues.append(
                Issue(
                    file,
                    0,
                    "hash-mismatch",
                    f"resource {resource.get('name')} hash differs from its file entry",
                )
            )
    for path, entry in sorted(listed.items()):
        issues.extend(_check_file(release / path, entry))
    for target in sorted(release.rglob("*")):
        rel = target.relative_to(release).as_posix()
        if target.is_symlink() or not (target.is_file() or target.is_dir()):
            issues.append(
                Issue(display_path(target), 0, "extra-file", "not a regular file of the release")
            )
        elif target.is_dir() and not any(target.iterdir()):
            issues.append(
                Issue(display_path(target), 0, "extra-file", "an empty folder in the release")
            )
        elif target.is_file() and rel != "datapackage.json" and rel not in listed:
            issues.append(
                Issue(
                    display_path(target),
                    0,
                    "extra-file",
                    "not part of the release (not listed in datapackage.json)",
                )
            )
    if not issues:
        issues.extend(_frictionless(release, file))
    return issues


# The descriptors (by SHA-256 of their bytes) that frictionless found valid in this process. Its
# verdict is a function of the bytes it reads: the descriptor, and the files it lists, which have
# already matched the descriptor's own hashes with nothing extra beside them. So the same
# descriptor bytes, valid once, are valid again, wherever the folder is (a library caller or a
# test verifying copies of one release pays for frictionless once).
_FOUND_VALID: set[str] = set()


def _check_file(target: Path, entry: dict[str, Any]) -> list[Issue]:
    if target.is_symlink() or not target.is_file():
        return [
            Issue(display_path(target), 0, "missing-file", "listed in datapackage.json but missing")
        ]
    issues = []
    size = target.stat().st_size
    if size != entry["bytes"]:
        issues.append(
            Issue(
                display_path(target),
                0,
                "byte-count",
                f"{size} bytes, datapackage.json says {entry['bytes']}",
            )
        )
    digest = f"sha256:{file_sha256(target)}"
    if digest != entry["hash"]:
        issues.append(
            Issue(
                display_path(target),
                0,
                "hash-mismatch",
                f"SHA-256 is {digest[7:19]}..., datapackage.json says "
                f"{entry['hash'][7:19]}...; the file was changed",
            )
        )
    return issues


def _frictionless(release: Path, file: str) -> list[Issue]:
    """frictionless's validation of the package. Each JSON table that is its CSV twin's data
    (same schema; `json_twins`) is checked as equal, cell by cell, to the CSV as frictionless
    types it, and frictionless validates the CSV tables: a JSON table equal to a valid CSV
    under the same schema is valid, and reading it again took a third of verify's time. Any
    other layout is validated by frictionless whole."""
    from frictionless import FrictionlessException, Package  # loaded by the commands that check

    raw = (release / "datapackage.json").read_bytes()
    descriptor_digest = sha256_bytes(raw)
    if descriptor_digest in _FOUND_VALID:
        return []
    issues = []
    try:
        descriptor = json.loads(raw)
        twins = json_twins(descriptor)
        if twins is None:
            package = Package(str(release / "datapackage.json"))
        else:
            resources = [r for r in descriptor["resources"] if r.get("format") != "json"]
            package = Package({**descriptor, "resources": resources}, basepath=str(release))
        report = package.validate()
    except (FrictionlessException, ValueError) as exc:  # a descriptor it cannot even open
        return [Issue(file, 0, "malformed-descriptor", f"frictionless cannot open it: {exc}")]
    for task in report.tasks:
        for error in task.errors:
            row = getattr(error, "row_number", None) or 0
            issues.append(
                Issue(
                    display_path(release / task.place) if task.place else file,
                    row,
                    error.type,
                    error.message,
                    task.name,
                )
            )
    for error in report.errors:
        issues.append(Issue(file, 0, error.type, error.message))
    for json_resource, csv_resource in twins or []:
        issues.extend(json_equals_csv(release, json_resource, csv_resource))
    if not issues:
        _FOUND_VALID.add(descriptor_digest)
    return issues


# The twin layout exactly as a publish writes it: anything else (a dialect on a JSON table, a
# compression, a scheme, a CSV dialect of its own, a schema by path) is validated by frictionless
# whole, since the comparison below only stands in for frictionless on this layout.
JSON_KEYS = {"name", "type", "title", "description", "path", "format", "mediatype", "encoding"}
CSV_KEYS = JSON_KEYS | {"bytes", "dialect"}


def json_twins(descriptor: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]] | None:
    """(JSON resource, CSV resource) for every JSON table, when the package is in the twin
    layout a publish writes: each JSON table `data/X.json` named `X-json`, with only the keys
    a publish gives it, beside a CSV resource `data/X.csv` named `X` with the publisher's
    dialect and the very same schema (its foreign keys naming the JSON twins of the CSV tables
    the CSV's name); resource names unique. None for any other package (frictionless then
    validates the JSON tables itself)."""
    resources = descriptor.get("resources")
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        return None
    names = [r.get("name") for r in resources]
    if len(set(map(str, names))) != len(names):
        return None
    by_path = {r.get("path"): r for r in resources}
    twins = []
    for resource in resources:
        if resource.get("format") != "json":
            if not _plain_csv(resource):
                return None
            continue
        path, name, schema = resource.get("path"), resource.get("name"), resource.get("schema")
        if not (isinstance(path, str) and path.startswith("data/") and path.endswith(".json")):
            return None
        stem = path[len("data/") : -len(".json")]
        twin = by_path.get(f"data/{stem}.csv")
        if (
            twin is None
            or name != f"{stem}-json"
            or twin.get("name") != stem
            or not isinstance(schema, dict)
            or set(resource) - JSON_KEYS - {"hash", "schema"}
            or resource.get("type", "table") != "table"
            or resource.get("mediatype", "application/json") != "application/json"
            or resource.get("encoding", "utf-8") != "utf-8"
            or twin.get("schema") != _as_csv_schema(schema)
        ):
            return None
        for key in schema.get("foreignKeys") or []:
            target = key.get("reference", {}).get("resource") if isinstance(key, dict) else None
            if target not in (None, "", name) and not (
                isinstance(target, str)
                and target.endswith("-json")
                and target in names
                and target[: -len("-json")] in names
            ):
                return None  # a foreign key to a table that is not a JSON twin
        twins.append((resource, twin))
    return twins


def _plain_csv(resource: dict[str, Any]) -> bool:
    """A CSV resource as a publish writes it: the keys, the dialect, UTF-8, a schema."""
    return (
        resource.get("format") == "csv"
        and not set(resource) - CSV_KEYS - {"hash", "schema"}
        and resource.get("dialect", CSV_DIALECT) == CSV_DIALECT
        and resource.get("encoding", "utf-8") == "utf-8"
        and resource.get("type", "table") == "table"
        and isinstance(resource.get("schema"), dict)
    )


def _as_csv_schema(schema: object) -> object:
    """A JSON table's schema as its CSV twin's: its foreign keys name the JSON tables
    (`X-json`), the twin's the CSV ones (with equal data, one set holds if the other does)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("foreignKeys"), list):
        return schema
    keys = []
    for key in schema["foreignKeys"]:
        reference = key.get("reference") if isinstance(key, dict) else None
        target = reference.get("resource") if isinstance(reference, dict) else None
        if isinstance(reference, dict) and isinstance(target, str) and target.endswith("-json"):
            key = {**key, "reference": {**reference, "resource": target[: -len("-json")]}}
        keys.append(key)
    return {**schema, "foreignKeys": keys}


def _same(json_value: Any, csv_value: Any) -> bool:
    """Equal values, a boolean never equal to a number; numbers equal as the JSON writer keeps
    them (a float: 17 digits)."""
    if isinstance(json_value, bool) != isinstance(csv_value, bool):
        return False
    if json_value == csv_value:
        return True
    numbers = (int, float, Decimal)
    if isinstance(json_value, numbers) and isinstance(csv_value, numbers):
        return float(json_value) == float(csv_value)
    return False


def _typed(reader: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, bool]]:
    """A cell as frictionless types it for its field: (value, whether the reader had a note);
    a JSON cell and a CSV cell are the same data when these are equal (frictionless reads both
    through the same readers; a number may come back as an int from JSON and a Decimal from
    CSV, equal as numbers). Remembers the cells it has typed, by type and value: unlike the
    text cells `check.tables.remembering` keeps, JSON's `1`, `1.0` and `true` are equal keys."""
    seen: dict[tuple[type, Any], tuple[Any, bool]] = {}

    def typed(cell: Any) -> tuple[Any, bool]:
        try:
            key = (type(cell), cell)
            found = seen.get(key)
        except TypeError:  # a list or an object in the JSON: typed each time
            key, found = None, None
        if found is None:
            value, notes = reader(cell)
            found = (value, bool(notes))
            if key is not None and len(seen) < 50_000:
                seen[key] = found
        return found

    return typed


def json_equals_csv(
    release: Path, json_resource: dict[str, Any], csv_resource: dict[str, Any]
) -> list[Issue]:
    """The JSON table holds exactly the CSV table's rows, each value the JSON form of the CSV
    cell as frictionless types it (the writer's `json_value`); an empty table is the header."""
    import csv
    import io

    from pipeline.build.cells import cell_reader

    where = display_path(release / json_resource["path"])
    fields = [f for f in csv_resource["schema"].get("fields", []) if isinstance(f, dict)]
    names = [f.get("name") for f in fields]
    try:
        raw = (release / json_resource["path"]).read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            raise ValueError("it starts with a byte order mark, which JSON readers refuse")
        data = json.loads(raw.decode("utf-8"))  # strictly UTF-8, as the descriptor says
        text = (release / csv_resource["path"]).read_bytes().decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, csv.Error) as exc:
        message = f"cannot be read as UTF-8 JSON: {str(exc)[:200]}"
        return [Issue(where, 0, "json-differs", message, json_resource["name"])]
    if not rows:
        if data == [names]:
            return []
        return [
            Issue(
                where,
                0,
                "json-differs",
                f"its CSV twin {csv_resource['path']} has no rows; an empty JSON table is its "
                "header alone",
                json_resource["name"],
            )
        ]
    if not isinstance(data, list) or len(data) != len(rows):
        count = len(data) if isinstance(data, list) else "no"
        return [
            Issue(
                where,
                0,
                "json-differs",
                f"{count} rows; its CSV twin {csv_resource['path']} has {len(rows)}",
                json_resource["name"],
            )
        ]
    readers = [(str(name), _typed(cell_reader(f))) for name, f in zip(names, fields, strict=True)]
    for number, (row, item) in enumerate(zip(rows, data, strict=True), start=1):
        if not isinstance(item, dict) or list(item) != names or len(row) != len(names):
            return [
                Issue(
                    where,
                    number,
                    "json-differs",
                    f"row {number} does not have the fields of {csv_resource['path']}, in "
                    "their order",
                    json_resource["name"],
                )
            ]
        for (name, typed), cell in zip(readers, row, strict=True):
            (json_value, json_note), (csv_value, csv_note) = typed(item[name]), typed(cell)
            if json_note or json_note != csv_note or not _same(json_value, csv_value):
                return [
                    Issue(
                        where,
                        number,
                        "json-differs",
                        f"row {number}, {name}: {item[name]!r} where its CSV twin "
                        f"{csv_resource['path']} has {cell!r}",
                        json_resource["name"],
                        name,
                    )
                ]
    return []


def verify(output: Path, version: str | None = None) -> dict[str, list[Issue]]:
    """The findings of each release (or of VERSION alone), by version."""
    releases = find_releases(output)
    if version is not None:
        releases = [r for r in releases if r.version == version]
        if not releases:
            raise ReleaseError(
                f"no release {version} in {display_path(output)}",
                hint="ics-data releases lists the published versions",
            )
    name = package_name(output)
    results = {r.version: verify_release(r.path, name) for r in releases}
    for version_name, problems in verify_zips(output).items():
        if version_name in results:
            results[version_name].extend(problems)
    for version_name, problems in verify_recorded_hashes(output).items():
        if version_name in results:
            results[version_name].extend(problems)
    return results


def verify_zips(output: Path) -> dict[str, list[Issue]]:
    """Each release's zip, named by its descriptor's name and version, holds exactly the
    release's files, byte for byte."""
    out: dict[str, list[Issue]] = {}
    for info in find_releases(output):
        try:
            descriptor = read_descriptor(info.path)
        except ReleaseError:
            continue  # verify_release reports the missing descriptor of this release
        name = str(descriptor.get("name", ""))
        path = output / zip_name(name, info.version)
        problems: list[Issue] = []
        if not path.is_file():
            problems.append(
                Issue(display_path(path), 0, "missing-file", "the release zip is missing")
            )
        else:
            expected = {
                p.relative_to(info.path).as_posix(): p.read_bytes()
                for p in info.path.rglob("*")
                if p.is_file() and not p.is_symlink()
            }
            if path.read_bytes() != build_zip(expected, f"{name}-{info.version}"):
                problems.append(
                    Issue(
                        display_path(path),
                        0,
                        "hash-mismatch",
                        "the zip does not hold exactly the release's files",
                    )
                )
        out[info.version] = problems
    return out


def verify_recorded_hashes(output: Path) -> dict[str, list[Issue]]:
    """Each release's datapackage.json has the SHA-256 that catalog.json recorded for it: a
    release whose data, descriptor and zip were all rewritten together still differs here."""
    try:
        data = json.loads((output / CATALOG).read_text(encoding="utf-8"))
        entries = data["releases"] if isinstance(data, dict) else []
        recorded = {str(e["version"]): str(e["datapackage_sha256"]) for e in entries}
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # verify_catalogue reports catalog.json itself
    out: dict[str, list[Issue]] = {}
    for info in find_releases(output):
        package = info.path / "datapackage.json"
        if info.version not in recorded or not package.is_file():
            continue
        actual = file_sha256(package)
        if actual != recorded[info.version]:
            out[info.version] = [
                Issue(
                    display_path(package),
                    0,
                    "hash-mismatch",
                    f"SHA-256 is {actual[:12]}..., {CATALOG} recorded "
                    f"{recorded[info.version][:12]}... when it was published; the release was "
                    "changed after publication",
                )
            ]
    return out


def verify_catalogue(output: Path) -> list[Issue]:
    """catalog.json, CHANGELOG.md and the site (index.html, releases/<version>.html,
    dcat.jsonld) are byte for byte what the releases regenerate; nothing is left over."""
    issues: list[Issue] = []
    name = package_name(output) or ""
    expected: dict[str, bytes] = {}
    builders: list[tuple[str, Callable[[], dict[str, bytes]]]] = [
        (CATALOG, lambda: {CATALOG: dump_json(catalog(output, name))}),
        (CHANGELOG, lambda: {CHANGELOG: cumulative_changelog(output).encode("utf-8")}),
        ("the site", lambda: render_site(output)),
    ]
    for label, build in builders:
        try:
            expected.update(build())
        except REBUILD_ERRORS as exc:
            issues.append(
                Issue(
                    display_path(output),
                    0,
                    "unverifiable",
                    f"{label} cannot be rebuilt from the releases ({type(exc).__name__}: {exc})",
                )
            )
    for path, content in sorted(expected.items()):
        target = output / path
        where = display_path(target)
        if target.is_symlink() or not target.is_file():
            issues.append(Issue(where, 0, "missing-file", "the releases give this file"))
        elif target.read_bytes() != content:
            issues.append(
                Issue(
                    where,
                    0,
                    "hash-mismatch",
                    "not what the releases give: it was changed, or a publish was interrupted "
                    "before it was rewritten",
                )
            )
    pages = output / PAGES
    if pages.is_dir():
        for page in sorted(pages.iterdir()):
            if f"{PAGES}/{page.name}" not in expected:
                issues.append(
                    Issue(display_path(page), 0, "extra-file", "no release gives this page")
                )
    for stray in sorted(output.glob(f"{STAGING_PREFIX}*")):
        issues.append(Issue(display_path(stray), 0, "extra-file", "left by an interrupted publish"))
    return issues
