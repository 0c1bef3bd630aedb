"""The Jinja2 environment every template is rendered in: the package's templates (or a folder's),
strict about undefined names. An environment compiles each template it is asked for once; a
command makes the environments it renders with and lets them go when it ends, so nothing compiled
is kept between calls or written anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


def template_environment(
    autoescape: tuple[str, ...] | bool,
    *,
    keep_trailing_newline: bool = False,
    trim_blocks: bool = False,
    lstrip_blocks: bool = False,
    templates: Path | None = None,
) -> jinja2.Environment:
    """An environment of the package's templates (or of the folder TEMPLATES). AUTOESCAPE: the
    template name endings to escape as HTML (or all or none); the rest are Jinja's whitespace
    options."""
    import jinja2  # imported on first use: a no-op publish never needs it

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
        # Jinja's optimizer folds constant expressions while compiling: a template rendered
        # once or twice per command gains nothing from it, and it is a sixth of the compile
        # (the pages and files render the same bytes without it: docs/stack-notes.md)
        optimized=False,
        keep_trailing_newline=keep_trailing_newline,
        trim_blocks=trim_blocks,
        lstrip_blocks=lstrip_blocks,
    )
