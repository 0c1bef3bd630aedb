"""Standard metadata for search engines and catalogues, from each release's datapackage.json:
schema.org `Dataset` (embedded in the release page) and a DCAT-AP style catalogue (dcat.jsonld).

URLs are relative (to the page, or to dcat.jsonld): the site works from disk and on any host,
and a JSON-LD processor resolves them against the address the document was fetched from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pipeline.core.text import link_target, local_target

DATA_PACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


class DownloadLike(Protocol):
    @property
    def path(self) -> str: ...  # relative to OUTPUT
    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def mediatype(self) -> str: ...
    @property
    def bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...


def _authors(descriptor: Mapping[str, Any]) -> list[str]:
    contributors = [c for c in descriptor.get("contributors", []) if isinstance(c, Mapping)]
    authors = [str(c["title"]) for c in contributors if c.get("role") == "author"]
    return authors or [str(c["title"]) for c in contributors if c.get("title")]


def _licence(descriptor: Mapping[str, Any]) -> Mapping[str, Any]:
    licences = descriptor.get("licenses") or [{}]
    return licences[0] if isinstance(licences[0], Mapping) else {}


def _url(value: object) -> str:
    """An http(s) URL, or a relative path (a file named before its address is known); else ""."""
    local = local_target(value)
    return link_target(value) or (local if local == value else "")


def dataset_jsonld(
    descriptor: Mapping[str, Any],
    downloads: Sequence[DownloadLike],
    prefix: str,
    variables: Sequence[str] = (),
) -> dict[str, Any]:
    """schema.org Dataset for one release; `prefix` turns an OUTPUT-relative path into a URL
    relative to the page ("../" for releases/<version>.html)."""
    licence = _licence(descriptor)
    released = str(descriptor.get("created", ""))[:10]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": descriptor["title"],
        "alternateName": descriptor["name"],
        "description": descriptor.get("description", ""),
        "version": descriptor["version"],
        "identifier": f"{descriptor['name']}-{descriptor['version']}",
        "datePublished": released,
        "license": link_target(licence.get("path")),
        "isAccessibleForFree": True,
        "keywords": list(descriptor.get("keywords", [])),
        "creator": [{"@type": "Organization", "name": name} for name in _authors(descriptor)],
        "creditText": descriptor.get("attribution"),
        "url": f"{descriptor['version']}.html",
        "isBasedOn": [
            {"@type": "CreativeWork", "name": s["title"], "url": _url(s.get("path"))}
            for s in descriptor.get("sources", [])
            if _url(s.get("path"))
        ],
        "variableMeasured": list(variables),
        "distribution": [
            {
                "@type": "DataDownload",
                "name": d.name,
                "description": d.label,
                "contentUrl": prefix + d.path,
                "encodingFormat": d.mediatype,
                "contentSize": f"{d.bytes} B",
                "sha256": d.sha256,
            }
            for d in downloads
        ],
    }
    if link_target(descriptor.get("homepage")):
        data["mainEntityOfPage"] = descriptor["homepage"]
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def _dcat_distribution(download: DownloadLike, licence: str) -> dict[str, Any]:
    return {
        "@id": download.path,
        "@type": "dcat:Distribution",
        "dct:title": download.name,
        "dct:description": download.label,
        "dcat:accessURL": {"@id": download.path},
        "dcat:downloadURL": {"@id": download.path},
        "dcat:mediaType": {
            "@id": f"https://www.iana.org/assignments/media-types/{download.mediatype}"
        },
        "dct:format": download.label,
        "dcat:byteSize": {"@value": str(download.bytes), "@type": "xsd:nonNegativeInteger"},
        "dct:license": {"@id": licence},
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
            "spdx:checksumValue": download.sha256,
        },
    }


def catalogue_dcat(
    releases: Sequence[tuple[Mapping[str, Any], Sequence[DownloadLike]]],
) -> dict[str, Any]:
    """A DCAT catalogue of every release (newest last), each a dcat:Dataset with its
    distributions; paths are relative to OUTPUT, where dcat.jsonld is written."""
    datasets = []
    for descriptor, downloads in releases:
        licence = link_target(_licence(descriptor).get("path"))
        version = str(descriptor["version"])
        publisher = [{"@type": "foaf:Agent", "foaf:name": n} for n in _authors(descriptor)]
        datasets.append(
            {
                "@id": f"releases/{version}.html#dataset",
                "@type": "dcat:Dataset",
                "dct:identifier": f"{descriptor['name']}-{version}",
                "dct:title": descriptor["title"],
                "dct:description": descriptor.get("description", ""),
                "dcat:version": version,
                "owl:versionInfo": version,
                "dct:issued": {
                    "@value": str(descriptor.get("created", ""))[:10],
                    "@type": "xsd:date",
                },
                "dct:license": {"@id": licence},
                "dct:rights": descriptor.get("attribution", ""),
                "dct:publisher": publisher,
                "dct:creator": publisher,
                "dcat:keyword": list(descriptor.get("keywords", [])),
                "dcat:landingPage": {"@id": f"releases/{version}.html"},
                "dct:conformsTo": {"@id": DATA_PACKAGE_PROFILE},
                "dct:source": [
                    {"@id": _url(s.get("path"))}
                    for s in descriptor.get("sources", [])
                    if _url(s.get("path"))
                ],
                "dcat:distribution": [_dcat_distribution(d, licence) for d in downloads],
            }
        )
    newest = releases[-1][0] if releases else {}
    return {
        "@context": DCAT_CONTEXT,
        "@id": "index.html#catalogue",
        "@type": "dcat:Catalog",
        "dct:title": f"{newest.get('title', '')}: releases",
        "dct:description": newest.get("description", ""),
        "dct:license": {"@id": link_target(_licence(newest).get("path"))},
        "dct:publisher": [{"@type": "foaf:Agent", "foaf:name": n} for n in _authors(newest)],
        "foaf:homepage": {"@id": "index.html"},
        "dcat:dataset": datasets,
    }
