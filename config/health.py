"""`GET /healthz`: can we reach the database and the broker, and how far behind are the rollups?

200 when the database answers and the broker (if one is configured) accepts a connection; 503
otherwise. The oldest dirty bucket's age says how far the rollup tasks lag; answers stay correct
meanwhile (dirty buckets are read from raw rows), so lag alone does not fail the check.
"""

import time

from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cdnorigin.models import DirtyOriginBucket
from insights.models import DirtyJobDay


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
    """Count and age of the buckets waiting for a recompute, per app."""
    now = timezone.now()
    lag = {}
    for name, model in (("insights", DirtyJobDay), ("cdnorigin", DirtyOriginBucket)):
        row = model.objects.aggregate(oldest=Min("marked_at"))
        oldest = row["oldest"]
        lag[name] = {
            "dirty_buckets": model.objects.count(),
            "oldest_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0,
        }
    return lag


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
