"""`/api/v1/dora/metrics` and `/api/v1/dora/summary`: GitLab's shape, token required, every refusal a 400
naming its parameter, filters, and worked examples of the rules' edge cases."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from insights.dirty import local_day
from insights.dora.params import three_months_before
from insights.models import Environment, Project, Rollback, Service

pytestmark = pytest.mark.django_db
METRICS_URL, SUMMARY_URL = "/api/v1/dora/metrics", "/api/v1/dora/summary"
SHA_A, SHA_B = "a" * 40, "b" * 40


@pytest.fixture
def shop(db):
    project = Project.objects.create(key="shop", name="Shop")
    Environment.objects.create(project=project, name="prod", production=True)
    Environment.objects.create(project=project, name="stage", production=False)
    for name in ("web", "api"):
        Service.objects.create(project=project, name=name, service_type="k8s")
    return project


def deploy(at: str, status="passed", service="web", environment="prod"):
    return {"name": "deploy", "type": "deploy", "status": status, "started_at": at, "finished_at": at,
            "environment": environment, "service": service}  # fmt: skip


def run(run_id, jobs, commits=(), branch=""):
    return {"id": run_id, "project": "shop", "workflow": "ci", "status": "passed", "branch": branch,
            "created_at": jobs[0]["started_at"], "jobs": jobs, "commits": list(commits)}  # fmt: skip


def commit(sha, at):
    return {"repo": "shop/web", "sha": sha, "committed_at": at}


def post(client, *runs):
    response = client.post("/api/v1/workflow-runs/", list(runs), format="json")
    assert response.status_code in (200, 201), response.json()


def series(client, metric, start, end, interval="daily", **filters):
    query = {"metric": metric, "start_date": start, "end_date": end, "interval": interval, **filters}
    response = client.get(METRICS_URL, query)
    assert response.status_code == 200, response.json()
    return response.json()


def test_both_endpoints_need_a_token(anonymous_client):
    for url in (f"{METRICS_URL}?metric=nope", SUMMARY_URL):
        response = anonymous_client.get(url)
        assert response.status_code == 401
        assert "detail" in response.json()


def test_a_read_only_token_reads_and_the_defaults_are_gitlabs(read_only_client):
    body = read_only_client.get(METRICS_URL, {"metric": "deployment_frequency"}).json()
    today = local_day(timezone.now())
    start = three_months_before(today)
    assert [point["date"] for point in body] == [
        (start + timedelta(days=n)).isoformat() for n in range((today - start).days + 1)
    ]
    assert {point["value"] for point in body} == {0}
    summary = read_only_client.get(SUMMARY_URL).json()
    assert (summary["start_date"], summary["end_date"]) == (start.isoformat(), today.isoformat())
    assert set(summary["metrics"]) == {
        "deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore_service",
        "rework_rate",
    }  # fmt: skip
    assert summary["metrics"]["deployment_frequency"]["value"] == 0
    assert summary["metrics"]["change_failure_rate"] == {
        "value": None, "previous": None, "change_percent": None, "level": None, "unit": "ratio",
        "failed_deployments": 0, "deployments": 0,
    }  # fmt: skip


def test_three_months_before_clamps_the_day():
    assert three_months_before(date(2024, 5, 31)) == date(2024, 2, 29)
    assert three_months_before(date(2024, 2, 15)) == date(2023, 11, 15)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "metric"),
        ({"metric": "deployments"}, "metric"),
        ({"metric": "rework_rate", "interval": "yearly"}, "interval"),
        ({"metric": "rework_rate", "start_date": "2024-1-01"}, "start_date"),
        ({"metric": "rework_rate", "start_date": "2024-02-30"}, "start_date"),
        ({"metric": "rework_rate", "end_date": "today"}, "end_date"),
        ({"metric": "rework_rate", "end_date": "20240101"}, "end_date"),
        ({"metric": "rework_rate", "start_date": "1999-12-31", "end_date": "2000-01-05"}, "start_date"),
        ({"metric": "rework_rate", "start_date": "2100-01-01"}, "start_date"),
        ({"metric": "rework_rate", "start_date": "2024-03-02", "end_date": "2024-03-01"}, "end_date"),
        ({"metric": "rework_rate", "start_date": "2020-01-01", "end_date": "2024-01-01"}, "end_date"),
        ({"metric": "rework_rate", "project": "a\x00b"}, "project"),
        ({"metric": ["rework_rate", "deployment_frequency"]}, "metric"),
    ],
)
def test_every_refusal_is_a_400_naming_the_parameter(read_only_client, query, field):
    response = read_only_client.get(METRICS_URL, query)
    assert response.status_code == 400
    assert list(response.json()) == [field] and isinstance(response.json()[field][0], str)
    if field != "metric" and field != "interval":
        summary = read_only_client.get(SUMMARY_URL, {k: v for k, v in query.items() if k != "metric"})
        assert summary.status_code == 400 and list(summary.json()) == [field]


def test_the_longest_range_is_two_years(read_only_client):
    ok = {"metric": "lead_time_for_changes", "start_date": "2023-01-01", "end_date": "2024-12-31", "interval": "all"}
    assert read_only_client.get(METRICS_URL, ok).json() == [{"date": "2023-01-01", "value": None}]
    assert read_only_client.get(METRICS_URL, {**ok, "end_date": "2025-01-01"}).status_code == 400


@override_settings(INSIGHTS_TIME_ZONE="Asia/Shanghai")
def test_a_deployment_counts_on_the_local_day_of_its_finish(api_client, shop):
    post(api_client, run("r1", [deploy("2024-03-03T15:59:59Z")]), run("r2", [deploy("2024-03-03T16:00:00Z")]))
    assert series(api_client, "deployment_frequency", "2024-03-03", "2024-03-04") == [
        {"date": "2024-03-03", "value": 1},
        {"date": "2024-03-04", "value": 1},
    ]
    assert series(api_client, "deployment_frequency", "2024-02-28", "2024-03-12", "weekly") == [
        {"date": "2024-02-28", "value": 1},  # clipped: the ISO week began on Monday the 26th
        {"date": "2024-03-04", "value": 1},  # 00:00:00 on Monday in Shanghai
        {"date": "2024-03-11", "value": 0},
    ]
    assert series(api_client, "deployment_frequency", "2024-02-28", "2024-03-12", "monthly") == [
        {"date": "2024-02-28", "value": 0},
        {"date": "2024-03-01", "value": 2},
    ]


@override_settings(INSIGHTS_TIME_ZONE="UTC")
def test_failure_restore_and_rework_worked_example(api_client, shop):
    Rollback.objects.create(  # before any deployment of shop/web/prod: counts nothing
        project=shop, env_name="prod", service_name="web", production=True, create_time=datetime(2024, 5, 1, tzinfo=UTC)
    )
    post(
        api_client,
        run("r1", [deploy("2024-05-02T10:00:00Z")]),
        run("r2", [deploy("2024-05-02T11:00:00Z", status="failed")]),  # D1 has failed
        run("r3", [deploy("2024-05-02T13:00:00Z")]),  # restores D1 after 3 h: rework
        run("r4", [deploy("2024-05-03T10:00:00Z")], branch="hotfix/login"),  # rework by its branch
        run("r5", [deploy("2024-05-03T12:00:00Z", service="api")]),  # other target
    )
    Rollback.objects.create(  # D4 failed, restored at once by the rollback (the next deployment comes later)
        project=shop,
        env_name="prod",
        service_name="web",
        production=True,
        create_time=datetime(2024, 5, 3, 10, 30, tzinfo=UTC),
    )
    post(api_client, run("r6", [deploy("2024-05-04T10:00:00Z")]))  # restores D4: rework
    window = ("2024-05-02", "2024-05-04")
    assert series(api_client, "change_failure_rate", *window, "all") == [{"date": "2024-05-02", "value": 2 / 5}]
    assert series(api_client, "time_to_restore_service", *window) == [
        {"date": "2024-05-02", "value": 3 * 3600.0},
        {"date": "2024-05-03", "value": 1800.0},
        {"date": "2024-05-04", "value": None},
    ]
    assert series(api_client, "rework_rate", *window, "all") == [{"date": "2024-05-02", "value": 3 / 5}]
    assert series(api_client, "rework_rate", *window, "all", service="api") == [{"date": "2024-05-02", "value": 0.0}]
    assert series(api_client, "deployment_frequency", *window, "all", environment="stage") == [
        {"date": "2024-05-02", "value": 0}
    ]
    body = api_client.get(SUMMARY_URL, {"start_date": window[0], "end_date": window[1]}).json()
    restore = body["metrics"]["time_to_restore_service"]
    assert (restore["value"], restore["open_failures"], restore["level"]) == (6300.0, 0, "high")
    assert body["metrics"]["deployment_frequency"] | {"previous": 0.0} == {
        "value": 5 / 3, "deployments": 5, "days_with_deployment": 3, "previous": 0.0, "change_percent": None,
        "level": "elite", "unit": "per_day",
    }  # fmt: skip
    assert (body["previous_start_date"], body["previous_end_date"]) == ("2024-04-29", "2024-05-01")


@override_settings(INSIGHTS_TIME_ZONE="UTC")
def test_lead_time_counts_a_commit_once_at_its_first_deployment_even_when_it_arrives_late(api_client, shop):
    post(
        api_client,
        run("r1", [deploy("2024-05-02T10:00:00Z")], [commit(SHA_A, "2024-05-02T09:00:00Z")]),
        run("r2", [deploy("2024-05-03T10:00:00Z")], [commit(SHA_A, "2024-05-02T09:00:00Z")]),  # redeployed
    )
    assert series(api_client, "lead_time_for_changes", "2024-05-02", "2024-05-03") == [
        {"date": "2024-05-02", "value": 3600.0},
        {"date": "2024-05-03", "value": None},
    ]
    # r2 re-posted with a commit made after its deployment (clock skew: 0) and one older commit
    post(
        api_client,
        run(
            "r2",
            [deploy("2024-05-03T10:00:00Z")],
            [commit(SHA_A, "2024-05-02T09:00:00Z"), commit(SHA_B, "2024-05-03T11:00:00Z")],
        ),
    )
    assert series(api_client, "lead_time_for_changes", "2024-05-02", "2024-05-03") == [
        {"date": "2024-05-02", "value": 3600.0},
        {"date": "2024-05-03", "value": 0.0},
    ]
    body = api_client.get(SUMMARY_URL, {"start_date": "2024-05-02", "end_date": "2024-05-03"}).json()
    assert body["metrics"]["lead_time_for_changes"] | {"previous": None} == {
        "value": 1800.0, "p90": 3600.0, "commits": 2, "previous": None, "change_percent": None, "level": "elite",
        "unit": "seconds",
    }  # fmt: skip


@override_settings(INSIGHTS_TIME_ZONE="UTC")
def test_filters_repeat_and_unknown_names_match_nothing(api_client, shop):
    post(api_client, run("r1", [deploy("2024-05-02T10:00:00Z"), deploy("2024-05-02T11:00:00Z", service="api")]))
    query = {"metric": "deployment_frequency", "start_date": "2024-05-02", "end_date": "2024-05-02"}
    assert api_client.get(METRICS_URL, query).json()[0]["value"] == 2
    assert api_client.get(f"{METRICS_URL}?service=web&service=api", query).json()[0]["value"] == 2
    assert api_client.get(METRICS_URL, {**query, "service": "web"}).json()[0]["value"] == 1
    assert api_client.get(METRICS_URL, {**query, "project": "ghost"}).json()[0]["value"] == 0
    assert api_client.get(METRICS_URL, {**query, "project": ["shop", ""]}).json()[0]["value"] == 2


@override_settings(INSIGHTS_TIME_ZONE="UTC", INSIGHTS_DORA_REWORK_BRANCHES=["fix/*"])
def test_rework_branches_come_from_the_setting(api_client, shop):
    post(
        api_client,
        run("r1", [deploy("2024-05-02T10:00:00Z")], branch="hotfix/a"),
        run("r2", [deploy("2024-05-02T11:00:00Z")], branch="fix/b"),
    )
    assert series(api_client, "rework_rate", "2024-05-02", "2024-05-02") == [{"date": "2024-05-02", "value": 0.5}]
