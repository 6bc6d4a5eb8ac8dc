"""`/healthz` tells an operator whether the service can work, and how far the rollups lag."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from cdnorigin.models import DirtyOriginBucket
from insights.models import DirtyJobDay


@pytest.mark.django_db
def test_healthy_without_a_broker_reports_inline_mode(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": True, "configured": False, "mode": "inline"}
    assert body["rollups"]["insights"] == {
        "dirty_buckets": 0,
        "oldest_age_seconds": 0,
        "failing_buckets": 0,
        "next_retry_at": None,
    }


@pytest.mark.django_db
def test_reports_the_oldest_dirty_bucket_age(client):
    DirtyJobDay.objects.create(project_pk=1, day=timezone.localdate())
    DirtyJobDay.objects.filter(project_pk=1).update(marked_at=timezone.now() - timedelta(minutes=10))
    DirtyOriginBucket.objects.create(domain_pk=1, start=timezone.now().replace(second=0, microsecond=0))
    body = client.get("/healthz").json()
    assert body["rollups"]["insights"]["dirty_buckets"] == 1
    assert 590 <= body["rollups"]["insights"]["oldest_age_seconds"] <= 700
    assert body["rollups"]["cdnorigin"]["dirty_buckets"] == 1


@pytest.mark.django_db
def test_unreachable_broker_is_a_503(client):
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:9/0"):
        from config.celery import app

        previous = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:9/0"
        try:
            response = client.get("/healthz")
        finally:
            app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["status"] == "unavailable"


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405
