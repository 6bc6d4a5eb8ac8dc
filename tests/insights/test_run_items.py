"""The hand-written run validation (`insights.api.run_items`) against the serializers it replaced.

`WorkflowRunInputSerializer` still states the rules (the OpenAPI schema is generated from it);
the POST path validates by hand. On random good and bad bodies both must give equal validated
values, or byte-equal error bodies.
"""

import json

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from insights.api.run_items import validate_runs
from insights.api.runs import WorkflowRunInputSerializer

STATUSES = ["passed", "failed", "timeout", "cancelled", "running"]
TYPES = ["build", "deploy", "test", "other"]
GOOD_TIMES = [
    "2022-08-01T10:00:00+08:00",
    "2022-08-01T10:03:00+08:00",
    "2022-08-01T02:00:00Z",
    "2022-08-01T02:00:00.5+00:00",
    "  2022-08-01T10:00:00+08:00 ",
    "2022-08-01 10:00:00-05:30",
    "2000-01-01T00:00:00+00:00",
    "2100-01-01T00:00:00Z",
    "2024-10-27T23:30:00+01:00",
    "2022-08-01T10:00:00.123456789+08:00",
    "2022-W31-1T10:00:00+08:00",
    "2022-08-01T10:00:00+23:59",
]
BAD_TIMES = [
    "2022-08-01T10:00:00",
    "2022-08-01",
    "yesterday",
    "",
    "   ",
    "1969-12-31T23:59:59+00:00",
    "1999-12-31T23:59:59+00:00",
    "2000-01-01T00:00:00+00:01",
    "2100-01-01T00:00:01Z",
    "\uff12\uff10\uff12\uff12-08-01T10:00:00Z",
    "2022-08-01T10:00:00Z\x00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+01:00",
    "2022-02-30T00:00:00Z",
    "2022-08-01T25:00:00Z",
    1659319200,
    1.5,
    True,
    None,
    [],
    {"at": 1},
]
GOOD_TEXT = ["build-svc", "a", " padded ", "é名", "x" * 200, " " + "y" * 200 + "\t"]
BAD_TEXT = ["", "   ", "\u3000", "x" * 201, "a\x00b", "\ud800", 42, 2.0, False, None, [], {"a": 1}]
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
OTHER = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), FLOATS)
ODD = st.one_of(OTHER, st.text(max_size=4), st.lists(st.integers(), max_size=2))


def weighted(*choices):
    """One of the strategies, chosen with the given weights (hypothesis' one_of weighs evenly)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda n: table[n])


def field(good, bad):
    """A value for a field, or the marker `...` (left out): mostly good, sometimes bad."""
    return weighted((12, st.sampled_from(good)), (2, st.sampled_from(bad)), (1, ODD), (1, st.just(...)))


@st.composite
def jobs(draw, clean):
    if clean:
        job = {
            "name": draw(st.sampled_from(GOOD_TEXT)),
            "type": draw(st.sampled_from(TYPES)),
            "status": draw(st.sampled_from(STATUSES)),
            "started_at": draw(st.sampled_from(GOOD_TIMES[:4])),
            "finished_at": draw(st.sampled_from(GOOD_TIMES[1:2])),
            "test_module": draw(st.sampled_from(["unit", "", "  e2e "])),
        }
        if draw(st.booleans()):
            job["environment"] = draw(st.sampled_from(["prod", "", None, " dev "]))
        if draw(st.booleans()):
            job["case_count"] = draw(st.one_of(st.none(), st.integers(0, 2**31 - 1)))
        return job
    candidates = {
        "name": field(GOOD_TEXT, BAD_TEXT),
        "type": field(TYPES, ["lint", "", "BUILD", " build", 1, None]),
        "status": field(STATUSES, ["success", "", "Passed", None, 0]),
        "started_at": field(GOOD_TIMES, BAD_TIMES),
        "finished_at": field(GOOD_TIMES, BAD_TIMES),
        "environment": field(["prod", "", "  ", None, " dev "], BAD_TEXT),
        "service": field(["svc", "", None], BAD_TEXT),
        "test_module": field(["unit", "", "  "], BAD_TEXT),
        "case_count": field([0, 24, None, 2**31 - 1], [-1, 2**31, 2.5, 2.0, "24", True, 10**30]),
        "duration": weighted((12, st.just(...)), (1, ODD)),
        "Name": weighted((12, st.just(...)), (1, ODD)),
    }
    job = {}
    for name, strategy in candidates.items():
        value = draw(strategy)
        if value is not ...:
            job[name] = value
    return job


GOOD_SHAS = ["a" * 40, "0123456789ABCDEF" * 4, "f" * 64, "1234567890abcdef1234567890abcdef12345678"]
BAD_SHAS = ["a" * 39, "g" * 40, "a" * 41, "a" * 65, " ", "", 40, None]
GOOD_COMMIT_TIMES = [*GOOD_TIMES, 946684800, 1725120000, 4102444800]
BAD_COMMIT_TIMES = [*BAD_TIMES, 946684799, 4102444801, -1, True, 1.5e9, "1725120000"]


@st.composite
def commits(draw, clean):
    if clean:
        commit = {
            "sha": draw(st.sampled_from(GOOD_SHAS)),
            "repo": draw(st.sampled_from(["shop/web", "ops/infra", " padded "])),
            "committed_at": draw(st.sampled_from(GOOD_COMMIT_TIMES)),
        }
        if draw(st.booleans()):
            commit["author"] = draw(st.sampled_from(["dev", "", "Ada Lovelace"]))
        if draw(st.booleans()):
            commit["message"] = draw(st.sampled_from(["fix: x", "", "line\nline", "m" * 65_536]))
        return commit
    candidates = {
        "sha": field(GOOD_SHAS, BAD_SHAS),
        "repo": field(["shop/web", "r" * 200], BAD_TEXT),
        "committed_at": field(GOOD_COMMIT_TIMES, BAD_COMMIT_TIMES),
        "author": field(["dev", "", "a" * 200], ["a" * 201, "x\x00", 7, None]),
        "message": field(["fix", ""], [None, 3, "\ud800"]),
        "url": weighted((12, st.just(...)), (1, ODD)),
    }
    commit = {}
    for name, strategy in candidates.items():
        value = draw(strategy)
        if value is not ...:
            commit[name] = value
    return commit


@st.composite
def runs(draw, index=0):
    clean = draw(st.booleans())
    job_list = draw(st.lists(jobs(clean), max_size=4))
    commit_list = draw(st.lists(commits(clean), max_size=3))
    if clean:
        return {
            "id": draw(st.sampled_from(["r-1", "r-2", " r-1 ", f"run-{index}"])),
            "project": "yaml",
            "workflow": draw(st.sampled_from(GOOD_TEXT)),
            "status": draw(st.sampled_from(STATUSES)),
            "created_at": draw(st.sampled_from(GOOD_TIMES)),
            "jobs": job_list,
            **({"commits": commit_list} if commit_list or draw(st.booleans()) else {}),
        }
    candidates = {
        "id": field(["r-1", "r-2", " r-1 ", "x" * 200], BAD_TEXT),
        "project": field(["yaml", "k" * 64], ["k" * 65, *BAD_TEXT]),
        "workflow": field(GOOD_TEXT, BAD_TEXT),
        "status": field(STATUSES, ["done", "", None]),
        "created_at": field(GOOD_TIMES, BAD_TIMES),
        "jobs": weighted((8, st.just(job_list)), (1, st.just(...)), (1, st.just(None)), (1, ODD), (1, st.just({}))),
        "commits": weighted((6, st.just(commit_list)), (4, st.just(...)), (1, st.just(None)), (1, ODD)),
        "colour": weighted((12, st.just(...)), (1, ODD)),
    }
    run = {}
    for name, strategy in candidates.items():
        value = draw(strategy)
        if value is not ...:
            run[name] = value
    return run


BODIES = weighted(
    (4, runs()),
    (4, st.lists(weighted((12, runs()), (1, ODD), (1, st.just({}))), max_size=5)),
    (1, ODD),
)


def by_serializer(data):
    """What the POST path did before: the serializers' validated data, or their error body."""
    many = isinstance(data, list)
    serializer = WorkflowRunInputSerializer(data=data, many=many)
    if serializer.is_valid():
        return "valid", serializer.validated_data if many else [serializer.validated_data]
    return "invalid", JSONRenderer().render(serializer.errors)


def by_hand(data):
    try:
        return "valid", validate_runs(data)
    except ValidationError as exc:
        return "invalid", JSONRenderer().render(exc.detail)


def check_agree(data):
    expected, got = by_serializer(data), by_hand(data)
    assert got[0] == expected[0], (data, expected, got)
    if got[0] == "valid":
        assert got[1] == expected[1]
        assert json.dumps(got[1], default=str) == json.dumps(expected[1], default=str)
    else:
        assert got[1] == expected[1], (data, expected[1].decode(), got[1].decode())


@given(BODIES)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_random_bodies_validate_as_the_serializers_did(body):
    check_agree(body)


@given(st.lists(runs(), min_size=1, max_size=6).map(lambda items: [{**item, "jobs": []} for item in items]))
@settings(max_examples=200, deadline=None)
def test_random_batches_with_repeated_ids_validate_as_the_serializers_did(batch):
    check_agree(batch)


GOOD_RUN = {
    "id": "ci-42-7",
    "project": "yaml",
    "workflow": "build-deploy",
    "status": "passed",
    "created_at": "2022-08-01T10:00:00+08:00",
    "jobs": [
        {
            "name": "unit",
            "type": "test",
            "status": "timeout",
            "test_module": "unit",
            "case_count": 24,
            "started_at": "2022-08-01T10:04:20+08:00",
            "finished_at": "2022-08-01T10:34:20+08:00",
        }
    ],
}


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        [],
        [None],
        [[]],
        "42",
        42,
        True,
        [1, "x"],
        GOOD_RUN,
        [GOOD_RUN, GOOD_RUN],
        [GOOD_RUN, {**GOOD_RUN, "id": " ci-42-7 "}],
        {**GOOD_RUN, "jobs": None},
        {**GOOD_RUN, "jobs": [None, 3, [], {}]},
        {**GOOD_RUN, "jobs": [{**GOOD_RUN["jobs"][0], "status": "passed", "finished_at": None}]},
        {**GOOD_RUN, "jobs": [{**GOOD_RUN["jobs"][0], "started_at": "2022-08-01T11:00:00+08:00"}]},
        {**GOOD_RUN, "jobs": [{**GOOD_RUN["jobs"][0], "test_module": "  "}]},
        {**GOOD_RUN, "jobs": [{**GOOD_RUN["jobs"][0], "case_count": 2**31, "zzz": 1, "aaa": 2}]},
        {"jobs": [{"type": "test"}], "unknown": 1},
    ],
    ids=repr,
)
def test_edge_bodies_validate_as_the_serializers_did(body):
    check_agree(body)


@override_settings(INGEST_MAX_BATCH=2)
def test_the_batch_limit_is_checked_before_the_items():
    check_agree([GOOD_RUN, None, 3])
    check_agree([GOOD_RUN, {**GOOD_RUN, "id": "b"}])


def test_a_plain_good_run_takes_the_fast_path_with_the_same_result():
    from insights.api.run_items import _fast_run, _run

    assert _fast_run(GOOD_RUN) is not None
    assert _fast_run(GOOD_RUN) == _run(GOOD_RUN)
    assert _fast_run({**GOOD_RUN, "id": "é"}) is None  # non-ASCII text: the careful path decides
