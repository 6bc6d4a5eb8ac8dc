"""Two applies of one run at once: the second waits for the first, so the run ends with both deliveries.

Without the per-source lock, the first fold (which read only its own delivery) would be written last and
lose the second's job. The first apply is held between its fold and its write while the second runs.
PostgreSQL only: SQLite's IMMEDIATE transactions serialise the two anyway.
"""

import threading

import orjson
import pytest
from django.db import connection, connections

from common import faults
from insights.models import Job, Project
from insights.sources import mapping, secrets
from insights.sources.apply import apply_delivery
from insights.sources.models import Delivery, Source
from tests.sources.fake_mapper import FakeMapper

pytestmark = pytest.mark.django_db(transaction=True)


def stored(source, delivery_id, job_name, at):
    payload = {"run": "r", "at": at, "job": {"name": job_name, "type": "build", "status": "passed",
               "started_at": at, "finished_at": at}}  # fmt: skip
    return Delivery.objects.create(
        source=source, delivery_id=delivery_id, event="fake_run", body=orjson.dumps(payload).decode(),
        subject="run", run_key="r",
    )  # fmt: skip


def test_a_second_apply_of_the_same_run_waits_for_the_first(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    monkeypatch.setitem(mapping.MAPPERS, "github", FakeMapper())
    source = Source.objects.create(name="fake", kind="github", secret=secrets.keep("github", "s"))
    Project.objects.create(key="shop", name="Shop")
    first = stored(source, "d-1", "build", "2024-05-01T09:00:00Z")
    folded, release = threading.Event(), threading.Event()
    calls = []

    def hold_the_first_fold():
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            folded.set()
            release.wait(10)

    monkeypatch.setattr(faults, "fold_pause", hold_the_first_fold)

    def apply(pk):
        try:
            apply_delivery(pk)
        finally:
            connections.close_all()

    one = threading.Thread(target=apply, args=(first.pk,), name="first")
    one.start()
    assert folded.wait(10), "the first apply folded"
    second = stored(source, "d-2", "test", "2024-05-01T09:10:00Z")
    two = threading.Thread(target=apply, args=(second.pk,), name="second")
    two.start()
    two.join(1.5)
    waited = two.is_alive()
    release.set()
    one.join(10)
    two.join(10)
    assert waited, "the second apply waits while the first holds the source's lock"
    assert sorted(Job.objects.values_list("name", flat=True)) == ["build", "test"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {"applied"}
