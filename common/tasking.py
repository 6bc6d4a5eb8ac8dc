"""Enqueueing a rollup task once the writer's transaction has committed.

Raw rows are the truth: once they commit, the request has succeeded whatever happens to the
enqueue. A broker that refuses the message is logged (on the writer's logger) and the dirty marks
stay for the beat sweep; with no broker the task runs inline, and `robust=True` keeps a failing
inline recompute from turning the committed write into an error.
"""

import logging

from django.db import transaction
from django.utils.module_loading import import_string


def enqueue_after_commit(task_path: str, app: str, logger: logging.Logger) -> None:
    """`task_path.delay()` after commit (at once outside a transaction); never raises into the writer.

    Not de-duplicated: a second run in a row finds no marks and costs one query. The task is looked
    up by path at enqueue time, since tasks import the rollups that import the writers.
    """

    def enqueue() -> None:
        try:
            import_string(task_path).delay()
        except Exception as exc:  # kombu/redis/amqp raise many kinds; the write has committed either way
            logger.warning(
                "rollup enqueue failed; buckets stay dirty until the sweep",
                exc_info=True,
                extra={"app": app, "error": exc.__class__.__name__},
            )

    transaction.on_commit(enqueue, robust=True)
