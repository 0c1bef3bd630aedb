"""Progress of long work (a publish, a refresh, an init), told to whoever shows it: the CLI
draws a bar on stderr when it is a terminal; library callers and tests get nothing."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told how many steps a piece of work has, then of each step as it is done."""

    def start(self, total: int, label: str) -> None: ...

    def advance(self, label: str) -> None: ...

    def finish(self) -> None: ...


class Silent:
    """Progress nobody watches."""

    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, label: str) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT: Progress = Silent()
