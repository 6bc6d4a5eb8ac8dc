"""One poisoned bucket must not block the others: how both apps' dirty queues survive a failing recompute.

A batch of marks is recomputed in one savepoint. If that fails for a reason that retrying the same
statement will not cure (a value out of range, a bug on one odd row), the batch is retried bucket by
bucket, each in its own savepoint: the good buckets are recomputed and cleared, each bad one is logged,
counted on its mark (`attempts`, `last_error`) and put back with a `retry_at` that doubles per attempt
up to `MAX_BACKOFF`. A mark waiting for its retry is not taken; it stays dirty, so the selectors keep
answering that bucket from raw rows. A new write re-marks the bucket and clears `retry_at` (the write
may be the fix). Transient errors (lost connection, deadlock, serialization failure, a busy SQLite
file) are raised instead, for the task's own retry with backoff: retrying them does cure them.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Model, Q
from django.utils import timezone

from common import metrics

logger = logging.getLogger(__name__)
K = TypeVar("K")

FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
MAX_ERROR_CHARS = 500
# SQLSTATE classes worth a plain retry: 08 connection, 40 rollback (serialization, deadlock),
# 53 insufficient resources, 57 operator intervention (shutdown, cancel), 55P03 lock not available.
TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "53", "57", "55P03")
TRANSIENT_SQLITE_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR")  # not SQLITE_ERROR: "integer overflow"


def is_transient(exc: BaseException) -> bool:
    """Would running the same recompute again, unchanged, likely succeed?"""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(TRANSIENT_SQLSTATE_PREFIXES)
    sqlite_name = getattr(cause, "sqlite_errorname", None)
    if sqlite_name:
        return sqlite_name.startswith(TRANSIENT_SQLITE_ERRORS)
    return True  # a driver error with no code: the connection itself failed


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts + 1`: 1, 2, 4 … minutes, at most an hour."""
    doublings = min(max(attempts - 1, 0), 16)  # past the cap anyway; keeps timedelta in range
    return min(FIRST_BACKOFF * 2**doublings, MAX_BACKOFF)


def describe(exc: BaseException) -> str:
    """The error as one bounded line for the mark and the log (no traceback, no row dump)."""
    text = f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def recompute_isolated(
    app: str, keys: Sequence[K], recompute: Callable[[list[K]], object]
) -> tuple[list[K], dict[K, Exception]]:
    """Recompute `keys` together, or one by one if together fails; returns (done keys, {key: error}).

    Must run inside a transaction (the savepoints roll back only the failed attempt). A transient
    error is raised as it is, whatever the batch size.
    """
    keys = list(keys)
    try:
        with transaction.atomic():
            recompute(keys)
        return keys, {}
    except Exception as exc:  # any error: the batch is split below unless it is transient
        if is_transient(exc):
            raise
        if len(keys) == 1:
            _log_failure(app, keys[0], exc)
            return [], {keys[0]: exc}
        logger.warning(
            "rollup batch failed, retrying bucket by bucket",
            extra={"app": app, "buckets": len(keys), "error": describe(exc)},
        )
    done: list[K] = []
    failed: dict[K, Exception] = {}
    for key in keys:
        try:
            with transaction.atomic():
                recompute([key])
        except Exception as exc:  # one bucket's failure is recorded and the others go on
            if is_transient(exc):
                raise
            _log_failure(app, key, exc)
            failed[key] = exc
        else:
            done.append(key)
    return done, failed


def _log_failure(app: str, key, exc: BaseException) -> None:
    bucket = " ".join(map(str, key)) if isinstance(key, tuple) else str(key)
    logger.error("rollup bucket failed", extra={"app": app, "bucket": bucket, "error": describe(exc)})
    metrics.ROLLUP_FAILURES.labels(app).inc()


def record_failures(model: type[Model], failures: dict[int, BaseException], now: datetime | None = None) -> None:
    """Count a failed attempt on each mark (by id) and set its next retry; the mark stays dirty."""
    now = now or timezone.now()
    attempts = dict(model.objects.filter(pk__in=list(failures)).values_list("pk", "attempts"))
    for mark_id, exc in failures.items():
        done = attempts.get(mark_id, 0) + 1
        model.objects.filter(pk=mark_id).update(attempts=done, last_error=describe(exc), retry_at=now + backoff(done))


def due_filter(now: datetime | None = None):
    """Marks that may be taken now: never failed, or their retry time has come."""
    now = now or timezone.now()
    return Q(retry_at__isnull=True) | Q(retry_at__lte=now)
