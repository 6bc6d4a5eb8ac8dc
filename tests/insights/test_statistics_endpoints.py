"""The six Zadig statistics endpoints over HTTP: shapes, counting rules, auth, errors (API.md section 2)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from common.tokens import create_api_token
from insights import rollup_rebuild
from insights.models import (
    Artifact,
    Cluster,
    DailyJobStat,
    DailyJobTotal,
    DirtyJobDay,
    Environment,
    Job,
    Project,
    Rollback,
    Service,
    ServiceSnapshot,
    Workflow,
    WorkflowRun,
)

pytestmark = pytest.mark.django_db

BASE = "/openapi/statistics/"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ENDPOINTS = ["overview", "build", "deploy", "test", "v2/release", "v2/rollback/detail"]


def at(year, month, day, hour=0, minute=0, second=0, micro=0, tz=SHANGHAI) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def make_project(key: str) -> Project:
    project = Project.objects.create(key=key, name=key.upper())
    Environment.objects.create(project=project, name="prod", production=True)
    Environment.objects.create(project=project, name="dev", production=False)
    Workflow.objects.create(project=project, name="ci")
    return project


_runs = iter(range(10**9))


def add_run(project: Project, *jobs: dict) -> WorkflowRun:
    """One run of `project` with `jobs` (dicts of Job fields; `env` names an environment)."""
    run = WorkflowRun.objects.create(
        id=f"run-{next(_runs)}",
        project=project,
        workflow=project.workflows.get(),
        status="passed",
        created_at=jobs[0]["started_at"] if jobs else datetime.now(UTC),
    )
    for position, job in enumerate(jobs):
        fields = dict(job)
        env = fields.pop("env", None)
        if env:
            fields["environment"] = project.environments.get(name=env)
        fields.setdefault("name", f"{fields['type']}-{position}")
        fields.setdefault("finished_at", fields["started_at"] + timedelta(seconds=10))
        Job.objects.create(run=run, project=project, position=position, **fields)
    return run


def job(kind: str, status: str, started_at: datetime, **extra) -> dict:
    return {"type": kind, "status": status, "started_at": started_at, **extra}


def roll_up() -> None:
    """Bring every rollup bucket up to date, as the recompute task would after ingest."""
    rollup_rebuild.rebuild()


def get(client, path: str, params=None):
    response = client.get(BASE + path, params or {})
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response


def assert_envelope(response, status: int, message: str, *, mentions: str = "") -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "message", "code", "description", "extra"}
    assert (body["type"], body["message"], body["code"], body["extra"]) == ("error", message, status, {})
    assert mentions in body["description"]


# --- authentication and unknown paths ------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_refuses_a_request_without_a_token_before_looking_at_parameters(anonymous_client, path):
    assert_envelope(get(anonymous_client, path, {"startDate": "bad", "pageSize": "0"}), 401, "Unauthorized")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_unknown_token_is_refused_in_the_header_and_in_the_query(anonymous_client, path):
    assert_envelope(get(anonymous_client, path, {"token": "ins_nope"}), 401, "Unauthorized")
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer ins_nope")
    assert_envelope(get(anonymous_client, path), 401, "Unauthorized")


def test_a_token_in_the_query_string_is_accepted(anonymous_client):
    token = create_api_token("querier", read_only=True)
    assert get(anonymous_client, "overview", {"token": token}).status_code == 200


def test_a_read_only_token_may_call_every_endpoint(read_only_client):
    params = {"start_time": 0, "end_time": 10, "startTime": 0, "endTime": 10, "pageSize": 10}
    for path in ENDPOINTS:
        assert get(read_only_client, path, params).status_code == 200, path


@pytest.mark.parametrize("path", ["/openapi/statistics/nope", "/openapi/", "/openapi/statistics/v2/release/x"])
def test_unknown_paths_under_openapi_answer_404_in_the_envelope(api_client, anonymous_client, path):
    for client in (api_client, anonymous_client):
        assert_envelope(client.get(path), 404, "Not Found")


def test_writing_to_a_statistics_endpoint_is_405_in_the_envelope(api_client):
    assert_envelope(api_client.post(BASE + "build", {}, format="json"), 405, "Method Not Allowed")


def test_a_trailing_slash_reaches_the_same_endpoint(api_client):
    assert get(api_client, "overview/").json() == get(api_client, "overview").json()


# --- overview ------------------------------------------------------------------------------------


def test_overview_counts_the_rows_of_each_kind(api_client):
    yaml = make_project("yaml")
    make_project("helm")
    cluster = Cluster.objects.create(name="c1")
    Cluster.objects.create(name="c2")
    Environment.objects.create(project=yaml, name="qa", cluster=cluster)
    Service.objects.create(project=yaml, name="svc", service_type="k8s")
    Artifact.objects.create(project=yaml, name="img", type="image", uri="r/img:1")
    body = get(api_client, "overview", {"productNames": "helm"}).json()
    assert body == {
        "project_count": 2,
        "cluster_count": 2,
        "service_count": 1,
        "workflow_count": 2,
        "env_count": 5,
        "artifact_count": 1,
    }


# --- build and deploy ----------------------------------------------------------------------------


def test_build_counts_final_jobs_per_local_day_zero_filled(api_client):
    yaml = make_project("yaml")
    add_run(
        yaml,
        job("build", "passed", at(2022, 8, 1, 0, 0, 0)),
        job("build", "failed", at(2022, 8, 1, 23, 59, 59)),
        job("build", "timeout", at(2022, 8, 3, 12)),
        job("build", "cancelled", at(2022, 8, 3, 12)),
        job("build", "running", at(2022, 8, 3, 12), finished_at=None),
        job("test", "passed", at(2022, 8, 3, 12), test_module="unit", case_count=3),
        job("build", "passed", at(2022, 7, 31, 23, 59, 59)),
        job("build", "passed", at(2022, 8, 4, 0, 0, 0)),
    )
    roll_up()
    body = get(api_client, "build", {"startDate": unix(at(2022, 8, 1, 15)), "endDate": unix(at(2022, 8, 3, 1))}).json()
    assert body == {
        "total": 3,
        "success": 1,
        "data": [
            {"date": "2022-08-01", "success": 1, "failure": 1, "total": 2},
            {"date": "2022-08-02", "success": 0, "failure": 0, "total": 0},
            {"date": "2022-08-03", "success": 0, "failure": 1, "total": 1},
        ],
    }


def test_days_follow_the_configured_time_zone(api_client):
    yaml = make_project("yaml")
    moment = datetime(2022, 8, 1, 20, 0, tzinfo=UTC)  # 08-02 04:00 in Shanghai, 08-01 22:00 in Berlin
    add_run(yaml, job("build", "passed", moment))
    with override_settings(INSIGHTS_TIME_ZONE="Europe/Berlin"):
        roll_up()
        params = {"startDate": unix(moment), "endDate": unix(moment)}
        assert get(api_client, "build", params).json()["data"] == [
            {"date": "2022-08-01", "success": 1, "failure": 0, "total": 1}
        ]
    roll_up()
    assert get(api_client, "build", params).json()["data"] == [
        {"date": "2022-08-02", "success": 1, "failure": 0, "total": 1}
    ]


def test_without_dates_the_series_runs_from_the_first_day_with_data_to_today(api_client):
    yaml = make_project("yaml")
    today = datetime.now(SHANGHAI).date()
    first = today - timedelta(days=4)
    add_run(yaml, job("build", "passed", at(first.year, first.month, first.day, 9)))
    add_run(yaml, job("deploy", "passed", at(2020, 1, 1, 9), env="dev"))
    roll_up()
    body = get(api_client, "build").json()
    assert [row["date"] for row in body["data"]] == [(first + timedelta(days=n)).isoformat() for n in range(5)]
    assert (body["total"], body["success"]) == (1, 1)


def test_without_dates_a_job_dated_in_the_future_stretches_the_series_to_its_day(api_client):
    yaml = make_project("yaml")
    today = datetime.now(SHANGHAI).date()
    ahead = today + timedelta(days=2)
    add_run(yaml, job("build", "passed", at(today.year, today.month, today.day, 1)))
    add_run(yaml, job("build", "failed", at(ahead.year, ahead.month, ahead.day, 1)))
    body = get(api_client, "build").json()
    assert [row["date"] for row in body["data"]] == [(today + timedelta(days=n)).isoformat() for n in range(3)]
    assert (body["total"], body["success"]) == (2, 1)


def test_without_dates_rows_written_around_ingest_in_1970_and_9999_give_at_most_36600_days(api_client):
    """Ingest and the admin refuse such times; rows put there by raw SQL must still not make every
    client's default answer 2.9 million days long: it keeps the newest 36,600 days."""
    yaml = make_project("yaml")
    add_run(yaml, job("build", "passed", at(1970, 1, 2, 9)))
    add_run(yaml, job("build", "failed", at(9999, 12, 29, 9)))
    body = get(api_client, "build").json()
    assert len(body["data"]) == 36_600
    assert (body["data"][0]["date"], body["data"][-1]["date"]) == ("9899-10-15", "9999-12-29")
    assert (body["total"], body["success"]) == (1, 0)


def test_without_dates_and_without_counted_jobs_the_answer_is_empty(api_client):
    yaml = make_project("yaml")
    add_run(yaml, job("build", "cancelled", at(2022, 8, 1)), job("deploy", "passed", at(2022, 8, 1), env="dev"))
    roll_up()
    assert get(api_client, "build").json() == {"total": 0, "success": 0, "data": []}
    assert get(api_client, "deploy", {"productNames": "other"}).json() == {"total": 0, "success": 0, "data": []}


def test_future_days_in_the_range_are_zero_filled(api_client):
    today = datetime.now(SHANGHAI)
    later = today + timedelta(days=2)
    body = get(api_client, "deploy", {"startDate": unix(today), "endDate": unix(later)}).json()
    assert [row["total"] for row in body["data"]] == [0, 0, 0]
    assert body["data"][-1]["date"] == later.date().isoformat()


def test_project_selection_forms_and_unknown_keys(api_client):
    for key, count in (("a", 1), ("b", 2), ("c", 4)):
        project = make_project(key)
        add_run(project, *[job("deploy", "passed", at(2022, 8, 1, 10), env="dev") for _ in range(count)])
    roll_up()
    window = {"startDate": unix(at(2022, 8, 1)), "endDate": unix(at(2022, 8, 1))}

    def total(query: str) -> int:
        return api_client.get(
            f"{BASE}deploy?startDate={window['startDate']}&endDate={window['endDate']}&{query}"
        ).json()["total"]

    assert total("") == 7
    assert total("productNames=a&productNames=b") == 3
    assert total("productNames=a,c") == 5
    assert total("projectKey=b") == 2
    assert total("productNames=a&projectKey=a,b") == 3
    assert total("productNames=zzz") == 0
    assert total("productNames=") == 7


def test_deploy_counts_every_environment_and_release_only_production(api_client):
    yaml = make_project("yaml")
    add_run(
        yaml,
        job("deploy", "passed", at(2023, 5, 15, 10), env="prod"),
        job("deploy", "timeout", at(2023, 5, 15, 11), env="prod"),
        job("deploy", "passed", at(2023, 5, 15, 12), env="dev"),
    )
    roll_up()
    deploy = get(api_client, "deploy", {"startDate": unix(at(2023, 5, 15)), "endDate": unix(at(2023, 5, 15))}).json()
    assert deploy == {
        "total": 3,
        "success": 2,
        "data": [{"date": "2023-05-15", "success": 2, "failure": 1, "total": 3}],
    }
    release = get(
        api_client, "v2/release", {"start_time": unix(at(2023, 5, 15)), "end_time": unix(at(2023, 5, 16)) - 1}
    ).json()
    assert release == {
        "total": 2,
        "success_count": 1,
        "daily_stat": [{"date": "2023-05-15", "total": 2, "success_count": 1, "fail_count": 1}],
    }


def test_a_bucket_still_marked_dirty_is_answered_from_raw_jobs(api_client):
    yaml = make_project("yaml")
    add_run(yaml, job("build", "passed", at(2022, 8, 1, 10)))
    roll_up()
    add_run(yaml, job("build", "failed", at(2022, 8, 1, 11)))  # marked dirty by the write, not rolled up yet
    assert DirtyJobDay.objects.filter(project_pk=yaml.pk, day=date(2022, 8, 1)).exists()
    DailyJobStat.objects.filter(project=yaml, day=date(2022, 8, 1), kind="build").update(passed=99)  # stale row
    body = get(api_client, "build", {"startDate": unix(at(2022, 8, 1)), "endDate": unix(at(2022, 8, 1))}).json()
    assert body["data"] == [{"date": "2022-08-01", "success": 1, "failure": 1, "total": 2}]


def test_a_clean_bucket_is_read_from_the_rollup(api_client):
    yaml = make_project("yaml")
    add_run(yaml, job("build", "passed", at(2022, 8, 1, 10)))
    roll_up()
    DailyJobStat.objects.filter(project=yaml, kind="build").update(passed=5)
    DailyJobTotal.objects.filter(kind="build").update(passed=7)
    window = {"startDate": unix(at(2022, 8, 1)), "endDate": unix(at(2022, 8, 1))}
    assert get(api_client, "build", {**window, "productNames": "yaml"}).json()["success"] == 5
    # All projects and no dirty mark that day: the all-projects total.
    assert get(api_client, "build", window).json()["success"] == 7


# --- test ----------------------------------------------------------------------------------------


def unit(case_count: int) -> dict:
    return {"test_module": "unit", "case_count": case_count}


def test_test_statistics_weekly_buckets_newest_first_clipped_to_the_range(api_client):
    yaml = make_project("yaml")
    add_run(
        yaml,
        job("test", "passed", at(2022, 8, 11, 9), finished_at=at(2022, 8, 11, 9, 0, 10), **unit(24)),
        job("test", "timeout", at(2022, 8, 5, 9), finished_at=at(2022, 8, 5, 9, 0, 11), **unit(20)),
        job("test", "failed", at(2022, 8, 4, 9), finished_at=at(2022, 8, 4, 9, 0, 10), **unit(20)),
        job("test", "passed", at(2022, 7, 31, 9), finished_at=at(2022, 7, 31, 9, 0, 10), **unit(20)),
        job("test", "cancelled", at(2022, 8, 6, 9), **unit(22)),
        job("test", "passed", at(2022, 8, 2, 9), finished_at=at(2022, 8, 2, 9, 0, 10), test_module="e2e", case_count=5),
    )
    roll_up()
    body = get(api_client, "test", {"startDate": unix(at(2022, 8, 1)), "endDate": unix(at(2022, 8, 11, 23))}).json()
    assert body == {
        "case_count": 29,
        "exec_count": 4,
        "success_count": 2,
        "average_runtime": 10,  # (10 + 11 + 10 + 10) / 4 = 10.25
        "data": [
            {"date": "2022-08-11", "success_count": 1, "timeout_count": 1, "failed_count": 0},
            {"date": "2022-08-04", "success_count": 1, "timeout_count": 0, "failed_count": 1},
        ],
    }


@pytest.mark.parametrize(
    ("durations_ms", "expected"), [([1500], 2), ([2499, 2500], 2), ([2500, 2500, 2501], 3), ([], 0)]
)
def test_average_runtime_is_whole_seconds_rounded_half_up(api_client, durations_ms, expected):
    yaml = make_project("yaml")
    start = at(2022, 8, 1, 9)
    jobs = [job("test", "passed", start, finished_at=start + timedelta(milliseconds=ms)) for ms in durations_ms]
    add_run(yaml, *jobs)
    roll_up()
    body = get(api_client, "test", {"startDate": unix(start), "endDate": unix(start)}).json()
    assert body["average_runtime"] == expected
    assert body["exec_count"] == len(durations_ms)


def test_test_statistics_without_test_jobs(api_client):
    assert get(api_client, "test").json() == {
        "case_count": 0,
        "exec_count": 0,
        "success_count": 0,
        "average_runtime": 0,
        "data": [],
    }


# --- release v2 ----------------------------------------------------------------------------------


def test_release_counts_instants_inside_the_range_and_fills_every_touched_day(api_client):
    yaml = make_project("yaml")
    add_run(
        yaml,
        job("deploy", "passed", at(2023, 5, 15, 11, 59, 59)),  # before start
        job("deploy", "passed", at(2023, 5, 15, 12, 0, 0), env="prod"),  # at start
        job("deploy", "failed", at(2023, 5, 15, 23, 59, 59), env="prod"),
        job("deploy", "passed", at(2023, 5, 17, 8, 0, 0, 999_999), env="prod"),  # inside the end second
        job("deploy", "passed", at(2023, 5, 17, 8, 0, 1), env="prod"),  # after end
        job("deploy", "passed", at(2023, 5, 15, 11, 0, 0), env="prod"),  # before start, same day
    )
    roll_up()
    params = {"startTime": unix(at(2023, 5, 15, 12)), "endTime": unix(at(2023, 5, 17, 8)), "projectKey": "yaml"}
    assert get(api_client, "v2/release", params).json() == {
        "total": 3,
        "success_count": 2,
        "daily_stat": [
            {"date": "2023-05-15", "total": 2, "success_count": 1, "fail_count": 1},
            {"date": "2023-05-16", "total": 0, "success_count": 0, "fail_count": 0},
            {"date": "2023-05-17", "total": 1, "success_count": 1, "fail_count": 0},
        ],
    }
    assert get(api_client, "v2/release", {**params, "projectKey": "zzz"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "start_time"),
        ({"start_time": 10}, "end_time"),
        ({"start_time": 10, "end_time": 9}, "end_time"),
        ({"start_time": 0, "end_time": 366 * 86400 + 1}, "366"),
    ],
)
def test_release_parameter_errors(api_client, params, named):
    assert_envelope(get(api_client, "v2/release", params), 400, "Bad Request", mentions=named)


# --- rollback detail -----------------------------------------------------------------------------

SEED_RECORD = {
    "project_key": "yaml",
    "env_name": "prod",
    "env_type": "zadig",
    "production": True,
    "operation_type": "zadig",
    "service_name": "service2",
    "service_type": "k8s",
    "origin_service": {
        "service_name": "service2",
        "release_name": "",
        "containers": [
            {
                "name": "service2",
                "type": "",
                "image": "koderover.tencentcloudcr.com/test/service2:20240830123413-8-main",
                "image_name": "service2",
            }
        ],
        "rendered_yaml": "apiVersion: apps/v1\nkind: Deployment\n",
        "values_yaml": "",
        "override_values": "",
        "update_time": 1725518692,
    },
    "update_service": {
        "service_name": "service2",
        "release_name": "",
        "containers": [
            {
                "name": "service2",
                "type": "",
                "image": "koderover.tencentcloudcr.com/test/service2:20240621003703-261-main",
                "image_name": "service2",
            }
        ],
        "rendered_yaml": "apiVersion: apps/v1\nkind: Service\n",
        "values_yaml": "",
        "override_values": "",
        "update_time": 1734491054,
    },
    "create_by": {
        "uid": "89358827-5137-11ee-b0c5-56d5fd1dd39e",
        "account": "admin",
        "name": "admin",
        "identity_type": "system",
    },
    "create_time": 1734491054,
}


def store_rollback(record: dict) -> Rollback:
    project = Project.objects.get_or_create(key=record["project_key"], defaults={"name": record["project_key"]})[0]
    rollback = Rollback.objects.create(
        project=project,
        create_time=datetime.fromtimestamp(record["create_time"], UTC),
        create_by_uid=record["create_by"]["uid"],
        create_by_account=record["create_by"]["account"],
        create_by_name=record["create_by"]["name"],
        create_by_identity_type=record["create_by"]["identity_type"],
        **{key: record[key] for key in ("env_name", "env_type", "production", "operation_type", "service_name")},
        service_type=record["service_type"],
    )
    for role in ("origin", "update"):
        snapshot = dict(record[f"{role}_service"])
        snapshot["update_time"] = datetime.fromtimestamp(snapshot["update_time"], UTC)
        ServiceSnapshot.objects.create(rollback=rollback, role=role, **snapshot)
    return rollback


def rollback_like(create_time: int, **changes) -> dict:
    return {**SEED_RECORD, "create_time": create_time, **changes}


def test_a_rollback_record_has_exactly_the_seed_fields(api_client):
    store_rollback(SEED_RECORD)
    params = {"startTime": 1734491054, "endTime": 1734491054, "pageNum": 1, "pageSize": 10}
    assert get(api_client, "v2/rollback/detail", params).json() == {"total": 1, "data": [SEED_RECORD]}


def test_a_missing_snapshot_is_rendered_empty_with_the_same_fields(api_client):
    rollback = store_rollback(SEED_RECORD)
    rollback.snapshots.filter(role="origin").delete()
    body = get(api_client, "v2/rollback/detail", {"startTime": 0, "endTime": 2**31, "pageSize": 1}).json()
    assert body["data"][0]["origin_service"] == {
        "service_name": "",
        "release_name": "",
        "containers": [],
        "rendered_yaml": "",
        "values_yaml": "",
        "override_values": "",
        "update_time": 0,
    }


def test_rollbacks_are_newest_first_ties_newest_insert_first_and_paged(api_client):
    first = store_rollback(rollback_like(1000, service_name="a"))
    second = store_rollback(rollback_like(2000, service_name="b"))
    third = store_rollback(rollback_like(2000, service_name="c"))
    store_rollback(rollback_like(3001, service_name="late"))
    store_rollback(rollback_like(999, service_name="early"))
    assert first.pk < second.pk < third.pk

    def page(num: int, size: int) -> dict:
        return get(
            api_client, "v2/rollback/detail", {"startTime": 1000, "endTime": 3000, "pageNum": num, "pageSize": size}
        ).json()

    assert [r["service_name"] for r in page(1, 10)["data"]] == ["c", "b", "a"]
    assert [r["service_name"] for r in page(2, 2)["data"]] == ["a"]
    assert page(2, 2)["total"] == 3
    assert page(5, 2) == {"total": 3, "data": []}


def test_rollback_filters_are_exact(api_client):
    store_rollback(rollback_like(1000))
    store_rollback(rollback_like(1000, env_name="staging"))
    store_rollback(rollback_like(1000, service_name="other"))
    store_rollback(rollback_like(1000, project_key="helm"))
    window = {"startTime": 1000, "endTime": 1000, "pageSize": 50}

    def total(**filters) -> int:
        return get(api_client, "v2/rollback/detail", {**window, **filters}).json()["total"]

    assert total() == 4
    assert total(projectKey="yaml") == 3
    assert total(projectKey="yam") == 0
    assert total(envName="staging") == 1
    assert total(serviceName="service2", envName="prod", projectKey="yaml") == 1


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"endTime": 10, "pageSize": 5}, "startTime"),
        ({"startTime": 10, "pageSize": 5}, "endTime"),
        ({"startTime": 10, "endTime": 9, "pageSize": 5}, "endTime"),
        ({"startTime": 1, "endTime": 9}, "pageSize"),
        ({"startTime": 1, "endTime": 9, "pageSize": 0}, "pageSize"),
        ({"startTime": 1, "endTime": 9, "pageSize": 5000}, "pageSize"),
        ({"startTime": 1, "endTime": 9, "pageSize": 5, "pageNum": 0}, "pageNum"),
        ({"startTime": 1, "endTime": 9, "pageSize": 5, "pageNum": "x"}, "pageNum"),
    ],
)
def test_rollback_parameter_errors(api_client, params, named):
    assert_envelope(get(api_client, "v2/rollback/detail", params), 400, "Bad Request", mentions=named)


# --- validation of the daily endpoints -----------------------------------------------------------


@pytest.mark.parametrize("path", ["build", "deploy", "test"])
@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"startDate": 1660000000}, "endDate"),
        ({"endDate": 1660000000}, "startDate"),
        ({"startDate": 1660000001, "endDate": 1660000000}, "endDate"),
        ({"startDate": "yesterday", "endDate": 1660000000}, "startDate"),
        ({"startDate": 1660000000, "endDate": "1.5"}, "endDate"),
        ({"startDate": "", "endDate": 1660000000}, "startDate"),
        ({"startDate": -5, "endDate": 1660000000}, "startDate"),
        ({"startDate": 0, "endDate": 10**30}, "endDate"),
    ],
)
def test_daily_endpoint_parameter_errors(api_client, path, params, named):
    assert_envelope(get(api_client, path, params), 400, "Bad Request", mentions=named)


def test_odd_inputs_never_cause_a_server_error(api_client):
    client = APIClient(raise_request_exception=False)
    client.credentials(**api_client._credentials)
    odd = [
        "",
        "\x00",
        "a\x00b",
        "-0",
        "0x10",
        "١",
        "nan",
        "inf",
        "9" * 40,
        "1" * 5000,
        "%00",
        "[]",
        "1,2",
        " ",
        "253402300799",
    ]
    names = {
        "build": ["startDate", "endDate", "productNames"],
        "test": ["startDate", "endDate", "projectKey"],
        "v2/release": ["start_time", "end_time", "startTime", "project_name"],
        "v2/rollback/detail": ["startTime", "endTime", "pageNum", "pageSize", "envName"],
    }
    valid = {"startDate": 0, "endDate": 1, "start_time": 0, "end_time": 1, "startTime": 0, "endTime": 1, "pageSize": 1}
    for path, params in names.items():
        for name in params:
            for value in odd:
                response = client.get(BASE + path, {**valid, name: value})
                assert response.status_code in (200, 400), (path, name, value, response.content[:300])
                assert response["Content-Type"].startswith("application/json")


# --- a client that knows only the Zadig document -------------------------------------------------


def test_a_client_reading_only_the_zadig_document_gets_the_documented_shapes(api_client):
    yaml = make_project("yaml")
    add_run(
        yaml,
        job("build", "passed", at(2022, 8, 1, 10)),
        job("deploy", "passed", at(2022, 8, 1, 11), env="prod"),
        job("test", "passed", at(2022, 8, 1, 12), test_module="unit", case_count=24),
    )
    roll_up()
    store_rollback(SEED_RECORD)
    token = api_client._credentials["HTTP_AUTHORIZATION"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token)
    days = "startDate=1659283200&endDate=1659369600&productNames=yaml"

    overview = client.get("/openapi/statistics/overview").json()
    assert set(overview) == {
        "project_count",
        "cluster_count",
        "service_count",
        "workflow_count",
        "env_count",
        "artifact_count",
    }
    for path in ("build", "deploy"):
        body = client.get(f"/openapi/statistics/{path}?{days}").json()
        assert set(body) >= {"total", "success", "data"}
        assert [set(row) for row in body["data"]] == [{"date", "success", "failure", "total"}] * 2
        assert body["data"][0] == {"date": "2022-08-01", "success": 1, "failure": 0, "total": 1}
    test = client.get(f"/openapi/statistics/test?{days}").json()
    assert set(test) >= {"case_count", "exec_count", "success_count", "average_runtime", "data"}
    assert set(test["data"][0]) == {"date", "success_count", "timeout_count", "failed_count"}
    assert (test["case_count"], test["exec_count"], test["average_runtime"]) == (24, 1, 10)
    release = client.get(
        "/openapi/statistics/v2/release?start_time=1659283200&end_time=1659369599&project_name=yaml"
    ).json()
    assert set(release) >= {"total", "success_count", "daily_stat"}
    assert release["daily_stat"] == [{"date": "2022-08-01", "total": 1, "success_count": 1, "fail_count": 0}]
    rollbacks = client.get(
        "/openapi/statistics/v2/rollback/detail?projectKey=yaml&envName=prod&serviceName=service2"
        "&startTime=1734400000&endTime=1734500000&pageNum=1&pageSize=20"
    ).json()
    assert rollbacks == {"total": 1, "data": [SEED_RECORD]}
    for body in (overview, test, release):
        assert all(isinstance(value, int) for key, value in body.items() if key not in ("data", "daily_stat"))
