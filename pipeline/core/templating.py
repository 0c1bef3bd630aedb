"""The Jinja2 environment every template is rendered in: the package's templates, strict about
undefined names, and compiled once per template text, not once per process.

Jinja compiles a template to Python each time a process first loads it (a fifth of a small
publish). The compiled code is kept beside the templates in `__pycache__`, as Python keeps a
module's: Jinja reloads it only when the template's text has the same checksum, and the file
names carry a digest of the environment's options and of Jinja's version, so code compiled
under other options is never used. Where that folder cannot be written, templates are compiled
each time, as before.
"""

from __future__ import annotations

import hashlib
import os
import stat
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

CACHE = Path(__file__).resolve().parent.parent / "templates" / "__pycache__"


def template_environment(
    autoescape: tuple[str, ...] | bool,
    *,
    keep_trailing_newline: bool = False,
    trim_blocks: bool = False,
    lstrip_blocks: bool = False,
    templates: Path | None = None,
    cache: Path = CACHE,
) -> jinja2.Environment:
    """An environment of the package's templates (or of the folder TEMPLATES), their compiled
    code kept in CACHE. AUTOESCAPE: the template name endings to escape as HTML (or all or
    none); the rest are Jinja's whitespace options."""
    import jinja2  # imported on first use: a no-op publish never needs it

    flags = (keep_trailing_newline, trim_blocks, lstrip_blocks)
    options = repr((autoescape, flags, jinja2.__version__)).encode("utf-8")
    return jinja2.Environment(
        loader=(
            jinja2.PackageLoader("pipeline", "templates")
            if templates is None
            else jinja2.FileSystemLoader(templates)
        ),
        autoescape=(
            jinja2.select_autoescape(list(autoescape))
            if isinstance(autoescape, tuple)
            else autoescape
        ),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_cache(hashlib.sha256(options).hexdigest()[:16], cache),
        keep_trailing_newline=keep_trailing_newline,
        trim_blocks=trim_blocks,
        lstrip_blocks=lstrip_blocks,
    )


def _cache(digest: str, folder: Path) -> Any:
    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        """Jinja's file cache, which never fails a render: a folder it cannot write is no cache."""

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            # Only a regular file (a FIFO would block), and only code: a truncated or foreign
            # file (Jinja unpickles its checksum, then unmarshals) is compiled over instead.
            try:
                if not stat.S_ISREG(os.lstat(self._get_cache_filename(bucket)).st_mode):
                    return
                super().load_bytecode(bucket)
            except Exception:
                bucket.reset()
            if bucket.code is not None and not isinstance(bucket.code, types.CodeType):
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                folder.mkdir(exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:
                pass

    return QuietCache(str(folder), pattern=f"__jinja2_{digest}_%s.cache")
