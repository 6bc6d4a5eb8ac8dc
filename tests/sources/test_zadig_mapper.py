"""The Zadig mapper on task details shaped as koderover/zadig's WorkflowTaskPreview (workflow_task_v4.go)."""

from datetime import UTC, datetime

import pytest

from insights.sources.mapping import Malformed, Received
from insights.sources.models import Source
from insights.sources.zadig import ZadigMapper

from .zadig_fake import SHA_A, deploy_job, task

T0 = int(datetime(2024, 3, 4, 2, tzinfo=UTC).timestamp())
MAPPER = ZadigMapper()


def fold(source, *payloads):
    rows = [Received("workflow_task", p, None, datetime(2024, 3, 4, i, tzinfo=UTC)) for i, p in enumerate(payloads)]
    return MAPPER.fold(source, "ci#1", rows, [])


def test_read_gives_the_run_key_head_and_end_time():
    reading = MAPPER.read("workflow_task", task("ci", 1, "passed", T0))
    assert (reading.subject, reading.run_key, reading.head_sha) == ("run", "ci#1", SHA_A)
    assert reading.occurred_at == datetime.fromtimestamp(T0 + 60, UTC)
    with pytest.raises(Malformed):
        MAPPER.read("workflow_task", {"workflow_key": "ci"})


def test_the_latest_fetched_detail_wins_and_freestyle_follows_the_job_type_rules():
    source = Source(name="z", kind="zadig", job_types=[["*lint*", "test"]])
    freestyle = {
        "name": "lint-all",
        "type": "freestyle",
        "status": "passed",
        "start_time": T0,
        "end_time": T0 + 5,
        "spec": {"repos": []},
    }
    other = {**freestyle, "name": "notify", "type": "plugin"}
    done = task(
        "ci", 1, "passed", T0, jobs=[freestyle, other, deploy_job("to-staging", "passed", T0, T0 + 9, "stg", False)]
    )
    run = fold(source, task("ci", 1, "running", T0), done)
    assert run["status"] == "passed" and run["workflow"] == "ci display"
    assert [(j["name"], j["type"]) for j in run["jobs"]] == [
        ("lint-all", "test"),
        ("notify", "other"),
        ("to-staging", "deploy"),
    ]
    assert run["jobs"][0]["test_module"] == "lint-all"
    assert run["jobs"][2]["environment"] == "stg" and run["jobs"][2]["production"] is False
    assert run["commits"] == []


def test_a_repository_without_a_commit_time_gives_its_commit_at_the_task_creation():
    run = fold(Source(name="z", kind="zadig"), task("ci", 1, "passed", T0))
    created = datetime.fromtimestamp(task("ci", 1, "passed", T0)["create_time"], UTC)
    assert [(c["sha"], c["repo"], c["committed_at"]) for c in run["commits"]] == [(SHA_A, "acme/web-shop", created)]


def test_a_repository_with_a_commit_time_gives_a_commit():
    detail = task("ci", 1, "passed", T0)
    detail["stages"][0]["jobs"][0]["spec"]["repos"][0]["commit_time"] = T0 - 600
    run = fold(Source(name="z", kind="zadig"), detail)
    assert run["commits"] == [
        {
            "sha": SHA_A,
            "repo": "acme/web-shop",
            "committed_at": datetime.fromtimestamp(T0 - 600, UTC),
            "author": "dev",
            "message": "Fix the cart",
        }
    ]
