"""Every Zadig statistic equals a slow, obvious recomputation from the raw runs (seeded random data).

Runs are posted through `/api/v1/workflow-runs/` (some re-posted with new content), with job starts
a few seconds or minutes around local midnights, in Shanghai and in Berlin around its DST changes.
Then part of the rollup is brought up to date and part left dirty (some with stale rollup rows),
so the endpoints must combine clean buckets, dirty buckets and raw edge days correctly.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from insights import rollups
from insights.models import DirtyJobDay, Environment, Project, Rollback, ServiceSnapshot

pytestmark = pytest.mark.django_db

SEEDS = range(30)
ZONES = ("Asia/Shanghai", "Europe/Berlin")
ANCHORS = {
    "Asia/Shanghai": [date(2024, 3, 31), date(2024, 1, 1), date(2024, 10, 27)],
    "Europe/Berlin": [date(2024, 3, 31), date(2024, 10, 27), date(2024, 6, 15)],
}
FINAL = ("passed", "failed", "timeout")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OFFSETS = [-7200, -3601, -60, -1, 0, 1, 59, 3600, 7199, 43200]


def unix_floor(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(seconds=1)


@dataclass
class World:
    """The generated truth: the latest content of every run, as plain dicts."""

    zone: ZoneInfo
    rng: random.Random
    anchor: date
    keys: list[str]
    runs: dict[str, dict] = field(default_factory=dict)
    micro: int = 0

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def near_midnight(self) -> datetime:
        """An instant a few seconds/minutes/hours around a local midnight of the window."""
        day = self.anchor + timedelta(days=self.rng.randint(-3, 3))
        midnight = datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)
        return midnight + timedelta(seconds=self.rng.choice(OFFSETS))

    def job_start(self) -> datetime:
        # Unique microseconds: no two jobs start at the same instant (the latest case count is unambiguous).
        self.micro += 1
        return self.near_midnight() + timedelta(microseconds=self.micro * 997 % 1_000_000)

    def random_job(self, position: int) -> dict:
        kind = self.rng.choice(["build", "deploy", "deploy", "test", "test", "other"])
        status = self.rng.choice(["passed", "passed", "failed", "timeout", "cancelled", "running"])
        started = self.job_start()
        finished = started + timedelta(seconds=self.rng.randint(0, 900), microseconds=self.rng.randint(0, 999_999))
        job = {"name": f"{kind}-{position}", "type": kind, "status": status, "started_at": started}
        job["finished_at"] = (
            None if status == "running" or (status == "cancelled" and self.rng.random() < 0.5) else finished
        )
        if kind == "deploy":
            job["environment"] = self.rng.choice(["prod", "stage", None])
        if kind == "test":
            job["test_module"] = self.rng.choice(["unit", "e2e"])
            job["case_count"] = self.rng.choice([None, *range(0, 40, 7)])
        return job

    def random_run(self, run_id: str) -> dict:
        jobs = [self.random_job(n) for n in range(self.rng.randint(0, 5))]
        return {
            "id": run_id,
            "project": self.rng.choice(self.keys),
            "workflow": "ci",
            "status": self.rng.choice(FINAL),
            "created_at": jobs[0]["started_at"] if jobs else self.near_midnight(),
            "jobs": jobs,
        }

    def payload(self, runs: list[dict]) -> list[dict]:
        def iso(value):
            return value.astimezone(self.zone).isoformat() if isinstance(value, datetime) else value

        return [
            {
                **run,
                "created_at": iso(run["created_at"]),
                "jobs": [{k: iso(v) for k, v in j.items()} for j in run["jobs"]],
            }
            for run in runs
        ]

    def jobs(self):
        for run in self.runs.values():
            for job in run["jobs"]:
                yield run["project"], job

    def counted(self, kind: str, keys: set[str]):
        for project, job in self.jobs():
            if project not in keys or job["status"] not in FINAL:
                continue
            if kind == "release":
                if job["type"] == "deploy" and job.get("environment") == "prod":
                    yield job
            elif job["type"] == kind:
                yield job


def post(client, world: World, runs: list[dict]) -> None:
    response = client.post("/api/v1/workflow-runs/", world.payload(runs), format="json")
    assert response.status_code in (200, 201), response.content[:500]
    world.runs.update({run["id"]: run for run in runs})


def build_world(client, seed: int) -> World:
    """Projects, two rounds of runs (the second re-posting some), and a partly recomputed rollup."""
    rng = random.Random(seed)
    zone = ZONES[seed % 2]
    world = World(ZoneInfo(zone), rng, rng.choice(ANCHORS[zone]), [f"p{n}" for n in range(rng.randint(1, 3))])
    for key in world.keys:
        project = Project.objects.create(key=key, name=key)
        Environment.objects.create(project=project, name="prod", production=True)
        Environment.objects.create(project=project, name="stage", production=False)
    ids = [f"run-{n}" for n in range(rng.randint(3, 9))]
    post(client, world, [world.random_run(run_id) for run_id in ids])
    rollups.recompute_dirty()  # as the task would after commit: every bucket clean
    if rng.random() < 0.5:  # a project rolled up, then deleted: no total may still count it
        gone = Project.objects.create(key="gone", name="gone")
        Environment.objects.create(project=gone, name="prod", production=True)
        Environment.objects.create(project=gone, name="stage", production=False)
        gone_runs = [{**world.random_run(f"gone-{n}"), "project": "gone"} for n in range(rng.randint(1, 4))]
        post(client, world, gone_runs)
        rollups.recompute_dirty()
        gone.delete()
        for run in gone_runs:
            del world.runs[run["id"]]
    again = rng.sample(ids, rng.randint(1, len(ids))) + [f"run-new-{n}" for n in range(rng.randint(0, 3))]
    post(client, world, [world.random_run(run_id) for run_id in again])
    marks = list(DirtyJobDay.objects.order_by("id").values_list("pk", "project_pk", "day"))
    settled = rng.sample(marks, rng.randint(0, len(marks)))
    rollups.recompute_job_days((pid, day) for _, pid, day in settled)
    DirtyJobDay.objects.filter(pk__in=[pk for pk, _, _ in settled]).delete()
    return world


def selection(world: World) -> tuple[str, set[str]]:
    """A query string choosing projects in one of the documented forms, and the keys it means."""
    rng = world.rng
    chosen = set(rng.sample(world.keys, rng.randint(0, len(world.keys))))
    extra = ["ghost"] if rng.random() < 0.2 else []
    names = sorted(chosen) + extra
    if not names:
        return "", set(world.keys)
    form = rng.choice(["repeated", "comma", "alias", "mixed"])
    if form == "repeated":
        query = "&".join(f"productNames={name}" for name in names)
    elif form == "comma":
        query = "productNames=" + ",".join(names)
    elif form == "alias":
        query = "projectKey=" + ",".join(names)
    else:
        query = f"productNames={names[0]}&projectKey=" + ",".join(names)
    return query, chosen


def day_range(world: World, kind: str, keys: set[str]) -> tuple[str, list[date]]:
    """Random startDate/endDate (or none) and the local days they mean, per API.md."""
    rng = world.rng
    if rng.random() < 0.25:
        days = [world.local_day(job["started_at"]) for job in world.counted(kind, keys)]
        if not days:
            return "", []
        today = datetime.now(world.zone).date()
        first, last = min(days), max(max(days), today)
    else:
        start, end = sorted([world.near_midnight(), world.near_midnight()])
        first, last = world.local_day(start), world.local_day(end)
        return f"startDate={unix_floor(start)}&endDate={unix_floor(end)}", daily(first, last)
    return "", daily(first, last)


def daily(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def fetch(client, world: World, path: str, query: str) -> dict:
    with override_settings(INSIGHTS_TIME_ZONE=world.zone.key):
        response = client.get(f"/openapi/statistics/{path}?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def in_zone(seed: int):
    return override_settings(INSIGHTS_TIME_ZONE=ZONES[seed % 2])


@pytest.mark.parametrize("seed", SEEDS)
def test_build_and_deploy_match_the_raw_jobs(read_only_client, api_client, seed):
    with in_zone(seed):
        world = build_world(api_client, seed)
        for kind in ("build", "deploy", "build", "deploy"):
            projects, keys = selection(world)
            dates, days = day_range(world, kind, keys)
            body = fetch(read_only_client, world, kind, f"{projects}&{dates}")
            expected = {day: {"date": day.isoformat(), "success": 0, "failure": 0, "total": 0} for day in days}
            for job in world.counted(kind, keys):
                row = expected.get(world.local_day(job["started_at"]))
                if row is not None:
                    row["success" if job["status"] == "passed" else "failure"] += 1
                    row["total"] += 1
            data = list(expected.values())
            assert body == {
                "total": sum(r["total"] for r in data),
                "success": sum(r["success"] for r in data),
                "data": data,
            }


@pytest.mark.parametrize("seed", SEEDS)
def test_test_statistics_match_the_raw_jobs(read_only_client, api_client, seed):
    with in_zone(seed):
        world = build_world(api_client, seed)
        for _ in range(3):
            projects, keys = selection(world)
            dates, days = day_range(world, "test", keys)
            body = fetch(read_only_client, world, "test", f"{projects}&{dates}")
            latest: dict[tuple[str, str], tuple[datetime, int]] = {}
            for project, job in world.jobs():
                if project in keys and job["type"] == "test" and job["case_count"] is not None:
                    key = (project, job["test_module"])
                    if key not in latest or job["started_at"] > latest[key][0]:
                        latest[key] = (job["started_at"], job["case_count"])
            in_range = [
                j
                for j in world.counted("test", keys)
                if days and days[0] <= world.local_day(j["started_at"]) <= days[-1]
            ]
            spent = sum((j["finished_at"] - j["started_at"]) // timedelta(microseconds=1) for j in in_range)
            average = math.floor(Fraction(spent, len(in_range) * 10**6) + Fraction(1, 2)) if in_range else 0
            weeks = []
            for end in range(len(days) - 1, -1, -7):
                week_days = set(days[max(0, end - 6) : end + 1])
                week = [j for j in in_range if world.local_day(j["started_at"]) in week_days]
                weeks.append(
                    {
                        "date": days[end].isoformat(),
                        "success_count": sum(j["status"] == "passed" for j in week),
                        "timeout_count": sum(j["status"] == "timeout" for j in week),
                        "failed_count": sum(j["status"] == "failed" for j in week),
                    }
                )
            assert body["case_count"] == sum(count for _, count in latest.values())
            assert body == {
                "case_count": body["case_count"],
                "exec_count": len(in_range),
                "success_count": sum(j["status"] == "passed" for j in in_range),
                "average_runtime": average,
                "data": weeks,
            }


@pytest.mark.parametrize("seed", SEEDS)
def test_release_statistics_match_the_raw_jobs(read_only_client, api_client, seed):
    with in_zone(seed):
        world = build_world(api_client, seed)
        for _ in range(4):
            projects, keys = selection(world)
            start, end = sorted(unix_floor(world.near_midnight()) + world.rng.randint(-2, 2) for _ in range(2))
            names = world.rng.choice([("start_time", "end_time"), ("startTime", "endTime")])
            query = projects.replace("productNames", "project_name") + f"&{names[0]}={start}&{names[1]}={end}"
            body = fetch(read_only_client, world, "v2/release", query)
            days = daily(
                world.local_day(datetime.fromtimestamp(start, UTC)), world.local_day(datetime.fromtimestamp(end, UTC))
            )
            rows = {day: {"date": day.isoformat(), "total": 0, "success_count": 0, "fail_count": 0} for day in days}
            for job in world.counted("release", keys):
                if start <= unix_floor(job["started_at"]) <= end:
                    row = rows[world.local_day(job["started_at"])]
                    row["total"] += 1
                    row["success_count" if job["status"] == "passed" else "fail_count"] += 1
            stat = list(rows.values())
            assert body == {
                "total": sum(r["total"] for r in stat),
                "success_count": sum(r["success_count"] for r in stat),
                "daily_stat": stat,
            }


@pytest.mark.parametrize("seed", SEEDS)
def test_rollback_detail_matches_a_sort_of_the_raw_records(read_only_client, seed):
    rng = random.Random(seed)
    base = 1_734_491_054
    projects = [Project.objects.create(key=key, name=key) for key in ("yaml", "helm")]
    stored = []
    for n in range(rng.randint(0, 25)):
        create_time = datetime.fromtimestamp(base + rng.randint(-3, 3), UTC) + timedelta(
            microseconds=rng.choice([0, 1, 999_999])
        )
        rollback = Rollback.objects.create(
            project=rng.choice(projects),
            env_name=rng.choice(["prod", "dev"]),
            service_name=rng.choice(["a", "b"]),
            production=rng.random() < 0.5,
            create_by_uid=f"u{n}",
            create_time=create_time,
        )
        for role in ("origin", "update"):
            ServiceSnapshot.objects.create(rollback=rollback, role=role, service_name=rollback.service_name)
        stored.append(rollback)
    for _ in range(4):
        start, end = sorted(base + rng.randint(-4, 4) for _ in range(2))
        filters = {
            "projectKey": rng.choice([None, "yaml", "helm", "nope"]),
            "envName": rng.choice([None, "prod", "dev"]),
            "serviceName": rng.choice([None, "a", "b"]),
        }
        page_num, page_size = rng.randint(1, 4), rng.randint(1, 7)
        params = {"startTime": start, "endTime": end, "pageSize": page_size, "pageNum": page_num}
        params |= {name: value for name, value in filters.items() if value is not None}
        body = read_only_client.get("/openapi/statistics/v2/rollback/detail", params).json()
        matches = [
            r
            for r in stored
            if start <= unix_floor(r.create_time) <= end
            and filters["projectKey"] in (None, r.project.key)
            and filters["envName"] in (None, r.env_name)
            and filters["serviceName"] in (None, r.service_name)
        ]
        matches.sort(key=lambda r: (r.create_time, r.pk), reverse=True)
        page = matches[(page_num - 1) * page_size : page_num * page_size]
        assert body["total"] == len(matches)
        assert [(r["create_by"]["uid"], r["create_time"]) for r in body["data"]] == [
            (r.create_by_uid, unix_floor(r.create_time)) for r in page
        ]
        assert all(
            (r["project_key"], r["env_name"], r["service_name"], r["production"])
            == (m.project.key, m.env_name, m.service_name, m.production)
            for r, m in zip(body["data"], page, strict=True)
        )
