"""`/api/v1/dora/deployments` and `/api/v1/dora/changes`: on random histories (the generators of
test_dora_properties) the rows, read page by page, add up to the summary of the same range and scope, and
the changes match a slow recomputation from the rules; then paging, filters, the token and refusals."""

import math
import statistics
from datetime import datetime, timedelta

import pytest
from django.test import override_settings

from insights.dora import selectors
from insights.dora.selectors import Scope
from tests.insights.test_dora_api import deploy, post, run, shop  # noqa: F401 (shop is a fixture)
from tests.insights.test_dora_properties import (
    SEEDS,
    ZONES,
    World,
    build_world,
    nearest_rank_p90,
    prod_jobs,
    random_range,
    random_scope,
    same,
)

pytestmark = pytest.mark.django_db
DEPLOYMENTS_URL, CHANGES_URL, SUMMARY_URL = "/api/v1/dora/deployments", "/api/v1/dora/changes", "/api/v1/dora/summary"


def query_of(scope: Scope, start, end) -> dict:
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "project": list(scope.projects),
        "service": list(scope.services),
        "environment": list(scope.environments),
    }


def every_row(client, url: str, query: dict, page_size: int) -> list[dict]:
    """All rows of a list, page by page, checking the envelope on the way."""
    rows, page = [], 1
    while True:
        response = client.get(url, {**query, "page": page, "page_size": page_size})
        assert response.status_code == 200, response.json()
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert len(body["results"]) <= page_size
        assert (body["previous"] is None) == (page == 1)
        rows += body["results"]
        if body["next"] is None:
            break
        assert f"page={page + 1}" in body["next"]
        page += 1
    assert len(rows) == body["count"]
    return rows


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def slow_changes(world: World, scope: Scope, start, end) -> list[tuple]:
    """(first deployment, repo, sha, earliest commit time, lead seconds) of each commit first deployed in the
    range, straight from the rules, in the list's order."""
    committed, first = {}, {}
    for r in world.runs.values():
        for c in r["commits"]:
            key = (c["repo"], c["sha"])
            committed[key] = min(committed.get(key, c["committed_at"]), c["committed_at"])
    for r, job in prod_jobs(world, scope, ("passed",)):
        for c in r["commits"]:
            key = (c["repo"], c["sha"])
            first[key] = min(first.get(key, job["finished_at"]), job["finished_at"])
    local = lambda moment: moment.astimezone(world.zone).date()  # noqa: E731
    return sorted(
        (moment, *key, committed[key], max(0.0, (moment - committed[key]).total_seconds()))
        for key, moment in first.items()
        if start <= local(moment) <= end
    )


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_the_lists_add_up_to_the_summary(api_client, seed):
    with override_settings(INSIGHTS_TIME_ZONE=ZONES[seed % 2]):
        world = build_world(api_client, seed)
        for _ in range(2):
            scope = random_scope(world)
            start, end = random_range(world)
            query = query_of(scope, start, end)
            figures = api_client.get(SUMMARY_URL, query).json()["metrics"]
            page_size = world.rng.randint(1, 7)
            deployed = every_row(api_client, DEPLOYMENTS_URL, query, page_size)
            shipped = every_row(api_client, CHANGES_URL, query, page_size)

            # Deployments: the selector's rows, oldest first, and the summary's counts.
            assert [(at(r["finished_at"]), r["run_id"]) for r in deployed] == [
                (r["finished_at"], r["run_id"]) for r in selectors.deployments(start, end, scope)
            ]
            assert [at(r["finished_at"]) for r in deployed] == sorted(at(r["finished_at"]) for r in deployed)
            frequency, failure = figures["deployment_frequency"], figures["change_failure_rate"]
            restore, rework = figures["time_to_restore_service"], figures["rework_rate"]
            failed = [r for r in deployed if r["failed"]]
            restored = [r for r in failed if r["restored_at"] is not None]
            assert len(deployed) == frequency["deployments"] == failure["deployments"] == rework["deployments"]
            assert len(failed) == failure["failed_deployments"]
            assert len(restored) == restore["restored_failures"]
            assert len(failed) - len(restored) == restore["open_failures"]
            assert all(r["restored_at"] is None for r in deployed if not r["failed"])
            assert sum(r["rework"] for r in deployed) == rework["rework_deployments"]
            days = {at(r["finished_at"]).astimezone(world.zone).date() for r in deployed}
            assert len(days) == frequency["days_with_deployment"]
            restores = [(at(r["restored_at"]) - at(r["finished_at"])).total_seconds() for r in restored]
            assert same(statistics.median(restores) if restores else None, restore["value"])

            # Changes: the rules' rows in order, and the summary's median, p90 and count.
            got = [
                (at(r["first_deployed_at"]), r["repo"], r["sha"], at(r["committed_at"]), r["lead_time_seconds"])
                for r in shipped
            ]
            want = slow_changes(world, scope, start, end)
            assert [row[:4] for row in got] == [row[:4] for row in want]
            assert all(same(g[4], w[4]) for g, w in zip(got, want, strict=True))
            leads = [r["lead_time_seconds"] for r in shipped]
            lead = figures["lead_time_for_changes"]
            assert len(shipped) == lead["commits"]
            assert same(statistics.median(leads) if leads else None, lead["value"])
            assert same(nearest_rank_p90(leads), lead["p90"])


def test_the_changes_keep_the_lead_time_callers_unchanged(api_client):
    """`lead_times` (the Delivery page's distribution) is the sorted lead times of `changes`."""
    with override_settings(INSIGHTS_TIME_ZONE=ZONES[1]):
        world = build_world(api_client, 3)
        start, end = world.anchor - timedelta(days=9), world.anchor + timedelta(days=9)
        leads = selectors.lead_times(start, end, Scope())
        assert leads == sorted(r["lead_time_seconds"] for r in selectors.changes(start, end, Scope()))


@pytest.fixture
def history(api_client, shop):  # noqa: F811 (the fixture imported above)
    """Five production deployments of shop (web three, api two) and one to staging, one commit each."""
    runs = []
    for n, (service, environment) in enumerate(
        [("web", "prod"), ("api", "prod"), ("web", "prod"), ("web", "stage"), ("api", "prod"), ("web", "prod")]
    ):
        moment = f"2024-05-0{n + 1}T10:00:00Z"
        commits = [{"repo": "shop/web", "sha": f"{n + 1:040x}", "committed_at": "2024-04-30T10:00:00Z"}]
        runs.append(run(f"r{n}", [deploy(moment, service=service, environment=environment)], commits, branch="main"))
    post(api_client, *runs)
    return {"start_date": "2024-05-01", "end_date": "2024-05-31"}


def test_rows_are_rendered_in_the_current_zone_with_their_offset(read_only_client, history):
    first = read_only_client.get(DEPLOYMENTS_URL, history).json()["results"][0]
    assert first == {
        "project": "shop", "service": "web", "environment": "prod", "finished_at": "2024-05-01T18:00:00+08:00",
        "run_id": "r0", "branch": "main", "failed": False, "restored_at": None, "rework": False,
    }  # fmt: skip
    change = read_only_client.get(CHANGES_URL, history).json()["results"][0]
    assert change == {
        "repo": "shop/web", "sha": f"{1:040x}", "committed_at": "2024-04-30T18:00:00+08:00",
        "first_deployed_at": "2024-05-01T18:00:00+08:00", "lead_time_seconds": 86400.0,
    }  # fmt: skip


def test_pages_follow_page_and_page_size(read_only_client, history):
    body = read_only_client.get(DEPLOYMENTS_URL, {**history, "page_size": 2}).json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["previous"] is None
    last = read_only_client.get(DEPLOYMENTS_URL, {**history, "page_size": 2, "page": 3}).json()
    assert [r["run_id"] for r in last["results"]] == ["r5"] and last["next"] is None
    assert "page=2" in last["previous"]
    whole = read_only_client.get(DEPLOYMENTS_URL, {**history, "page_size": 5000}).json()
    assert whole["count"] == 5 and [r["run_id"] for r in whole["results"]] == ["r0", "r1", "r2", "r4", "r5"]
    assert read_only_client.get(CHANGES_URL, {**history, "page_size": 2}).json()["count"] == 5
    for url in (DEPLOYMENTS_URL, CHANGES_URL):
        past = read_only_client.get(url, {**history, "page_size": 2, "page": 4})
        assert past.status_code == 404 and "detail" in past.json()


def test_filters_apply(read_only_client, history):
    def runs(url, **filters):
        body = read_only_client.get(url, {**history, **filters}).json()
        key = "run_id" if url == DEPLOYMENTS_URL else "sha"
        return [r[key] for r in body["results"]]

    assert runs(DEPLOYMENTS_URL, service="api") == ["r1", "r4"]
    assert runs(DEPLOYMENTS_URL, service=["api", "web"], project="shop") == ["r0", "r1", "r2", "r4", "r5"]
    assert runs(DEPLOYMENTS_URL, environment="stage") == runs(DEPLOYMENTS_URL, project="ghost") == []
    assert runs(DEPLOYMENTS_URL, start_date="2024-05-03", end_date="2024-05-05") == ["r2", "r4"]
    assert runs(CHANGES_URL, service="api") == [f"{2:040x}", f"{5:040x}"]
    assert runs(CHANGES_URL, environment="stage") == []


def test_both_lists_need_a_token(anonymous_client):
    for url in (DEPLOYMENTS_URL, CHANGES_URL):
        for query in ({}, {"start_date": "nope"}):
            response = anonymous_client.get(url, query)
            assert response.status_code == 401 and "detail" in response.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start_date": "2024-1-01"}, "start_date"),
        ({"start_date": "2024-02-30"}, "start_date"),
        ({"end_date": "today"}, "end_date"),
        ({"start_date": "1999-12-31", "end_date": "2000-01-05"}, "start_date"),
        ({"start_date": "2100-01-01"}, "start_date"),
        ({"start_date": "2024-03-02", "end_date": "2024-03-01"}, "end_date"),
        ({"start_date": "2020-01-01", "end_date": "2024-01-01"}, "end_date"),
        ({"start_date": ["2024-01-01", "2024-01-02"]}, "start_date"),
        ({"project": "a\x00b"}, "project"),
        ({"environment": "a\x00b", "page": 99}, "environment"),
    ],
)
def test_every_refusal_is_the_summarys_400(read_only_client, query, field):
    summary = read_only_client.get(SUMMARY_URL, query)
    assert summary.status_code == 400 and list(summary.json()) == [field]
    for url in (DEPLOYMENTS_URL, CHANGES_URL):
        response = read_only_client.get(url, query)
        assert response.status_code == 400
        assert response.json() == summary.json()


def test_the_defaults_are_the_summarys(read_only_client):
    summary = read_only_client.get(SUMMARY_URL).json()
    for url in (DEPLOYMENTS_URL, CHANGES_URL):
        body = read_only_client.get(url).json()
        assert body == {"count": 0, "next": None, "previous": None, "results": []}
    assert math.isclose(summary["metrics"]["deployment_frequency"]["value"], 0)
