"""Bounds on what a source file may make the pipeline do: read only regular files inside the
project, of a bounded size, and YAML whose nesting and alias expansion are bounded.

A YAML alias reuses a node; ten lines of aliases of aliases stand for billions of nodes, and
anything that walks the document (the duplicate-key check, the constructor, a JSON Schema, a
JSON dump) would expand them. The node tree is measured first, each shared node once.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import yaml

MAX_DEPTH = 32  # levels of nested lists and mappings; the shipped files use at most 5
MAX_EXPANSION = 100_000  # nodes that aliases may add beyond those written out
MAX_SOURCE_BYTES = 256 * 1024 * 1024  # a source file (the shipped ones are under 200 KB)


class RefusedFile(Exception):
    """A file the pipeline will not read; the message says why, naming no content."""


def read_regular_file(
    path: Path, *, confined: bool = False, limit: int = MAX_SOURCE_BYTES
) -> bytes:
    """The bytes of PATH if it is a regular file (a FIFO, device or folder is refused without
    opening it for long) not larger than LIMIT. CONFINED: PATH is a file of a project folder
    (sources/ or schemas/), and a link may not lead outside the folder that holds that folder.

    Only a link can: a file that is not one lies in its folder's real path, which is inside that
    folder's real parent, so no path is resolved unless PATH is a link."""
    if confined and os.path.islink(path):
        real, project = path.resolve(), path.absolute().parent.resolve().parent
        if not real.is_relative_to(project):
            raise RefusedFile(
                f"it is a link to {real}, outside the project folder {project}; "
                "copy the file into the project instead"
            )
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise RefusedFile("it is a folder, not a file") from None
        raise RefusedFile(f"cannot read the file: {exc.strerror}") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise RefusedFile(f"it is {_kind(mode)}, not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise RefusedFile(f"it is larger than {limit // (1024 * 1024)} MB, the limit for a file")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def yaml_bounds(root: yaml.Node, *, anchored: bool = True) -> tuple[int, str] | None:
    """(0-based line, message) where ROOT nests deeper than MAX_DEPTH (aliases included), an
    alias refers to a list or mapping it is inside (a cycle), or aliases expand the document by
    more than MAX_EXPANSION nodes; None when it is within all three. Each node is visited once.

    ANCHORED False says the text holds no `&`, so no anchor and no alias: the nodes are a tree,
    which can neither cycle nor expand, and only its depth is measured."""
    if not anchored:
        return _tree_depth(root)
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    visiting: set[int] = set()
    written = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:  # iterative: a deep document must not exhaust Python's stack
        node, depth, leaving = stack.pop()
        children = _children(node)
        if leaving:
            visiting.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
            height[id(node)] = 1 + max((height[id(c)] for c in children), default=0)
            if size[id(node)] - written > MAX_EXPANSION:
                return node.start_mark.line, (
                    f"aliases (*name) here expand the document to {size[id(node)]:,} nodes; "
                    f"more than {MAX_EXPANSION:,} added is refused (an alias bomb); write the "
                    "values out"
                )
            continue
        if depth > MAX_DEPTH:
            return node.start_mark.line, NESTING
        if id(node) in visiting:
            return node.start_mark.line, (
                "an alias (*name) refers to the list or mapping it is inside: the value would be "
                "endless; write it out"
            )
        if id(node) in size:
            continue  # a shared node, measured already
        visiting.add(id(node))
        written += 1
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(children))
    if height[id(root)] > MAX_DEPTH:  # aliases can stack nesting that no one line shows
        node, depth = root, 1
        while depth < MAX_DEPTH:
            node = max(_children(node), key=lambda c: height[id(c)])
            depth += 1
        return node.start_mark.line, NESTING
    return None


def _tree_depth(root: yaml.Node) -> tuple[int, str] | None:
    """What yaml_bounds finds in a tree (a document without aliases), visiting the lists and
    mappings only, in the same order: the first node deeper than MAX_DEPTH is the first child of
    the first list or mapping at that depth that has any."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        children = _children(node)
        if not children:
            continue
        if depth >= MAX_DEPTH:
            return children[0].start_mark.line, NESTING
        stack.extend(
            (child, depth + 1)
            for child in reversed(children)
            if isinstance(child, yaml.CollectionNode)
        )
    return None


NESTING = (
    f"lists and mappings nest more than {MAX_DEPTH} levels deep here (aliases included); "
    "a source file needs a few"
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
