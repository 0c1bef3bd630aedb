"""What a release carries, by the day it is released.

A published release never changes, and a published version built again must give the same
bytes (`publish --check` builds it and compares every byte; the committed archive depends on
it). So a change to the files a release carries applies to the releases dated from the day it
was made, and a release dated before keeps what it was published with. Each edition is named by
its first release date:

- 1: the releases published until 2026-12-01 (README, CITATION.cff citing the package's homepage);
- 2, from 2026-12-02: the README opens with the command that validates the release as written;
  CITATION.cff and CITATION.bib cite the release by name, version and date, the package's own
  `url` when package.yaml declares one (never the homepage of the organisation), and the
  upstream files the records cite, each with its SHA-256 where the registry has one.
"""

from __future__ import annotations

from datetime import date

EDITIONS = (date.min, date(2026, 12, 2))  # the first release date of each edition, in order


def edition_of(released: date | str) -> int:
    """The edition of a release dated RELEASED (a date, or `YYYY-MM-DD...` as a descriptor's
    `created` holds it)."""
    day = released if isinstance(released, date) else date.fromisoformat(str(released)[:10])
    return sum(1 for first in EDITIONS if first <= day)
