"""One bounded memo for the pure, costly things a process makes once per descriptor (frictionless
Schemas and Fields, a schema's descriptor errors): keyed by `repr` of the descriptor, which is
faithful for what YAML and JSON give (a date stays a date), and emptied when it is full."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def by_descriptor(cache: dict[str, T], descriptor: Any, make: Callable[[], T], limit: int) -> T:
    """CACHE's value for DESCRIPTOR, made by MAKE the first time (a full cache starts over)."""
    key = repr(descriptor)
    found = cache.get(key)
    if found is None:
        if len(cache) >= limit:
            cache.clear()
        found = cache[key] = make()
    return found
