"""GitLab webhooks end to end through POST /hooks/<name>/ with X-Gitlab-Token: a push, its pipeline and a
production deployment become runs, jobs and commits that the Zadig statistics count; redelivery, a wrong
token and an event the mapper does not read.

Payloads follow GitLab's "Webhook events" page, https://docs.gitlab.com/user/project/integrations/webhook_events/
("Push events", "Pipeline events", "Deployment events"); the story in gitlab_helpers moves the pipeline and
deployment examples onto the push example's project and head commit.
"""

from datetime import UTC, datetime

import pytest

from insights import rollup_rebuild
from insights.models import Commit, Environment, Job, WorkflowRun
from insights.sources.models import Delivery, Source
from tests.sources.gitlab_helpers import HEAD, example, make_source, post, snapshot, story

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def posted(client, django_capture_on_commit_callbacks):
    source = make_source()
    for number, (event, payload) in enumerate(story()):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, source.name, event, payload, delivery=f"d-{number}")
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"
    return source


def test_the_story_makes_a_pipeline_run_and_a_deployment_run(posted):
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.APPLIED}
    pipeline = WorkflowRun.objects.get(id="gitlab-main:mike/diaspora#pipeline-31")
    assert (pipeline.project.key, pipeline.workflow.name, pipeline.status) == (
        "diaspora",
        "Pipeline for branch: master",
        "passed",
    )
    assert (pipeline.branch, pipeline.created_at) == ("master", at("2016-08-12T15:23:28"))
    jobs = [
        (
            j.name,
            j.type,
            j.status,
            j.started_at,
            j.finished_at,
            j.environment and j.environment.name,
            j.service.name,
            j.test_module,
        )
        for j in pipeline.jobs.order_by("position")
    ]
    assert jobs == [
        ("build-image", "build", "passed", at("2016-08-12T15:24:56"), at("2016-08-12T15:25:26"), None, "Diaspora", ""),
        (
            "test-image",
            "test",
            "passed",
            at("2016-08-12T15:26:12"),
            at("2016-08-12T15:26:29"),
            None,
            "Diaspora",
            "test-image",
        ),
        (
            "deploy-production",
            "deploy",
            "passed",
            at("2016-08-12T15:27:00"),
            at("2016-08-12T15:28:00"),
            "production",
            "Diaspora",
            "",
        ),
    ]
    deployment = WorkflowRun.objects.get(id="gitlab-main:mike/diaspora#deployment-15")
    assert (deployment.workflow.name, deployment.status, deployment.created_at) == (
        "deployments",
        "passed",
        at("2016-08-12T15:27:00"),
    )
    [job] = deployment.jobs.all()
    assert (job.name, job.type, job.status, job.environment.name, job.service.name) == (
        "production",
        "deploy",
        "passed",
        "production",
        "Diaspora",
    )
    assert (job.started_at, job.finished_at) == (at("2016-08-12T15:27:00"), at("2016-08-12T15:28:00"))
    assert Environment.objects.get(project__key="diaspora", name="production").production


def test_the_push_commits_attach_to_both_runs_that_build_its_head(posted):
    for run_id in ("gitlab-main:mike/diaspora#pipeline-31", "gitlab-main:mike/diaspora#deployment-15"):
        commits = list(
            Commit.objects.filter(run_id=run_id).order_by("committed_at").values_list("sha", "repo", "author")
        )
        assert commits == [
            ("b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "mike/diaspora", "Jordi Mallach"),
            (HEAD, "mike/diaspora", "GitLab dev user"),
        ]
    head = Commit.objects.get(run_id="gitlab-main:mike/diaspora#pipeline-31", sha=HEAD)
    assert head.committed_at == at("2012-01-03T21:36:29")
    assert head.message == "fixed readme"


def test_the_zadig_deploy_statistics_count_both_deployments(posted, api_client):
    rollup_rebuild.rebuild()
    window = {
        "startDate": int(at("2016-08-11T00:00:00").timestamp()),
        "endDate": int(at("2016-08-14T00:00:00").timestamp()),
    }
    deploy = api_client.get("/openapi/statistics/deploy", {**window, "productNames": "diaspora"}).json()
    assert (deploy["total"], deploy["success"]) == (2, 2)
    release = api_client.get(
        "/openapi/statistics/v2/release",
        {"start_time": window["startDate"], "end_time": window["endDate"], "projectKey": "diaspora"},
    ).json()
    assert (release["total"], release["success_count"]) == (2, 2)
    build = api_client.get("/openapi/statistics/build", {**window, "productNames": "diaspora"}).json()
    assert build["total"] == 1


def test_a_redelivery_changes_nothing(posted, client, django_capture_on_commit_callbacks):
    before, deliveries = snapshot(posted), Delivery.objects.count()
    event, payload = story()[3]
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, posted.name, event, payload, delivery="d-3")
    assert response.status_code == 200 and response.json()["status"] == "duplicate"
    assert (snapshot(posted), Delivery.objects.count()) == (before, deliveries)


def test_a_wrong_token_is_401_and_stores_nothing(client):
    source = make_source()
    response = post(client, source.name, "Pipeline Hook", example("pipeline"), token="not-the-token")
    assert response.status_code == 401
    assert not Delivery.objects.exists() and not WorkflowRun.objects.exists()
    assert Source.objects.get(pk=source.pk).refused_count == 1


def test_an_unknown_event_is_recorded_as_ignored(client, django_capture_on_commit_callbacks):
    source = make_source()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, source.name, "Issue Hook", {"object_kind": "issue"})
        tag = post(client, source.name, "Tag Push Hook", {"object_kind": "tag_push"})
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert tag.status_code == 202 and tag.json()["status"] == "ignored"
    assert sorted(Delivery.objects.values_list("event", "state")) == [
        ("Issue Hook", "ignored"),
        ("Tag Push Hook", "ignored"),
    ]
    assert not WorkflowRun.objects.exists()


def test_a_branch_deletion_is_stored_and_changes_no_run(client, django_capture_on_commit_callbacks):
    source = make_source()
    payload = example("push")
    payload.update(after="0" * 40, checkout_sha=None, commits=[])
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, source.name, "Push Hook", payload).status_code == 202
    assert Delivery.objects.get().subject == Delivery.Subject.NONE
    assert not WorkflowRun.objects.exists()


def test_skipped_builds_and_unfinished_builds_are_not_jobs_and_a_source_project_wins(
    client, django_capture_on_commit_callbacks
):
    from insights.models import Project

    project = Project.objects.create(key="shop", name="Shop")
    source = make_source(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, source.name, "Pipeline Hook", example("pipeline")).status_code == 202
    run = WorkflowRun.objects.get()
    assert run.project.key == "shop"
    assert sorted(Job.objects.values_list("name", "type", "status")) == [
        ("build-image", "build", "passed"),
        ("test-build", "test", "failed"),
        ("test-image", "test", "passed"),
    ]
    assert list(run.commits.values_list("sha", flat=True)) == ["bcbb5ec396a2c0f828686f14fac9b80b780504f2"]
