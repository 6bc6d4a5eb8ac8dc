"""The webhook endpoint's promises, whatever the kind: only an enabled source's authentic deliveries are
stored; a redelivery changes nothing; nothing refused is half-written; every stored delivery is applied
or marked failed with its reason, and can be replayed."""

import logging

import pytest
from django.test import Client

from insights.models import Commit, Job, WorkflowRun
from insights.sources.models import Delivery, Source
from insights.sources.retention import purge_deliveries

pytestmark = pytest.mark.django_db
SHA = "ab" * 20


def job(name="build", status="passed", start="2024-05-01T09:00:00Z", end="2024-05-01T09:05:00Z", **extra):
    return {"name": name, "type": "build", "status": status, "started_at": start, "finished_at": end, **extra}


def run_event(run="r1", at="2024-05-01T09:05:00Z", **extra):
    return {"run": run, "sha": SHA, "at": at, "job": job(), **extra}


def test_an_authentic_delivery_is_stored_applied_and_counted(fake_source, post_hook):
    response = post_hook("fake_run", run_event(), delivery="d-1")
    assert response.status_code == 202, response.content
    assert response.json() == {"status": "queued", "event": "fake_run", "delivery": "d-1"}
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.run_key, delivery.head_sha) == ("applied", "r1", SHA)
    run = WorkflowRun.objects.get()
    assert run.id == "fake:r1" and run.project.key == "shop" and run.branch == "main"
    assert list(Job.objects.values_list("name", "status")) == [("build", "passed")]
    fake_source.refresh_from_db()
    assert (fake_source.accepted_count, fake_source.refused_count) == (1, 0)
    assert fake_source.last_delivery_at == delivery.received_at


def test_a_redelivery_is_acknowledged_and_changes_nothing(fake_source, post_hook):
    post_hook("fake_run", run_event(), delivery="d-1")
    before = WorkflowRun.objects.get().received_at
    response = post_hook("fake_run", run_event(job=job(status="failed")), delivery="d-1")
    assert response.status_code == 200
    assert response.json() == {"status": "duplicate", "delivery": "d-1"}
    assert Delivery.objects.count() == 1
    assert WorkflowRun.objects.get().received_at == before
    assert Job.objects.get().status == "passed"


@pytest.mark.parametrize("name", ["nobody", "off"])
def test_an_unknown_or_disabled_source_gets_404_and_nothing_is_stored(fake_source, post_hook, name):
    Source.objects.create(name="off", kind="github", enabled=False, secret=fake_source.secret)
    response = post_hook("fake_run", run_event(), name=name)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert not Delivery.objects.exists() and not WorkflowRun.objects.exists()


def test_a_wrong_signature_is_401_stores_nothing_and_is_counted(fake_source, post_hook):
    response = post_hook("fake_run", run_event(), secret="not-the-secret")
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["detail"]
    assert not Delivery.objects.exists() and not WorkflowRun.objects.exists()
    fake_source.refresh_from_db()
    assert (fake_source.accepted_count, fake_source.refused_count) == (0, 1)
    assert "does not match" in fake_source.last_error


def test_a_missing_signature_is_401(fake_source):
    response = Client().post(
        "/hooks/fake/", b"{}", content_type="application/json", headers={"X-GitHub-Event": "fake_ping"}
    )
    assert response.status_code == 401


def test_an_unknown_event_is_202_recorded_and_ignored(fake_source, post_hook):
    response = post_hook("issues", {"action": "opened"}, delivery="d-9")
    assert response.status_code == 202
    assert response.json() == {"status": "ignored", "event": "issues", "delivery": "d-9"}
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.event) == ("ignored", "issues")
    assert not WorkflowRun.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "not a JSON document"),
        (b"[1, 2]", "payload cannot be read"),
        (b'{"run": 5, "at": "2024-05-01T09:00:00Z"}', "run and at are required"),
    ],
)
def test_a_malformed_payload_is_400_with_a_reason_and_stores_nothing(fake_source, post_hook, body, message):
    response = post_hook("fake_run", body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Delivery.objects.exists()
    fake_source.refresh_from_db()
    assert fake_source.refused_count == 1


def test_a_missing_event_header_is_400(fake_source, post_hook):
    response = post_hook("", run_event())
    assert response.status_code == 400
    assert response.json() == {"detail": "The X-GitHub-Event header is missing."}


def test_a_body_over_the_limit_is_413(fake_source, post_hook, settings):
    settings.INSIGHTS_HOOK_MAX_BYTES = 100
    response = post_hook("fake_run", run_event(padding="x" * 200))
    assert response.status_code == 413
    assert not Delivery.objects.exists()


def test_only_post_is_answered(fake_source):
    assert Client().get("/hooks/fake/").status_code == 405


def test_a_delivery_without_an_id_is_known_again_by_its_bytes(fake_source, post_hook):
    # Delivery ids are optional for some senders: the body's digest stands in for it.
    import orjson

    body = orjson.dumps(run_event())
    first = post_hook("fake_run", body, headers={"X-GitHub-Delivery": ""})
    second = post_hook("fake_run", body, headers={"X-GitHub-Delivery": ""})
    assert (first.status_code, second.status_code) == (202, 200)
    assert Delivery.objects.get().delivery_id.startswith("sha256:")


def test_deliveries_fold_into_one_run_whatever_their_order(fake_source, post_hook):
    events = [
        run_event(at="2024-05-01T09:05:00Z", job=job("build")),
        run_event(at="2024-05-01T09:20:00Z", job=job("test", start="2024-05-01T09:10:00Z", end="2024-05-01T09:20:00Z")),
        run_event(at="2024-05-01T09:30:00Z", job=job("build", status="failed"), branch="hotfix/x"),
    ]
    for event in reversed(events):
        post_hook("fake_run", event)
    assert sorted(Job.objects.values_list("name", "status")) == [("build", "failed"), ("test", "passed")]
    run = WorkflowRun.objects.get()
    assert (run.status, run.branch) == ("failed", "hotfix/x"), "the latest event by its own time wins"


def test_a_push_gives_its_commits_to_the_runs_building_its_head_before_or_after_them(fake_source, post_hook):
    commit = {"sha": SHA, "repo": "acme/shop", "committed_at": "2024-05-01T08:00:00Z", "author": "a", "message": "m"}
    post_hook("fake_run", run_event(run="early"))
    post_hook("fake_push", {"push": SHA, "commits": [commit]})
    post_hook("fake_run", run_event(run="late"))
    assert sorted(Commit.objects.values_list("run_id", "sha")) == [("fake:early", SHA), ("fake:late", SHA)]


def test_a_fold_that_fails_marks_the_delivery_failed_changes_nothing_and_replays_after_a_fix(fake_source, post_hook):
    post_hook("fake_run", run_event(job=job("build")))
    # A job of 40 days: the ingest's own rules refuse the run it makes.
    response = post_hook("fake_run", run_event(at="2024-06-10T00:00:00Z", job=job("long", end="2024-06-10T00:00:00Z")))
    assert response.status_code == 202, "acknowledged: it is stored, whatever applying it gives"
    bad = Delivery.objects.get(state="failed")
    assert "finished_at" in bad.error and "31 days" in bad.error
    assert list(Job.objects.values_list("name", flat=True)) == ["build"], "the run keeps its good deliveries"
    fake_source.refresh_from_db()
    assert "refused" in fake_source.last_error
    # A later good delivery of the same run is applied without the failed one.
    post_hook("fake_run", run_event(at="2024-05-01T10:00:00Z", job=job("deploy")))
    assert sorted(Job.objects.values_list("name", flat=True)) == ["build", "deploy"]
    # The fix: the failed payload's job is shortened (as a mapper fix would read it differently); replay.
    bad.body = bad.body.replace("2024-06-10T00:00:00Z", "2024-05-02T00:00:00Z")
    bad.save()
    from django.core.management import call_command

    call_command("replay_deliveries", "--source", "fake")
    assert not Delivery.objects.filter(state="failed").exists()
    assert sorted(Job.objects.values_list("name", flat=True)) == ["build", "deploy", "long"]


def test_a_delivery_left_pending_is_applied_by_the_sweep(fake_source, monkeypatch):
    from insights.sources import receive
    from insights.sources.apply import apply_pending

    monkeypatch.setattr(receive, "enqueue_apply", lambda pk: None)  # the broker lost it
    import orjson

    from tests.sources.conftest import signature

    body = orjson.dumps(run_event())
    headers = {"X-GitHub-Event": "fake_run", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": signature(body)}
    assert Client().post("/hooks/fake/", body, content_type="application/json", headers=headers).status_code == 202
    assert Delivery.objects.get().state == "pending" and not WorkflowRun.objects.exists()
    assert apply_pending(older_than_seconds=0) == 1
    assert Delivery.objects.get().state == "applied" and WorkflowRun.objects.exists()


def test_old_deliveries_are_purged_by_run_not_one_by_one(fake_source, post_hook, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.INSIGHTS_DELIVERY_RETENTION_DAYS = 30
    post_hook("fake_run", run_event(run="old"))
    post_hook("fake_run", run_event(run="mixed"))
    post_hook("fake_run", run_event(run="mixed", at="2024-05-01T09:10:00Z", job=job("test")))
    post_hook("fake_ping", {})
    long_ago = timezone.now() - timedelta(days=31)
    Delivery.objects.filter(run_key="old").update(received_at=long_ago)
    Delivery.objects.filter(event="fake_ping").update(received_at=long_ago)
    first_of_mixed = Delivery.objects.filter(run_key="mixed").order_by("id").first()
    Delivery.objects.filter(pk=first_of_mixed.pk).update(received_at=long_ago)
    assert purge_deliveries() == 2
    assert sorted(Delivery.objects.values_list("run_key", flat=True)) == ["mixed", "mixed"]
    assert WorkflowRun.objects.count() == 2, "stored runs are kept"


def test_the_secret_never_reaches_the_log(fake_source, post_hook, caplog):
    from tests.sources.conftest import SECRET

    caplog.set_level(logging.DEBUG)
    post_hook("fake_run", run_event())
    post_hook("fake_run", run_event(), secret="wrong")
    assert SECRET not in caplog.text
    assert SECRET not in Source.objects.get().secret, "stored encrypted"


def test_deliveries_are_counted_for_prometheus(fake_source, post_hook):
    from common.metrics import WEBHOOK_DELIVERIES

    def count(source, outcome):
        return WEBHOOK_DELIVERIES.labels(source, outcome)._value.get()

    before = count("fake", "accepted"), count("fake", "unauthorized"), count("unknown", "not_found")
    post_hook("fake_run", run_event())
    post_hook("fake_run", run_event(), secret="wrong")
    post_hook("fake_run", run_event(), name="nobody")
    after = count("fake", "accepted"), count("fake", "unauthorized"), count("unknown", "not_found")
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]
