"""Status counts stored inside the sample row: the migration that moved them there, the class sums
every writer keeps, the PostgreSQL COPY ingest path (replace, concurrency, dirty marks) and its errors."""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cdnorigin import rollups
from cdnorigin.dirty import FIVE_MINUTES
from cdnorigin.ingest import add_origin_samples, replace_origin_samples
from cdnorigin.models import CLASS_FIELDS, DirtyOriginBucket, Domain, OriginRollup, OriginSample

BEFORE = [("cdnorigin", "0002_hour_rollup_five_minute_slots")]
AFTER = [("cdnorigin", "0003_status_counts_in_sample")]
T0 = 1_726_416_000  # 2024-09-15 16:00 UTC
URL = "/api/v1/cdn/origin-samples/"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def class_sums(status: dict) -> tuple[int, ...]:
    return tuple(sum(n for code, n in status.items() if int(code) // 100 == klass) for klass in range(1, 6))


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_status_counts_into_the_samples_exactly_and_back():
    old = migrate(BEFORE)
    try:
        domain = old.get_model("cdnorigin", "Domain").objects.create(name="m.example.com")
        samples = old.get_model("cdnorigin", "OriginSample").objects
        counts = old.get_model("cdnorigin", "OriginStatusCount").objects
        expected = {
            0: {"101": 1, "200": 2**40, "206": 0, "304": 7, "404": 3, "499": 4, "500": 5, "599": 6},
            1: {},  # a sample without any status row
            2: {"200": 9},
        }
        ids = {}
        for n, status in expected.items():
            minute = datetime.fromtimestamp(T0 + 60 * n, UTC)
            ids[n] = samples.create(domain=domain, minute=minute, flux=n, pv=n).pk
            counts.bulk_create([counts.model(sample_id=ids[n], code=int(c), count=k) for c, k in status.items()])
        before = sorted(counts.values_list("sample_id", "code", "count"))

        migrate(AFTER)
        rows = {row[0]: row[1:] for row in OriginSample.objects.values_list("pk", "status", *CLASS_FIELDS)}
        assert rows == {ids[n]: (status, *class_sums(status)) for n, status in expected.items()}

        old = migrate(BEFORE)
        assert (
            sorted(old.get_model("cdnorigin", "OriginStatusCount").objects.values_list("sample_id", "code", "count"))
            == before
        )
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("cdnorigin"))  # back to the latest


@pytest.fixture
def domains(db):
    return [Domain.objects.create(name=name) for name in ("a.example.com", "b.example.com")]


def item(domain: str, timestamp: int, tag: int, status=None) -> dict:
    return {
        "domain": domain,
        "timestamp": timestamp,
        "flux": tag * 1000,
        "pv": tag,
        "status": status if status is not None else {200: tag, 404: 1},
    }


def test_every_writer_keeps_the_class_sums(domains, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        replace_origin_samples([item("a.example.com", T0, 5, {101: 1, 204: 2, 302: 3, 404: 4, 503: 5})])
        add_origin_samples(domains[0], {datetime.fromtimestamp(T0, UTC): (1, 1, {200: 10, 503: 1, 418: 0})})
        add_origin_samples(domains[1], {datetime.fromtimestamp(T0, UTC): (1, 1, {200: 10})})
    a, b = OriginSample.objects.order_by("domain__name")
    assert a.status == {"101": 1, "200": 10, "204": 2, "302": 3, "404": 4, "418": 0, "503": 6}
    assert [getattr(a, name) for name in CLASS_FIELDS] == [1, 12, 3, 4, 6]
    assert (b.status, b.status_2xx) == ({"200": 10}, 10)
    assert OriginRollup.objects.get(domain=domains[0], interval="5min").status == {
        "101": 1,
        "200": 10,
        "204": 2,
        "302": 3,
        "404": 4,
        "503": 6,
    }


def test_a_repost_replaces_the_status_and_marks_exactly_the_touched_buckets(domains):
    minutes = [T0 + 60 * n for n in range(12)]  # three 5-minute buckets, T0 is bucket-aligned
    replace_origin_samples([item("a.example.com", ts, 2) for ts in minutes[:7]] + [item("b.example.com", T0, 3)])
    marks = dict(DirtyOriginBucket.objects.values_list("id", "marked_at"))
    starts = set(DirtyOriginBucket.objects.values_list("domain_pk", "start"))
    bucket = lambda ts: datetime.fromtimestamp(ts - ts % FIVE_MINUTES, UTC)  # noqa: E731
    assert starts == {(domains[0].pk, bucket(T0)), (domains[0].pk, bucket(T0 + 300)), (domains[1].pk, bucket(T0))}

    replace_origin_samples([item("a.example.com", ts, 9, {502: 9}) for ts in minutes[5:]])
    rows = dict(OriginSample.objects.filter(domain=domains[0]).values_list("minute", "status"))
    assert [rows[datetime.fromtimestamp(ts, UTC)] for ts in minutes] == [{"200": 2, "404": 1}] * 5 + [{"502": 9}] * 7
    assert OriginSample.objects.filter(domain=domains[0], status_5xx=9, status_2xx=0).count() == 7
    after = dict(DirtyOriginBucket.objects.values_list("id", "marked_at"))
    assert len(after) == 4  # one new bucket, T0 + 600
    moved = [mark_id for mark_id, marked_at in marks.items() if after[mark_id] != marked_at]
    assert len(moved) == 1  # only a.example.com's second bucket was written again


def test_an_integer_json_cannot_hold_is_a_400_writing_nothing(api_client, domains):
    body = '[{"domain": "a.example.com", "timestamp": 1726416000, "flux": 1' + "0" * 30 + ', "pv": 1}]'
    response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert not OriginSample.objects.exists() and not DirtyOriginBucket.objects.exists()


def test_any_content_type_is_parsed_as_json(api_client, domains):
    body = json.dumps([item("a.example.com", T0, 4, {"200": 4})])
    response = api_client.post(URL, body, content_type="text/plain")
    assert response.status_code == 201, response.content
    assert OriginSample.objects.get().status == {"200": 4}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_reposts_of_the_same_minutes_never_mix_writes_or_deadlock():
    for name in ("a.example.com", "b.example.com"):
        Domain.objects.create(name=name)
    minutes = [T0 + 60 * n for n in range(400)]
    failures = []

    def poster(tag: int, reverse: bool):
        try:
            for round_ in range(4):
                batch = [
                    item(name, ts, tag * 10 + round_) for name in ("a.example.com", "b.example.com") for ts in minutes
                ]
                replace_origin_samples(batch[::-1] if reverse else batch)
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poster, args=(tag, tag % 2 == 1)) for tag in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert OriginSample.objects.count() == 800
    for flux, pv, status, two in OriginSample.objects.values_list("flux", "pv", "status", "status_2xx"):
        assert flux // 1000 == pv == status["200"] == two, "a sample mixes two writes"
    rollups.recompute_dirty()
    five = OriginRollup.objects.filter(interval="5min")
    for domain_id, start, pv, status in five.values_list("domain_id", "start", "pv", "status"):
        stored = OriginSample.objects.filter(
            domain_id=domain_id, minute__gte=start, minute__lt=start + timedelta(minutes=5)
        ).values_list("pv", flat=True)
        assert pv == sum(stored) == status["200"]
