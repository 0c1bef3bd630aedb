"""`python -m pipeline` and the `ics-data` command: Ctrl-C while the libraries load (a second or
so) exits 130 with one line, as it does once a command runs."""

from __future__ import annotations

import sys


def main() -> None:
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
