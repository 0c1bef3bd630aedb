"""How often Python's cycle collector runs in a command. The pipeline makes millions of small
dicts and tuples (a record, its typed values, its dates) and almost no reference cycles, and the
default (a collection every 700 new objects, each older generation every 10) spent a quarter of
a 1000x validation walking them: 13.7 s against 10.3 s with a collection every 50,000.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)  # objects before a young collection; young, then middle, per older


def for_bulk_data() -> None:
    """Collect cycles less often (memory is still freed at once by reference counting)."""
    gc.set_threshold(*THRESHOLDS)
