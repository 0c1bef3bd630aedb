"""The release zip: its bytes depend only on the release's files."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Mapping
from typing import BinaryIO

from pipeline.core.files import ZIP_EPOCH
from pipeline.core.filestore import FileStore


def write_zip(files: Mapping[str, bytes], top: str, stream: BinaryIO) -> None:
    """Write into STREAM a zip whose bytes depend only on the files: fixed order, timestamps
    and permissions. Stored, not deflated, so that no zlib version can change the bytes."""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{path}", date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            if isinstance(files, FileStore):  # streamed: the same bytes as writestr writes
                info.file_size = files.size(path)
                with files.open(path) as source, archive.open(info, "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
            else:
                archive.writestr(info, files[path])


def build_zip(files: Mapping[str, bytes], top: str) -> bytes:
    """The zip of `write_zip`, in memory."""
    buffer = io.BytesIO()
    write_zip(files, top, buffer)
    return buffer.getvalue()
