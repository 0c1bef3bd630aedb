"""`python -m pipeline` and the `ics-data` command: Ctrl-C while the libraries load (a second or
so) exits 130 with one line, as it does once a command runs; SIGTERM (`kill`) exits 143 the same
way, through the command's own clean-up (staging folders, scratch files), not around it."""

from __future__ import annotations

import signal
import sys
from types import FrameType

EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process killed by it


def terminated(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("Terminated.\n")
    raise SystemExit(EXIT_TERMINATED)  # unwinds: every finally and finaliser runs


def main() -> None:
    signal.signal(signal.SIGTERM, terminated)
    from pipeline.core.gcpolicy import for_bulk_data

    for_bulk_data()
    try:
        from pipeline.cli import main as run  # the top layer: importing it loads everything
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
