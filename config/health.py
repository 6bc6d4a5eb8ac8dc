"""`GET /healthz`: can we reach the database and the broker, and how far behind are the rollups?

200 when the database answers and the broker (if one is configured) accepts a connection; 503
otherwise. The oldest dirty bucket's age says how far the rollup tasks lag; answers stay correct
meanwhile (dirty buckets are read from raw rows), so lag alone does not fail the check. Buckets whose
recompute failed (common.rollup_failures) are counted apart: they wait for a retry, not for a worker.
Their error text is shown to staff on the admin index only, never here (this page needs no login).
"""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from common import registry


def _database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "unreachable" here
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _broker() -> dict:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "configured": False, "mode": "inline"}
    from config.celery import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises many kinds; any of them means "unreachable"
        return {"ok": False, "configured": True, "error": exc.__class__.__name__}
    return {"ok": True, "configured": True, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def rollup_lag() -> dict:
    """Count and age of the buckets waiting for a recompute, and of those whose recompute failed, per app."""
    now = timezone.now()
    lag = {}
    for queue in registry.rollup_queues():
        state = queue.state(now)
        lag[queue.label] = {
            "dirty_buckets": state.dirty,
            "oldest_age_seconds": round(state.oldest_age_seconds, 1) if state.dirty else 0,
            "failing_buckets": state.failing,
            "next_retry_at": state.next_retry.isoformat() if state.next_retry else None,
        }
    return lag


def failing_buckets(limit: int = 5) -> list[dict]:
    """The failing buckets with the most attempts, with their last error: for the staff's admin index."""
    rows = []
    for queue in registry.rollup_queues():
        name, model = queue.label, queue.dirty_model
        for mark in model.objects.filter(attempts__gt=0).order_by("-attempts", "marked_at")[:limit]:
            rows.append(
                {
                    "app": name,
                    "bucket": str(mark),
                    "attempts": mark.attempts,
                    "retry_at": mark.retry_at,
                    "last_error": mark.last_error,
                }
            )
    return rows


@require_GET
def healthz(request):
    database = _database()
    broker = _broker()
    body = {"database": database, "broker": broker}
    if database["ok"]:
        body["rollups"] = rollup_lag()
    healthy = database["ok"] and broker["ok"]
    body["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(body, status=200 if healthy else 503)
