"""Bounded memos for the pure, costly things a process makes more than once: per descriptor
(frictionless Schemas and Fields, a schema's descriptor errors), keyed by `repr` of the
descriptor, which is faithful for what YAML and JSON give (a date stays a date); and per text
(a source file's records). Each is emptied when it is full."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

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


class ByText(Generic[T]):
    """A bounded memo of what a pure function made from a file's text, for a process that reads
    the same file more than once (a refresh validates the sources before and after; the tests
    validate copies of one project hundreds of times). Keyed by the whole text, so a hit is the
    same characters, never a guess from a name or a time; emptied when its texts pass LIMIT
    characters. A text over ENTRY characters is never kept: a large file is read once, and its
    text need not outlive the reading."""

    def __init__(self, limit: int, entry: int = 4 * 1024 * 1024) -> None:
        self._found: dict[tuple[str, ...], T] = {}
        self._size = 0
        self._limit = limit
        self._entry = entry

    def get(self, key: tuple[str, ...]) -> T | None:
        return self._found.get(key)

    def keep(self, key: tuple[str, ...], value: T) -> None:
        size = sum(map(len, key))
        if size > min(self._limit, self._entry):
            return
        if self._size + size > self._limit:
            self._found.clear()
            self._size = 0
        self._found[key] = value
        self._size += size


REMEMBERED = 50_000  # distinct cells a field's reader remembers: dates, ids and sources repeat


def remembering(reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """READER of text cells (str or None), answering a cell it has read before from memory. A
    cell reader is a pure function of the cell (its type and constraints are fixed), and parsing
    a date with strptime is most of the time it takes. Text cells only: as dict keys, JSON's
    `1`, `1.0` and `true` would be one cell. The answers are shared: callers only read them."""
    seen: dict[Any, Any] = {}

    def read(cell: Any) -> Any:
        answer = seen.get(cell)
        if answer is None:
            answer = reader(cell)
            if len(seen) < REMEMBERED:
                seen[cell] = answer
        return answer

    return read


LARGE = 100_000  # rows of a table that is read once: no memo keeps what is made from them


class ByIdentity(Generic[T]):
    """Values made from particular objects (the very tuple of records the loader remembered
    for a text, a shared frictionless Schema), found again by those objects' identity. Each
    entry keeps its objects alive, so an id is never another object's; emptied when it holds
    LIMIT entries. ALSO: plain values the value depends on besides the objects."""

    def __init__(self, limit: int = 256) -> None:
        self._found: dict[tuple[Any, ...], tuple[tuple[object, ...], T]] = {}
        self._limit = limit

    def get(self, objects: tuple[object, ...], also: tuple[Any, ...] = ()) -> T | None:
        found = self._found.get((*map(id, objects), *also))
        if found is None or any(a is not b for a, b in zip(found[0], objects, strict=True)):
            return None
        return found[1]

    def keep(self, objects: tuple[object, ...], value: T, also: tuple[Any, ...] = ()) -> None:
        if len(self._found) >= self._limit:
            self._found.clear()
        self._found[(*map(id, objects), *also)] = (objects, value)


def checked_once(
    clean: ByIdentity[bool],
    objects: tuple[object, ...],
    check: Callable[[], Iterable[T]],
    *,
    size: int,
    also: tuple[Any, ...] = (),
) -> list[T]:
    """CHECK()'s findings; none, without running it, when it found none before for the very
    same OBJECTS (and ALSO), as CLEAN remembers. A check of more than LARGE rows (SIZE) is not
    remembered: its objects need not outlive it."""
    if clean.get(objects, also):
        return []
    found = list(check())
    if not found and size <= LARGE:
        clean.keep(objects, True, also)
    return found
