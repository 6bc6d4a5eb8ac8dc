"""The GitHub mapper reads every example GitHub publishes, and refuses (400, nothing stored) what it cannot."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.sources.mapping import Malformed, mapper_for
from insights.sources.models import Delivery, Source
from tests.sources import github_examples
from tests.sources.conftest import body_of
from tests.sources.payload_paths import mutate

pytestmark = pytest.mark.django_db

MAPPER = mapper_for("github")


@pytest.mark.parametrize(("event", "payload"), github_examples.params(*github_examples.EVENTS))
def test_every_example_is_read(event, payload):
    github_examples.need()
    reading = MAPPER.read(event, payload)
    if event == "ping":
        assert reading.subject == Delivery.Subject.NONE
    elif event == "push":
        if payload["after"] == "0" * 40:
            assert reading.subject == Delivery.Subject.NONE
        else:
            assert (reading.subject, reading.head_sha) == (Delivery.Subject.PUSH, payload["after"])
    else:
        repo = payload["repository"]["full_name"]
        key = {
            "workflow_run": lambda: f"{repo}#{payload['workflow_run']['id']}",
            "workflow_job": lambda: f"{repo}#{payload['workflow_job']['run_id']}",
            "deployment_status": lambda: f"{repo}#deployment-{payload['deployment']['id']}",
        }[event]()
        assert (reading.subject, reading.run_key) == (Delivery.Subject.RUN, key)
        assert reading.occurred_at is not None and len(reading.head_sha) == 40


@pytest.mark.parametrize(("event", "payload"), github_examples.params(*github_examples.EVENTS))
def test_every_example_is_stored_and_applied_through_the_endpoint(post_github, event, payload):
    github_examples.need()
    response = post_github(event, payload)
    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.APPLIED, delivery.error


def _without(path):
    def mutate(payload):
        *parents, last = path
        for key in parents:
            payload = payload[key]
        del payload[last]

    return mutate


def _set(path, value):
    def mutate(payload):
        *parents, last = path
        for key in parents:
            payload = payload[key]
        payload[last] = value

    return mutate


MALFORMED = [
    ("workflow_run", _without(["workflow_run"]), "workflow_run must be an object"),
    ("workflow_run", _set(["workflow_run", "id"], "289782451"), "workflow_run.id"),
    ("workflow_run", _set(["workflow_run", "head_sha"], "main"), "workflow_run.head_sha"),
    ("workflow_run", _without(["workflow_run", "created_at"]), "workflow_run.created_at"),
    ("workflow_run", _set(["workflow_run", "created_at"], "yesterday"), "workflow_run.created_at"),
    ("workflow_run", _without(["repository"]), "repository must be an object"),
    ("workflow_run", _set(["repository", "full_name"], 7), "repository.full_name"),
    ("workflow_job", _without(["workflow_job", "completed_at"]), "workflow_job.completed_at"),
    ("workflow_job", _set(["workflow_job", "run_id"], None), "workflow_job.run_id"),
    ("workflow_job", _set(["workflow_job", "labels"], "ubuntu-latest"), "workflow_job.labels"),
    ("workflow_job", _set(["workflow_job", "completed_at"], "2021-08-05T10:30:00Z"), "earlier than started_at"),
    ("workflow_job", _set(["workflow_job", "name"], " "), "workflow_job.name"),
    ("deployment_status", _set(["deployment_status", "state"], "exploded"), "deployment_status.state"),
    ("deployment_status", _without(["deployment"]), "deployment must be an object"),
    ("deployment_status", _set(["deployment", "sha"], None), "deployment.sha"),
    ("deployment_status", _set(["deployment", "production_environment"], "yes"), "production_environment"),
    ("push", _set(["commits"], {}), "commits must be a list"),
    ("push", _set(["commits", 0, "timestamp"], 12), "commits[0].timestamp"),
    ("push", _set(["commits", 0, "id"], "xyz"), "commits[0].id"),
    ("push", _without(["after"]), "after"),
]


def _example_for(event):
    if event == "workflow_job":
        return github_examples.example(event, lambda p: p["workflow_job"]["status"] == "completed")
    if event == "push":
        return github_examples.example(event, lambda p: p["commits"])
    return github_examples.example(event)


@pytest.mark.parametrize(("event", "mutate", "message"), MALFORMED, ids=[m for _e, _m, m in MALFORMED])
def test_a_malformed_payload_is_refused_with_400_and_nothing_stored(post_github, github_source, event, mutate, message):
    payload = _example_for(event)
    mutate(payload)
    with pytest.raises(Malformed, match="."):
        MAPPER.read(event, payload)
    response = post_github(event, payload)
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert not Delivery.objects.exists()
    github_source.refresh_from_db()
    assert github_source.refused_count == 1 and message in github_source.last_error


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_payload_that_is_not_an_object_is_refused(post_github, body):
    for event in github_examples.EVENTS:
        assert post_github(event, body).status_code == 400
    assert not Delivery.objects.exists()


# --- fuzz: random mutations of real examples ---------------------------------------------------------


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "0" * 40, "completed", "success", "2021-08-05T10:34:58Z", "9999-01-01T00:00:00Z"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_examples(draw):
    all_examples = [(event, p) for event in github_examples.EVENTS for _n, p in github_examples.examples(event)]
    event, payload = draw(st.sampled_from(all_examples))
    payload = copy.deepcopy(payload)
    mutate(draw, payload, draw(st.integers(min_value=1, max_value=3)), JSON_VALUES)
    return event, payload


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_mutations_of_real_examples_are_400_or_applied_never_500(post_github, github_source, data):
    github_examples.need()
    event, payload = data.draw(mutated_examples())
    Delivery.objects.all().delete()
    Source.objects.filter(pk=github_source.pk).update(refused_count=0)
    response = post_github(event, payload)
    assert response.status_code in (202, 400), response.content
    if response.status_code == 400:
        assert not Delivery.objects.exists()
    else:
        # What read accepts always folds into a run the API takes.
        delivery = Delivery.objects.get()
        assert delivery.state == Delivery.State.APPLIED, (delivery.error, body_of(payload)[:2000])
