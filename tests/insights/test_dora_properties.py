"""Every DORA figure equals a slow recomputation written straight from the rules (README "DORA metrics")
over all the generated rows, on random histories (seeded loops, like test_statistics_properties).

Histories hold deploy jobs of every status to production and staging, with and without a service, ending
a few seconds or hours around local midnights (Shanghai and Los Angeles, across its DST change), often at
the very same instant; commits shared by several runs (redeployments), committed before or after their
deployment (clock skew); rollbacks with and without an earlier deployment; and re-posts of runs with an
extra commit (late-arriving commits) or other jobs.
"""

import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.dora import selectors
from insights.dora.selectors import METRICS, Scope
from insights.models import Environment, Project, Rollback, Service

pytestmark = pytest.mark.django_db

SEEDS = range(24)
ZONES = ("Asia/Shanghai", "America/Los_Angeles")
ANCHOR = {"Asia/Shanghai": date(2024, 2, 29), "America/Los_Angeles": date(2024, 11, 3)}
OFFSETS = [-7200, -3600, -61, -1, 0, 1, 60, 3600, 43200]
STATUSES = ["passed", "passed", "failed", "timeout", "cancelled", "running"]
BRANCHES = ["", "main", "hotfix/login", "hotfix-7", "Hotfix/x", "feature/hotfix/no"]
SHAS = [f"{n:040x}" for n in range(1, 9)]
INTERVALS = ("daily", "weekly", "monthly", "all")


@dataclass
class World:
    zone: ZoneInfo
    rng: random.Random
    anchor: date
    runs: dict[str, dict] = field(default_factory=dict)
    rollbacks: list[tuple] = field(default_factory=list)  # (project, env, service, production, time)

    def near_midnight(self, spread: int = 6) -> datetime:
        day = self.anchor + timedelta(days=self.rng.randint(-spread, spread))
        midnight = datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)
        return midnight + timedelta(seconds=self.rng.choice(OFFSETS))

    def job(self, n: int) -> dict:
        status = self.rng.choice(STATUSES)
        finished = self.near_midnight()
        return {
            "name": f"deploy-{n}",
            "type": self.rng.choice(["deploy"] * 5 + ["build"]),
            "status": status,
            "started_at": finished - timedelta(seconds=self.rng.randint(0, 600)),
            "finished_at": None if status == "running" else finished,
            "environment": self.rng.choice(["prod", "prod", "stage", None]),
            "service": self.rng.choice(["web", "web", "api", None]),
        }

    def commit(self) -> dict:
        return {
            "repo": self.rng.choice(["shop/web", "shop/api"]),
            "sha": self.rng.choice(SHAS),
            "committed_at": self.near_midnight(8) - timedelta(hours=self.rng.randint(0, 30)),
        }

    def run(self, run_id: str) -> dict:
        jobs = [self.job(n) for n in range(self.rng.randint(1, 4))]
        commits = {}
        for _ in range(self.rng.randint(0, 3)):
            c = self.commit()
            commits[c["repo"], c["sha"]] = c
        return {
            "id": run_id,
            "project": self.rng.choice(["p0", "p1"]),
            "workflow": "ci",
            "status": "passed",
            "created_at": min(j["started_at"] for j in jobs),
            "branch": self.rng.choice(BRANCHES),
            "jobs": jobs,
            "commits": list(commits.values()),
        }


def iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def post(client, world: World, runs: list[dict]) -> None:
    body = [
        {
            **run,
            "created_at": iso(run["created_at"]),
            "jobs": [{k: iso(v) for k, v in job.items()} for job in run["jobs"]],
            "commits": [{k: iso(v) for k, v in c.items()} for c in run["commits"]],
        }
        for run in runs
    ]
    response = client.post("/api/v1/workflow-runs/", body, format="json")
    assert response.status_code in (200, 201), response.content[:500]
    world.runs.update({run["id"]: run for run in runs})


def build_world(client, seed: int) -> World:
    rng = random.Random(seed)
    zone = ZONES[seed % 2]
    world = World(ZoneInfo(zone), rng, ANCHOR[zone])
    for key in ("p0", "p1"):
        project = Project.objects.create(key=key, name=key)
        Environment.objects.create(project=project, name="prod", production=True)
        Environment.objects.create(project=project, name="stage", production=False)
        for name in ("web", "api"):
            Service.objects.create(project=project, name=name, service_type="k8s")
    ids = [f"run-{n}" for n in range(rng.randint(6, 18))]
    post(client, world, [world.run(run_id) for run_id in ids])
    for run_id in rng.sample(ids, rng.randint(0, 3)):  # late-arriving commits: the same run, one commit more
        run = world.runs[run_id]
        extra = world.commit()
        commits = {(c["repo"], c["sha"]): c for c in run["commits"]}
        commits.setdefault((extra["repo"], extra["sha"]), extra)
        post(client, world, [{**run, "commits": list(commits.values())}])
    for run_id in rng.sample(ids, rng.randint(0, 2)):  # re-posted with other jobs
        post(client, world, [{**world.run(run_id), "project": world.runs[run_id]["project"]}])
    projects = {p.key: p for p in Project.objects.all()}
    for _ in range(rng.randint(0, 10)):
        row = (
            rng.choice(["p0", "p1"]),
            rng.choice(["prod", "prod", "stage"]),
            rng.choice(["web", "api"]),
            rng.random() < 0.8,
            world.near_midnight(),
        )
        Rollback.objects.create(
            project=projects[row[0]], env_name=row[1], service_name=row[2], production=row[3], create_time=row[4]
        )
        world.rollbacks.append(row)
    return world


# --- the slow recomputation, from the rules -----------------------------------------------------------


def in_scope(scope: Scope, project, service, env) -> bool:
    return (
        (not scope.projects or project in scope.projects)
        and (not scope.services or service in scope.services)
        and (not scope.environments or env in scope.environments)
    )


def prod_jobs(world: World, scope: Scope, statuses):
    for run in world.runs.values():
        for job in run["jobs"]:
            if (
                job["type"] == "deploy"
                and job["status"] in statuses
                and job["finished_at"] is not None
                and job["environment"] == "prod"
                and in_scope(scope, run["project"], job["service"], job["environment"])
            ):
                yield run, job


def slow_deployments(world: World, scope: Scope) -> list[dict]:
    deps = [
        {"target": (run["project"], job["service"], "prod"), "at": job["finished_at"], "run": run}
        for run, job in prod_jobs(world, scope, ("passed",))
    ]
    bad = [
        ((run["project"], job["service"], "prod"), job["finished_at"])
        for run, job in prod_jobs(world, scope, ("failed", "timeout"))
    ]
    rolls = [
        ((project, service, env), at)
        for project, env, service, production, at in world.rollbacks
        if production and in_scope(scope, project, service, env)
    ]

    def nxt(d):
        return min((e["at"] for e in deps if e["target"] == d["target"] and e["at"] > d["at"]), default=None)

    def failed(d):
        end = nxt(d)
        return any(t == d["target"] and d["at"] < at and (end is None or at < end) for t, at in bad + rolls)

    for d in deps:
        d["failed"] = failed(d)
    for d in deps:
        before = [e["at"] for e in deps if e["target"] == d["target"] and e["at"] < d["at"]]
        prior = max(before, default=None)
        restores_failed = any(e["failed"] for e in deps if e["target"] == d["target"] and e["at"] == prior)
        branch = d["run"]["branch"]
        d["rework"] = restores_failed or (
            bool(branch) and any(fnmatchcase(branch, p) for p in ("hotfix/*", "hotfix-*"))
        )
        d["restored"] = None
        if d["failed"]:
            first_rollback = min((at for t, at in rolls if t == d["target"] and at > d["at"]), default=None)
            d["restored"] = min([t for t in (first_rollback, nxt(d)) if t is not None], default=None)
    return deps


def slow_leads(world: World, scope: Scope) -> list[tuple[datetime, float]]:
    committed, first = {}, {}
    for run in world.runs.values():
        for c in run["commits"]:
            key = (c["repo"], c["sha"])
            committed[key] = min(committed.get(key, c["committed_at"]), c["committed_at"])
    for run, job in prod_jobs(world, scope, ("passed",)):
        for c in run["commits"]:
            key = (c["repo"], c["sha"])
            first[key] = min(first.get(key, job["finished_at"]), job["finished_at"])
    return [(at, max(0.0, (at - committed[key]).total_seconds())) for key, at in first.items()]


def bucket_of(day: date, start: date, interval: str) -> date:
    if interval == "daily":
        return day
    if interval == "weekly":
        return max(start, day - timedelta(days=day.weekday()))
    if interval == "monthly":
        return max(start, day.replace(day=1))
    return start


def nearest_rank_p90(values):
    return sorted(values)[math.ceil(0.9 * len(values)) - 1] if values else None


def figure(metric, deps, leads):
    if metric == "deployment_frequency":
        return len(deps)
    if metric == "lead_time_for_changes":
        return statistics.median(leads) if leads else None
    if metric == "change_failure_rate":
        return sum(d["failed"] for d in deps) / len(deps) if deps else None
    if metric == "time_to_restore_service":
        restores = [(d["restored"] - d["at"]).total_seconds() for d in deps if d["failed"] and d["restored"]]
        return statistics.median(restores) if restores else None
    return sum(d["rework"] for d in deps) / len(deps) if deps else None


def slow_series(world, scope, metric, start, end, interval):
    local = lambda moment: moment.astimezone(world.zone).date()  # noqa: E731
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    buckets = sorted({bucket_of(day, start, interval) for day in days})
    deps = [d for d in slow_deployments(world, scope) if start <= local(d["at"]) <= end]
    leads = [(at, lead) for at, lead in slow_leads(world, scope) if start <= local(at) <= end]
    return [
        {
            "date": b.isoformat(),
            "value": figure(
                metric,
                [d for d in deps if bucket_of(local(d["at"]), start, interval) == b],
                [lead for at, lead in leads if bucket_of(local(at), start, interval) == b],
            ),
        }
        for b in buckets
    ]


def slow_summary_values(world, scope, start, end):
    local = lambda moment: moment.astimezone(world.zone).date()  # noqa: E731
    deps = [d for d in slow_deployments(world, scope) if start <= local(d["at"]) <= end]
    leads = [lead for at, lead in slow_leads(world, scope) if start <= local(at) <= end]
    restores = [(d["restored"] - d["at"]).total_seconds() for d in deps if d["failed"] and d["restored"]]
    values = {m: figure(m, deps, leads) for m in METRICS}
    values["deployment_frequency"] = len(deps) / ((end - start).days + 1)
    extras = {
        "days_with_deployment": len({local(d["at"]) for d in deps}),
        "lead_p90": nearest_rank_p90(leads),
        "restore_p90": nearest_rank_p90(restores),
        "open_failures": sum(1 for d in deps if d["failed"] and not d["restored"]),
    }
    return values, extras


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


def random_scope(world: World) -> Scope:
    rng = world.rng

    def pick(options):
        return tuple(sorted(rng.sample(options, rng.randint(0, 2)))) if rng.random() < 0.5 else ()

    return Scope(pick(["p0", "p1", "ghost"]), pick(["web", "api"]), pick(["prod", "stage"]))


def random_range(world: World) -> tuple[date, date]:
    a, b = sorted(world.anchor + timedelta(days=world.rng.randint(-9, 9)) for _ in range(2))
    return a, b


@pytest.mark.parametrize("seed", SEEDS)
def test_every_series_matches_the_rules(api_client, seed):
    with override_settings(INSIGHTS_TIME_ZONE=ZONES[seed % 2]):
        world = build_world(api_client, seed)
        for _ in range(3):
            scope = random_scope(world)
            start, end = random_range(world)
            for metric in METRICS:
                for interval in INTERVALS:
                    got = selectors.metric_series(metric, start, end, interval, scope)
                    want = slow_series(world, scope, metric, start, end, interval)
                    assert [p["date"] for p in got] == [p["date"] for p in want]
                    assert all(same(g["value"], w["value"]) for g, w in zip(got, want, strict=True)), (
                        metric,
                        interval,
                        scope,
                        got,
                        want,
                    )


@pytest.mark.parametrize("seed", SEEDS)
def test_the_summary_matches_the_rules(api_client, seed):
    with override_settings(INSIGHTS_TIME_ZONE=ZONES[seed % 2]):
        world = build_world(api_client, seed)
        for _ in range(3):
            scope = random_scope(world)
            start, end = random_range(world)
            body = selectors.summary(start, end, scope)
            length = end - start + timedelta(days=1)
            now, extras = slow_summary_values(world, scope, start, end)
            before, _ = slow_summary_values(world, scope, start - length, start - timedelta(days=1))
            assert (body["previous_start_date"], body["previous_end_date"]) == (
                (start - length).isoformat(),
                (start - timedelta(days=1)).isoformat(),
            )
            for metric in METRICS:
                got = body["metrics"][metric]
                assert same(got["value"], now[metric]), (metric, got, now[metric])
                assert same(got["previous"], before[metric]), (metric, got, before[metric])
                if now[metric] is None or not before[metric]:
                    assert got["change_percent"] is None
                else:
                    assert same(got["change_percent"], round((now[metric] - before[metric]) / before[metric] * 100, 2))
            figures = body["metrics"]
            assert figures["deployment_frequency"]["days_with_deployment"] == extras["days_with_deployment"]
            assert same(figures["lead_time_for_changes"]["p90"], extras["lead_p90"])
            assert same(figures["time_to_restore_service"]["p90"], extras["restore_p90"])
            assert figures["time_to_restore_service"]["open_failures"] == extras["open_failures"]


@pytest.mark.parametrize("seed", SEEDS[:8])
def test_the_rows_behind_the_figures_match_the_rules(api_client, seed):
    with override_settings(INSIGHTS_TIME_ZONE=ZONES[seed % 2]):
        world = build_world(api_client, seed)
        scope = random_scope(world)
        start, end = random_range(world)
        local = lambda moment: moment.astimezone(world.zone).date()  # noqa: E731

        def order(row):
            return (row[0][0], row[0][1] or "", row[1], row[2])

        want = sorted(
            (
                (d["target"], d["at"], d["run"]["id"], d["failed"], d["restored"], d["rework"])
                for d in slow_deployments(world, scope)
                if start <= local(d["at"]) <= end
            ),
            key=order,
        )
        got = sorted(
            (
                (
                    (r["project"], r["service"], r["environment"]),
                    r["finished_at"],
                    r["run_id"],
                    r["failed"],
                    r["restored_at"],
                    r["rework"],
                )
                for r in selectors.deployments(start, end, scope)
            ),
            key=order,
        )
        assert got == want
        leads = sorted(lead for at, lead in slow_leads(world, scope) if start <= local(at) <= end)
        assert all(same(a, b) for a, b in zip(selectors.lead_times(start, end, scope), leads, strict=True))
        rows = selectors.per_service(start, end, scope)
        assert sum(r["deployments"] for r in rows) == len(want)


@given(seed=st.integers(min_value=100, max_value=2**32))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hypothesis_drawn_histories_match_the_rules(api_client, seed):
    """The same comparison on histories hypothesis draws (each in a savepoint rolled back afterwards)."""
    with override_settings(INSIGHTS_TIME_ZONE=ZONES[seed % 2]), transaction.atomic():
        world = build_world(api_client, seed)
        scope = random_scope(world)
        start, end = random_range(world)
        for metric in METRICS:
            interval = world.rng.choice(INTERVALS)
            got = selectors.metric_series(metric, start, end, interval, scope)
            want = slow_series(world, scope, metric, start, end, interval)
            assert [p["date"] for p in got] == [p["date"] for p in want]
            assert all(same(g["value"], w["value"]) for g, w in zip(got, want, strict=True)), (metric, got, want)
        transaction.set_rollback(True)
