"""An edit of the source files, as the guided edits (`edits`) make it: the files read, each with
its text as read; the edit checked in a copy of the sources (written only if they stay valid);
shown as a small diff; written all or none, and never over a file that changed since it was
read."""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.check.validate import validate_project
from pipeline.core.errors import PipelineError
from pipeline.core.files import commit_files, display_path
from pipeline.core.issues import quote, render_text
from pipeline.sources.load import find_source
from pipeline.upstream.csvedit import CsvDocument, CsvEditError


class EditRefused(PipelineError):
    """A guided edit the records contradict, or that would leave the sources invalid: nothing
    was written."""


@dataclass(frozen=True)
class Edit:
    """An edit made and validated, not yet written: each file it changes (its name in SOURCES)
    with its text as read and as edited, and what the edit means, in words."""

    sources: Path
    summary: str
    changes: Mapping[str, tuple[str, str]]


@dataclass
class SourceFiles:
    """The source files one edit reads, each kept with its text as read: the change is shown
    against it, and written only over it. Made for one edit and dropped with it."""

    folder: Path
    texts: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        if name not in self.texts:
            path = self.folder / name
            try:
                self.texts[name] = path.read_bytes().decode("utf-8")
            except FileNotFoundError:
                raise EditRefused(
                    f"no {name} in {display_path(self.folder)}",
                    hint="check --sources: the folder of source records",
                ) from None
            except UnicodeDecodeError:
                raise EditRefused(
                    f"{display_path(path)} is not UTF-8 text",
                    hint="run ics-data validate and fix it",
                ) from None
        return self.texts[name]

    def table(self, resource: str, columns: Sequence[str]) -> CsvDocument:
        """A resource's CSV source, which must have COLUMNS."""
        path = self.folder / f"{resource}.csv"
        other = find_source(self.folder, resource)
        if not path.is_file() and other:
            raise EditRefused(
                f"{resource} is kept in {display_path(other[0])}; the guided edits change CSV "
                "sources",
                hint="edit that file by hand (README, 'The month')",
            )
        try:
            document = CsvDocument.parse(self.text(path.name), path)
            document.require(columns)
        except CsvEditError as exc:
            raise EditRefused(exc.message, hint=exc.hint) from None
        return document


def did_you_mean(value: str, known: Iterable[str], n: int = 3) -> str:
    """ "; did you mean ...?" with the nearest known codes or ids, or nothing when none is near.
    Nearest by difflib's ratio, then by the longest shared beginning: codes that differ in one
    digit are all as near by ratio, and G82002 is a likelier slip for G82003 than G82700."""
    scored = []
    for option in sorted({str(k) for k in known if k}):
        ratio = difflib.SequenceMatcher(None, value.casefold(), option.casefold()).ratio()
        if ratio >= 0.6:
            shared = len(os.path.commonprefix([value.casefold(), option.casefold()]))
            scored.append((-ratio, -shared, option))
    near = [option for _, _, option in sorted(scored)[:n]]
    return "; did you mean " + " or ".join(quote(o) for o in near) + "?" if near else ""


def checked_edit(
    files: SourceFiles,
    schemas: Path,
    summary: str,
    documents: Iterable[CsvDocument] = (),
    texts: Mapping[str, str] | None = None,
) -> Edit:
    """The edit of DOCUMENTS (those changed) and of TEXTS (file name -> new text), once the
    sources it makes validate in a copy; refused with the problems if they would not."""
    after = dict(texts or {})
    after.update({d.path.name: d.render() for d in documents if d.changed()})
    changes = {name: (files.text(name), text) for name, text in after.items()}
    with tempfile.TemporaryDirectory(prefix="ics-data-edit-") as folder:
        copy = Path(folder) / "sources"
        shutil.copytree(files.folder, copy)
        for name, text in after.items():
            (copy / name).write_bytes(text.encode("utf-8"))
        report = validate_project(copy, schemas).report
        if not report.ok:
            shown = render_text(report.errors).replace(
                display_path(copy), display_path(files.folder)
            )
            raise EditRefused(
                "the edited sources would not be valid, so nothing was written:\n" + shown,
                hint="fix what the messages name (or edit the files by hand), then run it again",
            )
    return Edit(files.folder, summary, changes)


def render_edit(edit: Edit, written: bool) -> str:
    """What the edit changes, per file, as a unified diff without context, then what it means."""
    lines: list[str] = []
    for name, (before, after) in edit.changes.items():
        shown = display_path(edit.sources / name)
        lines.extend(
            difflib.unified_diff(
                before.splitlines(), after.splitlines(), shown, shown, n=0, lineterm=""
            )
        )
    lines.append(edit.summary)
    files = ", ".join(display_path(edit.sources / name) for name in edit.changes)
    lines.append(f"Written: {files}." if written else "Dry run: nothing was written.")
    return "\n".join(lines)


def write_edit(edit: Edit) -> bool:
    """Write every file of the edit or none, refusing if one changed since it was read."""
    for name, (before, _) in edit.changes.items():
        path = edit.sources / name
        if path.read_bytes() != before.encode("utf-8"):
            raise EditRefused(
                f"{display_path(path)} changed while the edit was made; nothing was written",
                hint="run the command again",
            )
    commit_files(edit.sources, {n: after.encode("utf-8") for n, (_, after) in edit.changes.items()})
    return True
