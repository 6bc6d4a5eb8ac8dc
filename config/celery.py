"""The Celery application; tasks are discovered in each app's `tasks.py`.

The beat schedule is fixed here rather than in django-celery-beat's tables: it is part of how the
service stays correct (the sweep) and how it bounds storage (the purge), so it is reviewed and
versioned with the code, and beat needs no database of its own. Every entry is a crontab with an
`expires`, so runs that fall behind are dropped instead of piling up.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("insights_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
if not app.conf.broker_url:
    # Inline mode (no CELERY_BROKER_URL: tasks run eagerly). Name an in-process transport, so kombu
    # does not fall back to amqp://localhost and warn "No hostname was supplied" on every enqueue.
    app.conf.broker_url = "memory://localhost/"
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Catches buckets whose on-commit task was lost (broker down, worker killed): every minute.
    "sweep-dirty-job-days": {
        "task": "insights.tasks.recompute_dirty_job_days",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
    "sweep-dirty-origin-buckets": {
        "task": "cdnorigin.tasks.recompute_dirty_origin_buckets",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
    # Applies webhook deliveries whose on-commit task was lost.
    "sweep-pending-deliveries": {
        "task": "insights.tasks.apply_pending_deliveries",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
    "purge-old-deliveries": {
        "task": "insights.tasks.purge_deliveries",
        "schedule": crontab(minute=37, hour=3),
        "options": {"expires": 3600},
    },
    # Pulls new and still-running workflow tasks of every enabled Zadig source (insights.sources.zadig_sync).
    "sync-zadig-sources": {
        "task": "insights.tasks.sync_zadig_sources",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 270},
    },
    # Drops origin rows past CDN_RETENTION_DAYS, daily in the quiet hours.
    "purge-expired-origin-data": {
        "task": "cdnorigin.tasks.purge_expired_origin_data",
        "schedule": crontab(minute=17, hour=3),
        "options": {"expires": 3600},
    },
}
