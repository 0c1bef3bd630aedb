"""The release zip: its bytes depend only on the release's files."""

from __future__ import annotations

import io
import zipfile

from pipeline.core.files import ZIP_EPOCH


def build_zip(files: dict[str, bytes], top: str) -> bytes:
    """A zip whose bytes depend only on the files: fixed order, timestamps and permissions.
    Stored, not deflated, so that no zlib version can change the bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{path}", date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, files[path])
    return buffer.getvalue()
