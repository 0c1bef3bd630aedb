"""What git's history holds of a folder: the names a commit keeps in it. The base branch of a
pull request is a commit, and its newest release is what the change is compared with."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipeline.core.errors import ProjectError
from pipeline.core.files import display_path

TIMEOUT = 30  # seconds: a local `git ls-tree` takes milliseconds


def tree_names(folder: Path, ref: str) -> tuple[str, ...]:
    """The names REF's tree holds in FOLDER (a folder of a git work tree), sorted; none when
    REF has no such folder. Git runs without a shell, and REF is never taken for an option."""
    if not ref or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref):
        raise ProjectError(f"{ref!r} is not a git revision", hint="name a branch, tag or commit")
    if not folder.is_dir():
        raise ProjectError(f"{display_path(folder)} is not a folder", hint="pass --output DIR")
    command = ["git", "-C", str(folder), "ls-tree", "--name-only", "-z", f"{ref}^{{tree}}", "--"]
    try:
        done = subprocess.run(
            [*command, "."],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ProjectError(
            "git is not installed", hint="install git, or compare with `latest`"
        ) from None
    except subprocess.TimeoutExpired:
        raise ProjectError(f"git took over {TIMEOUT} s to list {ref}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProjectError(
            f"git cannot list {ref!r} in {display_path(folder)}: {said[-1] if said else 'failed'}",
            hint="fetch the base branch first (git fetch origin main), or compare with `latest`",
        )
    names = done.stdout.decode("utf-8", "replace").split("\0")
    return tuple(sorted(Path(n).name for n in names if n))
