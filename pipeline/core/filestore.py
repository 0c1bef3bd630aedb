"""The files of a release while it is built: each kept with its size and SHA-256, small ones in
memory and large ones in a private scratch folder, so that a release of hundreds of megabytes is
never held in memory whole (the 1000x benchmark's release is 744 MB).

A `FileStore` is a mapping of path to bytes like the dict it replaces; reading a large entry
reads its scratch file. The scratch folder (under TMPDIR) is removed with the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

IN_MEMORY = 1 << 20  # bytes: an entry up to this size stays in memory


@dataclass(frozen=True)
class Entry:
    size: int
    sha256: str
    data: bytes | None  # None: in the scratch file
    scratch: Path | None = None


class FileStore(MutableMapping[str, bytes]):
    """Path inside the release -> bytes, with each entry's size and SHA-256 kept."""

    def __init__(self, files: MutableMapping[str, bytes] | None = None, limit: int = IN_MEMORY):
        self._entries: dict[str, Entry] = {}
        self._limit = limit
        self._folder: Path | None = None
        self._count = 0
        for path, data in (files or {}).items():
            self[path] = data

    def _scratch(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="ics-data-build-"))
            weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._count += 1
        return self._folder / str(self._count)

    def __setitem__(self, path: str, data: bytes) -> None:
        if path in self._entries:
            del self[path]
        digest = hashlib.sha256(data).hexdigest()
        if len(data) <= self._limit:
            self._entries[path] = Entry(len(data), digest, bytes(data))
            return
        scratch = self._scratch()
        scratch.write_bytes(data)
        self._entries[path] = Entry(len(data), digest, None, scratch)

    def __getitem__(self, path: str) -> bytes:
        entry = self._entries[path]
        if entry.data is not None:
            return entry.data
        assert entry.scratch is not None
        return entry.scratch.read_bytes()

    def __delitem__(self, path: str) -> None:
        entry = self._entries.pop(path)
        if entry.scratch is not None:
            entry.scratch.unlink(missing_ok=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @contextlib.contextmanager
    def appender(self, path: str) -> Iterator[Callable[[bytes], None]]:
        """A function that appends bytes to the entry PATH, which the block's end adds: kept in
        memory while it is small, in a scratch file once it is not, and hashed as it is written.
        For a file written front to back (a table's CSV or JSON); nothing is added if the block
        raises."""
        spool = _Spool(self._limit, self._scratch)
        try:
            yield spool.write
            entry = spool.close()
        except BaseException:
            spool.discard()
            raise
        if path in self._entries:
            del self[path]
        self._entries[path] = entry

    @contextlib.contextmanager
    def writer(self, path: str) -> Iterator[BinaryIO]:
        """A binary stream whose bytes become the entry PATH when the block ends (written to a
        scratch file and hashed as it is read back, never held in memory whole). Nothing is
        added if the block raises."""
        scratch = self._scratch()
        try:
            with scratch.open("wb") as stream:
                yield stream
            digest = hashlib.sha256()
            with scratch.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise
        if path in self._entries:
            del self[path]
        self._entries[path] = Entry(scratch.stat().st_size, digest.hexdigest(), None, scratch)

    def size(self, path: str) -> int:
        return self._entries[path].size

    def sha256(self, path: str) -> str:
        return self._entries[path].sha256

    def open(self, path: str) -> BinaryIO:
        """The entry's bytes as a binary stream (a large one read from its scratch file)."""
        import io

        entry = self._entries[path]
        if entry.data is not None:
            return io.BytesIO(entry.data)
        assert entry.scratch is not None
        return entry.scratch.open("rb")

    def copy_to(self, path: str, target: Path) -> None:
        """Write the entry at TARGET (a large one copied by the system, never read whole)."""
        entry = self._entries[path]
        if entry.data is not None:
            target.write_bytes(entry.data)
        else:
            assert entry.scratch is not None
            shutil.copyfile(entry.scratch, target)


class _Spool:
    """Bytes appended in order: in memory up to LIMIT, then in a scratch file from SCRATCH."""

    def __init__(self, limit: int, scratch: Callable[[], Path]) -> None:
        self._limit, self._scratch = limit, scratch
        self._parts: list[bytes] = []
        self._size = 0
        self._digest = hashlib.sha256()
        self._path: Path | None = None
        self._file: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._size += len(data)
        if self._file is not None:
            self._file.write(data)
            return
        self._parts.append(data)
        if self._size > self._limit:
            self._path = self._scratch()
            self._file = self._path.open("wb")
            for part in self._parts:
                self._file.write(part)
            self._parts = []

    def close(self) -> Entry:
        if self._file is None:
            return Entry(self._size, self._digest.hexdigest(), b"".join(self._parts))
        self._file.close()
        return Entry(self._size, self._digest.hexdigest(), None, self._path)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)


def size_of(files: Mapping[str, bytes], path: str) -> int:
    return files.size(path) if isinstance(files, FileStore) else len(files[path])


def sha256_of(files: Mapping[str, bytes], path: str) -> str:
    if isinstance(files, FileStore):
        return files.sha256(path)
    return hashlib.sha256(files[path]).hexdigest()
