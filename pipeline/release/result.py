"""What a publish did: the version, its folder, and whether it was published, found unchanged or
only checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PublishResult:
    version: str
    path: Path
    status: str  # "published", "unchanged" or "checked"
    files: int = 0
