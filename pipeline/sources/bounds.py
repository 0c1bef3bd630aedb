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
    path: Path, *, inside: Path | None = None, limit: int = MAX_SOURCE_BYTES
) -> bytes:
    """The bytes of PATH if it is a regular file (a FIFO, device or folder is refused without
    opening it for long) whose real path is inside INSIDE, and not larger than LIMIT."""
    if inside is not None:
        real = path.resolve()
        if not real.is_relative_to(inside.resolve()):
            raise RefusedFile(
                f"it is a link to {real}, outside the project folder {inside}; "
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


def yaml_bounds(root: yaml.Node) -> tuple[int, str] | None:
    """(0-based line, message) where ROOT nests deeper than MAX_DEPTH or its aliases expand it
    by more than MAX_EXPANSION nodes; None when it is within both. Each node is visited once."""
    size: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    seen: set[int] = set()
    while stack:  # iterative: a deep document must not exhaust Python's stack
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node.start_mark.line, (
                f"lists and mappings nest more than {MAX_DEPTH} levels deep here; "
                "a source file needs a few"
            )
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend((child, depth + 1) for child in _children(node))
    for node in reversed(order):  # children before parents
        children = _children(node)
        size[id(node)] = 1 + sum(size[id(c)] for c in children)
        if size[id(node)] - len(seen) > MAX_EXPANSION:
            return node.start_mark.line, (
                f"aliases (*name) here expand the document to {size[id(node)]:,} nodes from "
                f"{len(seen):,} written; more than {MAX_EXPANSION:,} added is refused "
                "(an alias bomb); write the values out"
            )
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
