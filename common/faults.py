"""Test-only pauses: inside the rollup transactions, so a fault test can kill a worker mid-recompute; and
between a source's fold and its write, so a concurrency test makes two folds of one run overlap.

`ROLLUP_FAULT_PAUSE_SECONDS` (environment, unset in production = no effect, no cost beyond reading
one variable) makes `recompute_dirty` of both apps log "rollup paused for fault test" and sleep that
long after writing the rollup rows of a batch and before clearing its dirty marks, all inside the
uncommitted transaction. tests/integration/test_worker_faults.py starts a worker with it set, waits
for that log line and SIGKILLs the worker: the transaction must roll back and the sweep redo it.
"""

import logging
import os
import random
import time

logger = logging.getLogger(__name__)


def rollup_pause(app: str) -> None:
    seconds = float(os.environ.get("ROLLUP_FAULT_PAUSE_SECONDS") or 0)
    if seconds > 0:
        logger.warning("rollup paused for fault test", extra={"app": app, "seconds": seconds})
        time.sleep(seconds)


def fold_pause() -> None:
    """SOURCE_FAULT_FOLD_PAUSE_SECONDS: sleep a random part of it after folding a run, before storing it."""
    seconds = float(os.environ.get("SOURCE_FAULT_FOLD_PAUSE_SECONDS") or 0)
    if seconds > 0:
        time.sleep(random.uniform(0, seconds))
