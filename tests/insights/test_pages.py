"""The delivery page (insights/pages.py) without a browser: login, choices, CSV equal to the Zadig API,
rollbacks equal to the Zadig API and linked to their escaped diffs (tests/insights/test_rollback_diff.py
for the diff view itself), and counts equal to a plain recount of raw jobs."""

import csv
import difflib
import html
import io
import json
import random
import re
from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from common.charts import success_rate
from insights.dirty import day_bounds, local_day
from insights.models import Job, Rollback, Status
from insights.pages import image_changes
from insights.rollback_records import unix_seconds
from insights.yaml_diff import yaml_diff
from tests.browser.data import AFTER_YAML, BEFORE_YAML, HOSTILE, add_job, delivery_data, make_project, zone

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))
    return client


def week(data, **extra) -> dict:
    return {"start": (data.today - timedelta(days=6)).isoformat(), "end": data.today.isoformat(), **extra}


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_page_needs_a_staff_login(client, django_user_model):
    response = client.get("/delivery/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=/delivery/")
    client.force_login(django_user_model.objects.create_user("someone"))
    assert client.get("/delivery/?format=csv&chart=build").status_code == 302


def test_without_days_the_page_shows_the_last_30_local_days(staff):
    delivery_data()
    response = staff.get("/delivery/")
    assert response.status_code == 200
    today = local_day(timezone.now())
    charts = json.loads(
        response.content.decode().split('id="chart-data" type="application/json">')[1].split("</script>")[0]
    )
    assert charts["build"]["labels"][0] == (today - timedelta(days=29)).isoformat()
    assert charts["build"]["labels"][-1] == today.isoformat()
    assert b"Local days" in response.content


@pytest.mark.parametrize(
    "params, message",
    [
        ({"start": "2024-05-02", "end": "2024-05-01"}, b"must not be before"),
        ({"start": "2020-01-01", "end": "2024-01-01"}, b"at most 366 days"),
        ({"start": "yesterday"}, b"valid date"),
        ({"project": "nope"}, b"Select a valid choice"),
    ],
)
def test_bad_choices_are_a_message_not_a_server_error(staff, params, message):
    make_project("alpha")
    response = staff.get("/delivery/", params)
    assert response.status_code == 400
    assert message in response.content and b'role="alert"' in response.content
    csv_response = staff.get("/delivery/", {**params, "format": "csv", "chart": "build"})
    assert csv_response.status_code == 400 and message in csv_response.content


def test_an_unknown_chart_is_400(staff):
    response = staff.get("/delivery/", {"format": "csv", "chart": "bogus"})
    assert response.status_code == 400 and b"build, deploy, test, release" in response.content


@pytest.mark.parametrize("projects", [[], ["alpha"], ["alpha", "beta"]])
def test_every_csv_equals_the_zadig_endpoint(staff, api_client, projects):
    data = delivery_data()
    first = data.today - timedelta(days=6)
    start, end = day_bounds(first)[0], day_bounds(data.today)[1]
    keys = ",".join(projects)
    daily = {"startDate": int(start.timestamp()), "endDate": int(end.timestamp()) - 1, "productNames": keys}
    for chart, fields in (("build", ("success", "failure", "total")), ("deploy", ("success", "failure", "total"))):
        rows = read_csv(staff.get("/delivery/", week(data, project=projects, format="csv", chart=chart)))
        api = api_client.get(f"/openapi/statistics/{chart}", daily).json()["data"]
        assert [[row["date"], *(int(row[f]) for f in fields)] for row in rows] == [
            [item["date"], *(item[f] for f in fields)] for item in api
        ]
    rows = read_csv(staff.get("/delivery/", week(data, project=projects, format="csv", chart="test")))
    api = api_client.get("/openapi/statistics/test", daily).json()["data"]
    fields = ("success_count", "failed_count", "timeout_count")
    assert [[row["date"], *(int(row[f]) for f in fields)] for row in rows] == [
        [item["date"], *(item[f] for f in fields)] for item in reversed(api)
    ]
    rows = read_csv(staff.get("/delivery/", week(data, project=projects, format="csv", chart="release")))
    release = {"start_time": int(start.timestamp()), "end_time": int(end.timestamp()) - 1, "project_name": keys}
    api = api_client.get("/openapi/statistics/v2/release", release).json()["daily_stat"]
    fields = ("success_count", "fail_count", "total")
    assert [[row["date"], *(int(row[f]) for f in fields)] for row in rows] == [
        [item["date"], *(item[f] for f in fields)] for item in api
    ]


def test_summaries_and_rollbacks_follow_the_chosen_projects(staff):
    data = delivery_data()
    every = staff.get("/delivery/", week(data)).context
    beta = staff.get("/delivery/", week(data, project="beta")).context
    assert [(card["total"], card["success"]) for card in every["summaries"]] == [(8, 7), (2, 1), (2, 1), (1, 1)]
    assert [(card["total"], card["success"]) for card in beta["summaries"]] == [(4, 4), (0, 0), (1, 0), (0, 0)]
    assert beta["summaries"][1]["rate"] is None
    assert (every["rollback_total"], len(every["rollbacks"])) == (1, 1)
    assert (beta["rollback_total"], beta["rollbacks"]) == (0, [])


def test_rollback_text_is_escaped_never_markup(staff):
    data = delivery_data()
    html_text = staff.get("/delivery/", week(data)).content.decode()
    assert HOSTILE not in html_text
    assert "&lt;script&gt;window.hacked=1&lt;/script&gt;" in html_text


def test_the_page_links_each_rollback_to_its_diff_instead_of_showing_it(staff):
    data = delivery_data()
    page = staff.get("/delivery/", week(data)).content.decode()
    assert 'class="diff"' not in page and "registry.example.com/web:0.9</span>" not in page
    assert "+  image:" not in page and "@@ " not in page
    links = re.findall(r'<a class="diff-link" href="([^"]+)">', page)
    assert links == [f"/delivery/rollbacks/{Rollback.objects.get().pk}/"]
    diff = staff.get(links[0])
    assert diff.status_code == 200
    pre = diff.content.decode().split('<pre class="diff" id="diff">')[1].split("</pre>")[0]
    shown = [(css, html.unescape(line)) for css, line in re.findall(r'<span class="(\w+)">(.*?)</span>', pre)]
    after = AFTER_YAML + f"# {HOSTILE}\n"
    assert shown == yaml_diff(BEFORE_YAML, after)
    assert [line for _, line in shown] == list(
        difflib.unified_diff(
            BEFORE_YAML.splitlines(), after.splitlines(), "before rollback", "after rollback", lineterm=""
        )
    )
    assert HOSTILE not in diff.content.decode()


@pytest.mark.parametrize("projects", [[], ["alpha"], ["beta"], ["alpha", "gamma"]])
def test_the_rollbacks_listed_are_the_zadig_endpoints(staff, api_client, projects):
    """Newest first, ties newest insert first, only the chosen projects and days: as the API answers."""
    today = local_day(timezone.now())
    alpha, beta, gamma = make_project("alpha"), make_project("beta"), make_project("gamma")
    noon = datetime.combine(today - timedelta(days=2), time(12), tzinfo=zone())
    for project, service, moment in (
        (alpha, "a-old", noon - timedelta(days=1)),
        (beta, "b-tie-1", noon),
        (alpha, "a-tie-2", noon),
        (gamma, "g-new", noon + timedelta(hours=3)),
        (beta, "b-outside", noon - timedelta(days=30)),
        (alpha, "a-today", timezone.now() - timedelta(minutes=1)),
    ):
        Rollback.objects.create(project=project, env_name="prod", service_name=service, create_time=moment)
    params = {"start": (today - timedelta(days=6)).isoformat(), "end": today.isoformat(), "project": projects}
    context = staff.get("/delivery/", params).context
    start, end = day_bounds(today - timedelta(days=6))[0], day_bounds(today)[1]
    records, total = [], 0
    for key in projects or [None]:
        query = {"startTime": int(start.timestamp()), "endTime": int(end.timestamp()) - 1, "pageSize": 100}
        answer = api_client.get("/openapi/statistics/v2/rollback/detail", {**query, "projectKey": key or ""}).json()
        total += answer["total"]
        records += answer["data"]
    records.sort(key=lambda record: record["create_time"], reverse=True)  # stable: each answer's tie order kept
    assert context["rollback_total"] == total
    assert [(r["project_key"], r["service_name"], unix_seconds(r["created"])) for r in context["rollbacks"]] == [
        (r["project_key"], r["service_name"], r["create_time"]) for r in records
    ]
    assert "b-outside" not in {r["service_name"] for r in context["rollbacks"]}


def test_yaml_diff_marks_added_removed_and_context_lines():
    lines = yaml_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n")
    assert lines == [
        ("file", "--- before rollback"),
        ("file", "+++ after rollback"),
        ("hunk", "@@ -1,2 +1,2 @@"),
        ("context", " a: 1"),
        ("removed", "-b: 2"),
        ("added", "+b: 3"),
    ]
    assert yaml_diff("same\n", "same\n") == []


def test_image_changes_pair_containers_by_name():
    before = [{"name": "web", "image": "web:1"}, {"name": "sidecar", "image": "envoy:1"}]
    after = [
        {"name": "web", "image": "web:0"},
        {"name": "sidecar", "image": "envoy:1"},
        {"name": "new", "image": "n:1"},
    ]
    assert image_changes(before, after) == [
        {"name": "web", "before": "web:1", "after": "web:0", "changed": True},
        {"name": "sidecar", "before": "envoy:1", "after": "envoy:1", "changed": False},
        {"name": "new", "before": "", "after": "n:1", "changed": True},
    ]


@pytest.mark.parametrize("seed", range(3))
def test_build_and_release_csv_equal_a_recount_of_raw_jobs(staff, seed):
    """Random jobs over ten days; the CSV must equal counting the rows one by one."""
    rng = random.Random(seed)
    today = local_day(timezone.now())
    projects = [make_project(key) for key in ("p1", "p2")]
    statuses = [Status.PASSED, Status.FAILED, Status.TIMEOUT, Status.CANCELLED]
    for _ in range(40):
        project = rng.choice(projects)
        kind = rng.choice(["build", "deploy"])
        env = project.environments.get(name=rng.choice(["prod", "dev"])) if kind == "deploy" else None
        add_job(project, kind, rng.choice(statuses), today - timedelta(days=rng.randrange(12)), env=env)
    chosen = rng.choice([[], ["p1"], ["p2"], ["p1", "p2"]])
    params = {"start": (today - timedelta(days=9)).isoformat(), "end": today.isoformat(), "project": chosen}
    counted = [Status.PASSED, Status.FAILED, Status.TIMEOUT]
    jobs = [
        job
        for job in Job.objects.select_related("environment", "project")
        if job.status in counted and (not chosen or job.project.key in chosen)
    ]
    for chart, field in (("build", "success"), ("release", "success_count")):
        rows = read_csv(staff.get("/delivery/", {**params, "format": "csv", "chart": chart}))
        assert len(rows) == 10
        for row in rows:
            same_day = [
                job
                for job in jobs
                if local_day(job.started_at).isoformat() == row["date"]
                and (job.type == "build" if chart == "build" else job.type == "deploy" and job.environment.production)
            ]
            passed = sum(job.status == Status.PASSED for job in same_day)
            assert (int(row["total"]), int(row[field])) == (len(same_day), passed)
            assert row["success_rate"] == ("" if not same_day else str(success_rate(passed, len(same_day))))
