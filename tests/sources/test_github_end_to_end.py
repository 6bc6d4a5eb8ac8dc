"""GitHub deliveries through POST /hooks/<name>/: signed, stored, applied, counted; redelivery changes nothing."""

from datetime import UTC, datetime

import pytest

from insights import rollup_rebuild
from insights.models import Environment
from insights.sources.models import Delivery, Source
from tests.insights.test_pages import read_csv
from tests.sources import github_examples
from tests.sources import github_story as story
from tests.sources.conftest import body_of, signature

pytestmark = pytest.mark.django_db

HEAD = story.sha(0xABC)
PARENT = story.sha(0xABB)


def sequence():
    return [
        ("workflow_job", story.workflow_job(7, 71, HEAD, "build", minute=31)),
        ("workflow_job", story.workflow_job(7, 72, HEAD, "unit tests", conclusion="failure", minute=35)),
        ("workflow_job", story.workflow_job(7, 73, HEAD, "lint", status="in_progress", minute=36)),
        ("deployment_status", story.deployment_status(9, HEAD, "in_progress", minute=41)),
        ("deployment_status", story.deployment_status(9, HEAD, "success", minute=44)),
        ("push", story.push(HEAD, [(PARENT, 1, "first"), (HEAD, 2, "second")])),
    ]


def test_jobs_deployment_and_push_make_runs_jobs_and_commits(post_github, client, api_client, admin_client):
    github_examples.need()
    for number, (event, payload) in enumerate(sequence()):
        response = post_github(event, payload, f"d-{number}")
        assert response.status_code == 202, response.content
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.APPLIED}
    runs = story.stored()
    t = lambda minute: datetime(2021, 8, 5, 10, minute, tzinfo=UTC)  # noqa: E731
    commits = [
        ("octo-org/octo-repo", PARENT, datetime(2021, 8, 5, 7, 1, tzinfo=UTC), "Codertocat", "first"),
        ("octo-org/octo-repo", HEAD, datetime(2021, 8, 5, 7, 2, tzinfo=UTC), "Codertocat", "second"),
    ]
    assert runs == {
        "gh:octo-org/octo-repo#7": {
            "project": "octo-repo",
            "workflow": "CodeQL",  # the jobs' workflow_name: no workflow_run yet
            "status": "running",  # "lint" is still in progress
            "created_at": t(30),
            "branch": "main",
            "jobs": [
                ("build", "build", "passed", t(31), t(35), None, None, ""),
                ("unit tests", "test", "failed", t(35), t(39), None, None, "unit tests"),
            ],
            "commits": commits,
        },
        "gh:octo-org/octo-repo#deployment-9": {
            "project": "octo-repo",
            "workflow": "deployments",
            "status": "passed",
            "created_at": t(40),
            "branch": "main",
            "jobs": [("production", "deploy", "passed", t(40), t(44), "production", "octo-repo", "")],
            "commits": commits,
        },
    }
    assert Environment.objects.get(name="production").production  # the source's prod* pattern

    # The workflow_run arrives: its name and conclusion take over.
    assert post_github("workflow_run", story.workflow_run(7, HEAD, conclusion="failure"), "d-run").status_code == 202
    run = story.stored()["gh:octo-org/octo-repo#7"]
    assert (run["workflow"], run["status"], run["created_at"]) == (
        "CI",
        "failed",
        datetime(2021, 8, 5, 10, 30, 10, tzinfo=UTC),
    )

    # The Zadig statistics count the deployment.
    rollup_rebuild.rebuild()
    day = int(datetime(2021, 8, 5, tzinfo=UTC).timestamp())
    deploy = api_client.get("/openapi/statistics/deploy", {"startDate": day, "endDate": day}).json()
    assert deploy["total"] == 1 and deploy["success"] == 1, deploy
    # So do the Delivery page's deploy chart (its CSV) and its DORA figures (the production deployment and
    # the two commits it shipped, from their push).
    page = {"start": "2021-08-05", "end": "2021-08-05"}
    rows = read_csv(admin_client.get("/delivery/", {**page, "format": "csv", "chart": "deploy"}))
    assert [(row["success"], row["total"]) for row in rows] == [("1", "1")]
    dora = api_client.get("/api/v1/dora/summary", {"start_date": "2021-08-05", "end_date": "2021-08-05"}).json()
    assert dora["metrics"]["deployment_frequency"]["deployments"] == 1
    assert dora["metrics"]["lead_time_for_changes"]["commits"] == 2

    # Redelivery of every event (same X-GitHub-Delivery) changes nothing.
    before, deliveries = story.stored(), Delivery.objects.count()
    for number, (event, payload) in enumerate(sequence()):
        response = post_github(event, payload, f"d-{number}")
        assert response.status_code == 200 and response.json()["status"] == "duplicate"
    assert story.stored() == before and Delivery.objects.count() == deliveries


def test_a_deployment_flagged_production_by_github_is_production_whatever_its_name(post_github):
    github_examples.need()
    payload = story.deployment_status(5, HEAD, "success", minute=44, environment="live-eu")
    payload["deployment"]["production_environment"] = True
    assert post_github("deployment_status", payload).status_code == 202
    assert Environment.objects.get(name="live-eu").production
    other = story.deployment_status(6, HEAD, "success", minute=44, environment="staging")
    assert post_github("deployment_status", other).status_code == 202
    assert not Environment.objects.get(name="staging").production


def test_a_later_failure_or_inactive_status_and_a_running_one(post_github):
    github_examples.need()
    post_github("deployment_status", story.deployment_status(3, HEAD, "success", minute=42))
    post_github("deployment_status", story.deployment_status(3, HEAD, "inactive", minute=50))
    [job] = story.stored()["gh:octo-org/octo-repo#deployment-3"]["jobs"]
    assert job[2:5] == ("passed", datetime(2021, 8, 5, 10, 40, tzinfo=UTC), datetime(2021, 8, 5, 10, 42, tzinfo=UTC))
    post_github("deployment_status", story.deployment_status(4, HEAD, "queued", minute=41))
    run = story.stored()["gh:octo-org/octo-repo#deployment-4"]
    assert run["status"] == "running" and run["jobs"][0][2:5] == (
        "running",
        datetime(2021, 8, 5, 10, 40, tzinfo=UTC),
        None,
    )
    post_github("deployment_status", story.deployment_status(4, HEAD, "error", minute=43))
    assert story.stored()["gh:octo-org/octo-repo#deployment-4"]["status"] == "failed"


def test_only_in_progress_jobs_make_no_run_yet(post_github):
    github_examples.need()
    post_github("workflow_job", story.workflow_job(8, 81, HEAD, "build", status="in_progress"))
    assert story.stored() == {}
    assert Delivery.objects.get().state == Delivery.State.APPLIED


def test_a_wrong_signature_is_401_and_stores_nothing(post_github, github_source):
    github_examples.need()
    payload = story.workflow_job(7, 71, HEAD, "build")
    assert post_github("workflow_job", payload, sign=signature(body_of(payload), "another")).status_code == 401
    assert post_github("workflow_job", payload, sign="").status_code == 401
    assert not Delivery.objects.exists() and story.stored() == {}
    github_source.refresh_from_db()
    assert github_source.refused_count == 2


def test_an_unknown_event_is_202_and_recorded_as_ignored(post_github):
    response = post_github("issues", {"action": "opened", "issue": {"number": 1}})
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert Delivery.objects.get().state == Delivery.State.IGNORED
    assert story.stored() == {}


def test_ping_and_a_deleted_branch_push_are_acknowledged_and_change_nothing(post_github):
    github_examples.need()
    assert post_github("ping", github_examples.example("ping")).status_code == 202
    deleted = github_examples.example("push", lambda p: p["after"] == "0" * 40)
    assert post_github("push", deleted).status_code == 202
    assert set(Delivery.objects.values_list("subject", flat=True)) == {Delivery.Subject.NONE}
    assert story.stored() == {}


def test_an_unknown_or_disabled_source_is_404(client, post_github, github_source):
    payload = {"zen": "Keep it logically awesome."}
    body = body_of(payload)
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "x", "X-Hub-Signature-256": signature(body)}
    response = client.post("/hooks/nope/", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 404
    Source.objects.filter(pk=github_source.pk).update(enabled=False)
    assert post_github("ping", payload).status_code == 404
    assert not Delivery.objects.exists()
