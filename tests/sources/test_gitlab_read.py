"""Reading GitLab webhook payloads: each documented example is read; malformed ones are refused with 400
through POST /hooks/<name>/ (never a 500) and store nothing.

Follows GitLab's "Webhook events" page, https://docs.gitlab.com/user/project/integrations/webhook_events/ :
sections "Push events" (gitlab_payloads/push.json), "Pipeline events" (pipeline.json) and "Deployment
events" (deployment.json), whose example payloads the fixtures are.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.sources.gitlab import GitLabMapper
from insights.sources.gitlab_payloads import parse_time
from insights.sources.mapping import Malformed
from insights.sources.models import Delivery, Source
from tests.sources.gitlab_helpers import EVENTS, example, make_source, post
from tests.sources.payload_paths import mutate

MAPPER = GitLabMapper()


def test_the_documented_pipeline_example_is_read():
    reading = MAPPER.read("Pipeline Hook", example("pipeline"))
    assert reading.subject == Delivery.Subject.RUN
    assert reading.run_key == "gitlab-org/gitlab-test#pipeline-31"
    assert reading.head_sha == "bcbb5ec396a2c0f828686f14fac9b80b780504f2"
    assert reading.occurred_at == datetime(2016, 8, 12, 15, 26, 29, tzinfo=UTC)


def test_the_documented_deployment_example_is_read_with_the_sha_of_its_commit_url():
    reading = MAPPER.read("Deployment Hook", example("deployment"))
    assert reading.subject == Delivery.Subject.RUN
    assert reading.run_key == "root/test-deployment-webhooks#deployment-15"
    assert reading.head_sha == "279484c09fbe69ededfced8c1bb6e6d24616b468"
    assert reading.occurred_at == datetime(2021, 4, 28, 19, 50, tzinfo=UTC)  # 21:50 +0200


def test_the_documented_push_example_is_read_as_its_checkout_sha():
    reading = MAPPER.read("Push Hook", example("push"))
    assert (reading.subject, reading.run_key) == (Delivery.Subject.PUSH, "")
    assert reading.head_sha == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert reading.occurred_at == datetime(2012, 1, 3, 21, 36, 29, tzinfo=UTC)  # the last commit's time


def test_a_branch_deletion_is_about_nothing():
    payload = example("push")
    payload.update(after="0" * 40, checkout_sha=None, commits=[])
    assert MAPPER.read("Push Hook", payload).subject == Delivery.Subject.NONE


def test_a_pipeline_without_a_name_or_builds_is_read():
    payload = example("pipeline")
    del payload["object_attributes"]["name"], payload["builds"], payload["commit"]
    assert MAPPER.read("Pipeline Hook", payload).run_key == "gitlab-org/gitlab-test#pipeline-31"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-08-12 15:23:28 UTC", datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)),
        ("2021-04-28 21:50:00 +0200", datetime(2021, 4, 28, 21, 50, tzinfo=timezone(timedelta(hours=2)))),
        ("2011-12-12T14:27:31+02:00", datetime(2011, 12, 12, 12, 27, 31, tzinfo=UTC)),
        ("2021-02-23T02:41:37.886Z", datetime(2021, 2, 23, 2, 41, 37, 886000, tzinfo=UTC)),
        ("2021-02-23T02:41:37-0530", datetime(2021, 2, 23, 8, 11, 37, tzinfo=UTC)),
    ],
)
def test_gitlab_times_are_read_as_aware_datetimes(text, expected):
    moment = parse_time(text, "t")
    assert moment == expected and moment.tzinfo is not None


@pytest.mark.parametrize(
    "text", ["2016-08-12 15:23:28", "2016-13-12 15:23:28 UTC", "1999-12-31 23:59:59 UTC", "yesterday", 1471015408, None]
)
def test_times_without_a_zone_impossible_or_out_of_range_are_malformed(text):
    with pytest.raises(Malformed):
        parse_time(text, "t")


def _without(payload: dict, *path):
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


def _with(payload: dict, value, *path):
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


MALFORMED = [
    ("pipeline", lambda p: _without(p, "project")),
    ("pipeline", lambda p: _without(p, "project", "path_with_namespace")),
    ("pipeline", lambda p: _without(p, "object_attributes")),
    ("pipeline", lambda p: _without(p, "object_attributes", "id")),
    ("pipeline", lambda p: _with(p, "31", "object_attributes", "id")),
    ("pipeline", lambda p: _with(p, "bcbb5ec", "object_attributes", "sha")),
    ("pipeline", lambda p: _without(p, "object_attributes", "status")),
    ("pipeline", lambda p: _with(p, "2016-08-12 15:23:28", "object_attributes", "created_at")),
    ("pipeline", lambda p: _with(p, {"id": 1}, "builds")),
    ("pipeline", lambda p: _with(p, "x", "builds", 1, "started_at")),
    ("pipeline", lambda p: _without(p, "builds", 1, "name")),
    ("pipeline", lambda p: _with(p, "production", "builds", 0, "environment")),
    ("pipeline", lambda p: _with(p, 42, "object_attributes", "ref")),
    ("deployment", lambda p: _without(p, "deployment_id")),
    ("deployment", lambda p: _without(p, "status_changed_at")),
    ("deployment", lambda p: _with(p, None, "environment")),
    ("deployment", lambda p: _with(p, [], "project")),
    ("deployment", lambda p: _with(p, 7, "commit_url")),
    ("push", lambda p: _with(p, "not-a-sha", "checkout_sha")),
    ("push", lambda p: _with(p, "all", "commits")),
    ("push", lambda p: _without(p, "commits", 0, "id")),
    ("push", lambda p: _with(p, "12/12/2011", "commits", 1, "timestamp")),
    ("push", lambda p: _without(p, "project")),
    ("push", lambda p: []),
    ("push", lambda p: "a string"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "change"), MALFORMED)
def test_a_malformed_payload_is_refused_with_400_and_stores_nothing(client, name, change):
    source = make_source()
    response = post(client, source.name, EVENTS[name], change(example(name)))
    assert response.status_code == 400, response.content
    assert "cannot be read" in response.json()["detail"]
    assert not Delivery.objects.exists()
    source.refresh_from_db()
    assert (source.refused_count, source.accepted_count) == (1, 0)


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_refused_with_400(client):
    source = make_source()
    assert post(client, source.name, "Pipeline Hook", b"{not json").status_code == 400
    assert not Delivery.objects.exists()


# --- fuzz: random mutations of the documented examples ---------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
TIMES = st.sampled_from(
    [
        "2016-08-12 15:23:28 UTC",
        "2021-04-28 21:50:00 +0200",
        "2011-12-12T14:27:31+02:00",
        "1970-01-01 00:00:00 UTC",
        "2016-08-12 15:23:28 UTC\x00",
        "\x00",
        " \x00 x",
        " " * 300,
        "x" * 300,
    ]
)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(EVENTS)))
    payload = example(name)
    mutate(draw, payload, draw(st.integers(1, 4)), JSON_VALUES | TIMES)
    return name, payload


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mutated())
def test_random_mutations_are_read_or_refused_never_a_server_error_and_what_is_read_applies(
    django_capture_on_commit_callbacks, case
):
    name, payload = case
    if not Source.objects.filter(name="fuzz").exists():  # one source for every example of the run
        make_source("fuzz")
    before = Delivery.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(Client(), "fuzz", EVENTS[name], payload)
    assert response.status_code in (202, 400), response.content
    if response.status_code == 400:
        assert Delivery.objects.count() == before
    else:
        delivery = Delivery.objects.get(delivery_id=response.json()["delivery"])
        # whatever read accepted, the fold can make a run of (or leaves alone): never a failed apply
        assert delivery.state in (Delivery.State.APPLIED, Delivery.State.IGNORED), delivery.error
