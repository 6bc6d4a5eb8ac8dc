"""Order and redelivery do not matter: any interleaving of a GitLab story's deliveries, with redeliveries
under the same Idempotency-Key or resends under a new one, stores the same runs, jobs and commits as
posting them once in order.

The story (gitlab_helpers.story) is built from GitLab's documented examples, "Webhook events" page,
https://docs.gitlab.com/user/project/integrations/webhook_events/ : "Push events", "Pipeline events"
(three states of one pipeline) and "Deployment events" (running, then success).
"""

import itertools

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.sources.models import Delivery
from tests.sources.gitlab_helpers import make_source, post, snapshot, story

STORY = story()
_names = itertools.count()


def _post_all(sequence, django_capture_on_commit_callbacks) -> list:
    source = make_source(f"order-{next(_names)}")
    client = Client()
    for index, fresh in sequence:
        event, payload = STORY[index]
        delivery = f"{source.name}-{index}" + (f"-again-{fresh}" if fresh else "")
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, source.name, event, payload, delivery=delivery)
        assert response.status_code in (200, 202), response.content
    assert not Delivery.objects.filter(source=source, state=Delivery.State.FAILED).exists()
    return snapshot(source)


@st.composite
def deliveries(draw):
    """Every event at least once, in any order, some sent again (same id: a redelivery; a new id: a resend)."""
    extra = draw(st.lists(st.tuples(st.integers(0, len(STORY) - 1), st.integers(0, 2)), max_size=6))
    sequence = [(index, 0) for index in range(len(STORY))] + extra
    return draw(st.permutations(sequence))


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=deliveries())
def test_any_interleaving_and_redelivery_stores_what_one_ordered_pass_does(
    django_capture_on_commit_callbacks, sequence
):
    expected = _post_all([(index, 0) for index in range(len(STORY))], django_capture_on_commit_callbacks)
    assert [run[0] for run in expected] == ["mike/diaspora#deployment-15", "mike/diaspora#pipeline-31"]
    assert _post_all(sequence, django_capture_on_commit_callbacks) == expected


@pytest.mark.django_db
def test_a_late_running_state_does_not_undo_a_finished_pipeline(django_capture_on_commit_callbacks):
    ordered = _post_all([(index, 0) for index in range(len(STORY))], django_capture_on_commit_callbacks)
    reversed_ = _post_all([(index, 0) for index in reversed(range(len(STORY)))], django_capture_on_commit_callbacks)
    assert ordered == reversed_
    statuses = {run[0]: run[3] for run in reversed_}
    assert statuses == {"mike/diaspora#deployment-15": "passed", "mike/diaspora#pipeline-31": "passed"}
