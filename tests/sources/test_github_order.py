"""Any interleaving of a few runs' GitHub deliveries, with any redeliveries, stores what posting them once
in order does: the fold chooses by content, never by arrival."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.models import WorkflowRun
from insights.sources.models import Delivery
from tests.sources import github_examples
from tests.sources import github_story as story

pytestmark = pytest.mark.django_db

HEAD_1, HEAD_2, HEAD_3 = story.sha(0x111), story.sha(0x222), story.sha(0x333)


def events():
    """(delivery id, event, payload) about three Actions runs, one deployment and their pushes."""
    listed = [
        ("workflow_run", story.workflow_run(11, HEAD_1, status="in_progress")),
        ("workflow_job", story.workflow_job(11, 111, HEAD_1, "build", status="in_progress", minute=31)),
        ("workflow_job", story.workflow_job(11, 111, HEAD_1, "build", minute=31)),
        ("workflow_job", story.workflow_job(11, 112, HEAD_1, "integration tests", conclusion="failure", minute=36)),
        ("workflow_job", story.workflow_job(11, 113, HEAD_1, "deploy staging", conclusion="skipped", minute=41)),
        ("workflow_run", story.workflow_run(11, HEAD_1, conclusion="failure")),
        ("workflow_job", story.workflow_job(12, 121, HEAD_2, "build", minute=31, hour=11)),
        ("workflow_job", story.workflow_job(12, 122, HEAD_2, "package", status="queued", minute=36, hour=11)),
        ("workflow_job", story.workflow_job(13, 131, HEAD_3, "check", conclusion="timed_out", minute=20, hour=12)),
        ("workflow_job", story.workflow_job(13, 132, HEAD_3, "check", minute=20, hour=13, run_attempt=2)),
        ("workflow_run", story.workflow_run(13, HEAD_3, hour=13)),
        ("deployment_status", story.deployment_status(20, HEAD_1, "queued", minute=41)),
        ("deployment_status", story.deployment_status(20, HEAD_1, "in_progress", minute=42)),
        ("deployment_status", story.deployment_status(20, HEAD_1, "success", minute=45)),
        ("deployment_status", story.deployment_status(20, HEAD_1, "inactive", minute=59)),
        ("push", story.push(HEAD_1, [(story.sha(0x110), 1, "one"), (HEAD_1, 2, "two")])),
        ("push", story.push(HEAD_1, [(HEAD_1, 2, "two")])),  # the same head pushed to another branch
        ("push", story.push(HEAD_2, [(HEAD_2, 5, "three")])),
        ("push", story.push(HEAD_3, [(HEAD_3, 7, "four")])),
    ]
    return [(f"delivery-{number}", event, payload) for number, (event, payload) in enumerate(listed)]


def _reset():
    WorkflowRun.objects.all().delete()
    Delivery.objects.all().delete()


def _post_all(post_github, deliveries):
    for delivery_id, event, payload in deliveries:
        assert post_github(event, payload, delivery_id).status_code in (200, 202)
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.APPLIED}
    return story.stored()


def test_the_runs_posted_in_order(post_github):
    github_examples.need()
    runs = _post_all(post_github, events())
    assert {
        key: (run["workflow"], run["status"], len(run["jobs"]), len(run["commits"])) for key, run in runs.items()
    } == {
        "gh:octo-org/octo-repo#11": ("CI", "failed", 3, 2),
        "gh:octo-org/octo-repo#12": ("CodeQL", "running", 1, 1),
        "gh:octo-org/octo-repo#13": ("CI", "passed", 1, 1),  # attempt 2's "check" replaces attempt 1's
        "gh:octo-org/octo-repo#deployment-20": ("deployments", "passed", 1, 2),
    }
    assert [job[:3] for job in runs["gh:octo-org/octo-repo#11"]["jobs"]] == [
        ("build", "build", "passed"),
        ("integration tests", "test", "failed"),
        ("deploy staging", "deploy", "cancelled"),
    ]


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_interleaving_with_redeliveries_stores_the_same(post_github, data):
    github_examples.need()
    listed = events()
    _reset()
    expected = _post_all(post_github, listed)
    _reset()
    shuffled = data.draw(st.permutations(listed))
    repeats = data.draw(st.lists(st.sampled_from(listed), max_size=8))
    order = data.draw(st.permutations(shuffled + repeats))
    assert _post_all(post_github, order) == expected
