"""The operators' admin for the insights tables: every page renders, search finds rows, raw data
can be corrected (jobs follow their run's project), derived tables stay read-only, and a token's
hash never reaches a page."""

from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from common.models import ApiToken
from common.tokens import create_api_token
from insights.models import (
    Artifact,
    Cluster,
    Commit,
    DailyJobStat,
    DailyJobTotal,
    DirtyJobDay,
    Environment,
    Job,
    Project,
    Rollback,
    Service,
    ServiceSnapshot,
    TestModule,
    Workflow,
    WorkflowRun,
)
from insights.sources import secrets
from insights.sources.models import Delivery, Source

DERIVED = (DailyJobStat, DailyJobTotal, DirtyJobDay, TestModule)
K8S_YAML = (
    "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: {}\n"
)


@pytest.fixture
def admin_client(client, django_user_model):
    """A logged-in superuser, without the deliberate slowness of hashing a password."""
    client.force_login(django_user_model.objects.create(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def rows(db):
    """A few rows of every insights table, written with the ORM."""
    now = timezone.now()
    shop = Project.objects.create(key="shop", name="Online shop")
    other = Project.objects.create(key="payments", name="Payments")
    cluster = Cluster.objects.create(name="prod-bj-1")
    prod = Environment.objects.create(project=shop, name="prod", production=True, cluster=cluster)
    foreign_env = Environment.objects.create(project=other, name="prod", production=True)
    web = Service.objects.create(project=shop, name="web", service_type="k8s")
    workflow = Workflow.objects.create(project=shop, name="release")
    Workflow.objects.create(project=other, name="nightly")
    Artifact.objects.create(project=shop, name="web", type="image", uri="registry.example.com/shop/web:1")
    run = WorkflowRun.objects.create(id="ci-42-7", project=shop, workflow=workflow, status="failed", created_at=now)
    Commit.objects.create(run=run, repo="shop/web", sha="a" * 40, committed_at=now, author="dev", message="fix")
    start = now - timedelta(minutes=10)
    Job.objects.create(
        run=run, project=shop, position=0, name="build-web", type="build", status="passed",
        started_at=start, finished_at=start + timedelta(minutes=3),
    )  # fmt: skip
    Job.objects.create(
        run=run, project=shop, position=1, name="deploy-web-prod", type="deploy", status="failed",
        started_at=start + timedelta(minutes=4), finished_at=start + timedelta(minutes=5),
        environment=prod, service=web,
    )  # fmt: skip
    Job.objects.create(
        run=run, project=shop, position=2, name="unit", type="test", status="passed", test_module="unit",
        case_count=24, started_at=start + timedelta(minutes=6), finished_at=start + timedelta(minutes=8),
    )  # fmt: skip
    rollback = Rollback.objects.create(
        project=shop, env_name="prod", env_type="zadig", production=True, operation_type="zadig",
        service_name="web", service_type="k8s", create_by_account="liwei", create_by_name="Li Wei", create_time=now,
    )  # fmt: skip
    for role, tag in (("origin", "20240830-8-main"), ("update", "20240621-261-main")):
        image = f"registry.example.com/shop/web:{tag}"
        ServiceSnapshot.objects.create(
            rollback=rollback, role=role, service_name="web", rendered_yaml=K8S_YAML.format(image),
            containers=[{"name": "web", "type": "", "image": image, "image_name": "web"}], update_time=now,
        )  # fmt: skip
    TestModule.objects.update_or_create(project=shop, name="unit", defaults={"case_count": 24, "reported_at": now})
    DailyJobStat.objects.update_or_create(
        project=shop, day=date(2024, 8, 30), kind="build", defaults={"passed": 3, "failed": 1, "duration_us": 10**8}
    )
    DailyJobTotal.objects.update_or_create(
        day=date(2024, 8, 30), kind="build", defaults={"passed": 3, "failed": 1, "duration_us": 10**8}
    )
    DirtyJobDay.objects.update_or_create(project_pk=shop.pk, day=date(2024, 8, 30))
    raw_token = create_api_token("ci-bot")
    source = Source.objects.create(name="acme-gh", kind="github", project=shop, secret=secrets.keep("github", "s"))
    Delivery.objects.create(source=source, delivery_id="d-1", event="ping", body="{}", state="applied")
    return {"run": run, "shop": shop, "prod": prod, "foreign_env": foreign_env, "web": web, "token": raw_token}


def registered(*app_labels: str):
    return [model for model in admin.site._registry if model._meta.app_label in app_labels]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_insights_model_is_in_the_admin():
    expected = {
        Project, Cluster, Environment, Service, Workflow, Artifact, WorkflowRun, Job, TestModule, Rollback,
        ServiceSnapshot, DailyJobStat, DailyJobTotal, DirtyJobDay, ApiToken, Commit, Source, Delivery,
    }  # fmt: skip
    assert set(registered("insights", "common")) == expected


@pytest.mark.parametrize("model", registered("insights", "common"), ids=lambda m: m.__name__)
def test_changelist_and_change_form_render_for_a_superuser(admin_client, rows, model):
    changelist = admin_client.get(url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    obj = model.objects.order_by("pk").first()
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", registered("insights", "common"), ids=lambda m: m.__name__)
def test_add_form_renders_unless_rows_come_from_elsewhere(admin_client, rows, model):
    response = admin_client.get(url(model, "add"))
    # Derived rows are computed; tokens are issued by create_api_token (the raw token is shown there);
    # deliveries are what sources sent.
    assert response.status_code == (403 if model in (*DERIVED, ApiToken, Delivery) else 200)


@pytest.mark.parametrize(
    ("model", "term", "found", "missing"),
    [
        (Project, "Pay", "payments", "shop"),
        (Job, "ci-42-7", "ci-42-7/deploy-web-prod", None),
        (Workflow, "nightly", "payments/nightly", "shop/release"),
        (Rollback, "liwei", "shop/prod/web @", None),
        (Environment, "payments", "payments/prod", "shop/prod"),
        (ServiceSnapshot, "web", "before (origin_service) of rollback", None),
    ],
)
def test_search_finds_matching_rows_only(admin_client, rows, model, term, found, missing):
    response = admin_client.get(url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    results = [str(obj) for obj in response.context["cl"].result_list]
    assert any(text.startswith(found) for text in results), results
    assert missing not in results


def test_search_for_an_unknown_run_finds_no_job(admin_client, rows):
    response = admin_client.get(url(Job, "changelist"), {"q": "no-such-run"})
    assert list(response.context["cl"].result_list) == []


def test_token_hash_and_raw_token_never_appear_in_admin_pages(admin_client, rows):
    token = ApiToken.objects.get()
    pages = [url(ApiToken, "changelist"), url(ApiToken, "change", token.pk), url(ApiToken, "delete", token.pk)]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assert token.prefix in html
        assert token.key_hash not in html
        assert rows["token"] not in html


def test_token_can_be_made_read_only_but_keeps_its_hash(admin_client, rows):
    token = ApiToken.objects.get()
    response = admin_client.post(url(ApiToken, "change", token.pk), {"read_only": "on"})
    assert response.status_code == 302
    changed = ApiToken.objects.get()
    assert changed.read_only is True
    assert changed.key_hash == token.key_hash


@pytest.mark.parametrize("model", DERIVED, ids=lambda m: m.__name__)
def test_derived_tables_refuse_changes(admin_client, rows, model):
    obj = model.objects.order_by("pk").first()
    before = model.objects.filter(pk=obj.pk).values().get()
    response = admin_client.post(url(model, "change", obj.pk), {"case_count": 999, "passed": 999, "day": "2020-01-01"})
    assert response.status_code == 403
    assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before
    assert admin_client.get(url(model, "change", obj.pk)).context["has_change_permission"] is False


def test_run_page_shows_its_jobs_inline(admin_client, rows):
    html = admin_client.get(url(WorkflowRun, "change", rows["run"].pk)).content.decode()
    for name in ("build-web", "deploy-web-prod", "unit"):
        assert f'value="{name}"' in html


def split_datetime(prefix: str, moment) -> dict:
    local = timezone.localtime(moment)
    return {f"{prefix}_0": local.strftime("%Y-%m-%d"), f"{prefix}_1": local.strftime("%H:%M:%S")}


def inline_management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def new_run_form(rows, environment) -> dict:
    started = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    workflow = Workflow.objects.get(project=rows["shop"], name="release")
    return {
        "id": "hand-made-1",
        "project": rows["shop"].pk,
        "workflow": workflow.pk,
        "status": "passed",
        **split_datetime("created_at", started),
        **inline_management("jobs", 1),
        **inline_management("commits", 0),
        "jobs-0-position": "0",
        "jobs-0-name": "deploy-web-prod",
        "jobs-0-type": "deploy",
        "jobs-0-status": "passed",
        **split_datetime("jobs-0-started_at", started),
        **split_datetime("jobs-0-finished_at", started + timedelta(minutes=2)),
        "jobs-0-environment": environment.pk,
        "jobs-0-service": rows["web"].pk,
        "jobs-0-test_module": "",
        "jobs-0-case_count": "",
    }


def test_run_added_with_an_inline_job_gives_the_job_its_project(admin_client, rows):
    response = admin_client.post(url(WorkflowRun, "add"), new_run_form(rows, rows["prod"]))
    assert response.status_code == 302, response.context and response.context["errors"]
    job = Job.objects.get(run_id="hand-made-1")
    assert job.project_id == rows["shop"].pk
    assert (job.environment_id, job.service_id, job.status) == (rows["prod"].pk, rows["web"].pk, "passed")


def test_job_naming_another_projects_environment_is_refused(admin_client, rows):
    response = admin_client.post(url(WorkflowRun, "add"), new_run_form(rows, rows["foreign_env"]))
    assert response.status_code == 200
    assert "does not belong to project shop" in response.content.decode()
    assert not WorkflowRun.objects.filter(pk="hand-made-1").exists()


def test_job_edited_in_the_admin_is_saved(admin_client, rows):
    job = Job.objects.get(name="deploy-web-prod")
    data = {
        "run": job.run_id,
        "position": job.position,
        "name": job.name,
        "type": job.type,
        "status": "passed",
        **split_datetime("started_at", job.started_at),
        **split_datetime("finished_at", job.finished_at),
        "environment": job.environment_id,
        "service": job.service_id,
        "test_module": "",
        "case_count": "",
    }
    response = admin_client.post(url(Job, "change", job.pk), data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "passed"
    assert job.project_id == rows["shop"].pk


def test_rollback_page_shows_both_snapshots_readably(admin_client, rows):
    rollback = Rollback.objects.get()
    html = admin_client.get(url(Rollback, "change", rollback.pk)).content.decode()
    assert "image: registry.example.com/shop/web:20240830-8-main" in html
    assert "image: registry.example.com/shop/web:20240621-261-main" in html
    # Containers are indented JSON, one key per line, in a monospace box.
    assert "\n    &quot;image&quot;: &quot;registry.example.com/shop/web:20240830-8-main&quot;," in html
    assert "monospace" in html


def test_snapshot_containers_must_be_a_list_of_objects(admin_client, rows):
    snapshot = ServiceSnapshot.objects.get(role="origin")
    data = {
        "rollback": snapshot.rollback_id,
        "role": "origin",
        "service_name": "web",
        "release_name": "",
        "containers": '{"image": "x"}',
        "rendered_yaml": snapshot.rendered_yaml,
        "values_yaml": "",
        "override_values": "",
    }
    response = admin_client.post(url(ServiceSnapshot, "change", snapshot.pk), data)
    assert response.status_code == 200
    assert "A JSON list of objects" in response.content.decode()
    data["containers"] = '[{"name": "web", "image": "registry.example.com/shop/web:3"}]'
    assert admin_client.post(url(ServiceSnapshot, "change", snapshot.pk), data).status_code == 302
    snapshot.refresh_from_db()
    assert snapshot.containers == [{"name": "web", "image": "registry.example.com/shop/web:3"}]


def test_big_tables_skip_the_full_count(admin_client, rows):
    for model in (Job, WorkflowRun):
        response = admin_client.get(url(model, "changelist"))
        assert response.context["cl"].show_full_result_count is False


# --- dashboard, actions, empty states ---------------------------------------------------------


def overview_panel(html: str) -> str:
    start = html.index('id="overview"')
    return html[start : html.index("</table>", start)]


def test_admin_index_shows_stored_row_counts_with_links(admin_client, rows):
    panel = overview_panel(admin_client.get(reverse("admin:index")).content.decode())
    assert f'<a href="{url(Project, "changelist")}">projects</a></th><td>2</td>' in panel
    assert f'<a href="{url(Workflow, "changelist")}">workflows</a></th><td>2</td>' in panel
    assert f'<a href="{url(Environment, "changelist")}">environments</a></th><td>2</td>' in panel
    assert ">workflow runs</a></th>\n        <td>1</td>" in panel


def test_admin_index_of_an_empty_database_says_where_data_comes_from(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{url(Project, "changelist")}">projects</a></th><td>0</td>' in overview_panel(html)
    hint = html[html.index('id="no-data-hint"') :]
    for words in ("make run", "seed_demo", "/api/v1/", "create_api_token", "import_origin_log", "/api/docs/"):
        assert words in hint


def test_admin_index_without_a_hint_once_runs_and_samples_exist(admin_client, rows):
    from cdnorigin.models import Domain, OriginSample

    OriginSample.objects.create(
        domain=Domain.objects.create(name="www.example.com"), minute=timezone.now(), flux=1, pv=1
    )
    assert 'id="no-data-hint"' not in admin_client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("model", [WorkflowRun, Job], ids=lambda m: m.__name__)
def test_an_empty_big_table_says_where_data_comes_from(admin_client, model):
    response = admin_client.get(url(model, "changelist"))
    shown = [str(message) for message in response.context["messages"]]
    assert any("seed_demo" in text and "/api/v1/" in text for text in shown), shown


def test_a_filled_table_shows_no_hint(admin_client, rows):
    response = admin_client.get(url(WorkflowRun, "changelist"))
    assert not [str(message) for message in response.context["messages"]]


def run_action(client, model, action: str, pks):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0", "select_across": "0"}
    return client.post(url(model, "changelist"), data)


@pytest.mark.parametrize(
    ("model", "action"),
    [(WorkflowRun, "recompute_run_rollups"), (Job, "recompute_job_rollups")],
    ids=["runs", "jobs"],
)
def test_recompute_action_rebuilds_the_daily_rollups_of_the_selection(
    admin_client, rows, model, action, django_capture_on_commit_callbacks
):
    from tests.insights.test_rollups import assert_rollups_match_raw_rows

    DailyJobStat.objects.all().delete()  # a rollup gone wrong
    DailyJobTotal.objects.all().delete()
    DirtyJobDay.objects.all().delete()
    TestModule.objects.all().delete()
    pks = model.objects.values_list("pk", flat=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, model, action, pks)
    assert response.status_code == 302
    assert DailyJobStat.objects.exists()
    assert_rollups_match_raw_rows()
    assert not DirtyJobDay.objects.exists()
    shown = [str(message) for message in admin_client.get(response.url).context["messages"]]
    assert any("bucket(s) marked for recompute" in text for text in shown), shown


def test_recompute_action_touches_only_the_selected_days(admin_client, rows, django_capture_on_commit_callbacks):
    other_day = date(2020, 1, 1)
    DailyJobStat.objects.create(project=rows["shop"], day=other_day, kind="build", passed=7)
    with django_capture_on_commit_callbacks(execute=True):
        run_action(admin_client, WorkflowRun, "recompute_run_rollups", [rows["run"].pk])
    assert DailyJobStat.objects.get(day=other_day).passed == 7


def csv_rows(response) -> list[list[str]]:
    import csv

    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(b"".join(response.streaming_content).decode().splitlines()))


def test_export_csv_of_selected_jobs(admin_client, rows):
    jobs = Job.objects.filter(name__in=["build-web", "deploy-web-prod"]).order_by("pk")
    response = run_action(admin_client, Job, "export_csv", [job.pk for job in jobs])
    assert response["Content-Disposition"] == 'attachment; filename="jobs.csv"'
    header, *lines = csv_rows(response)
    assert header[:7] == ["id", "run", "project", "position", "name", "type", "status"]
    assert [line[4] for line in lines] == ["build-web", "deploy-web-prod"]
    deploy = dict(zip(header, lines[1], strict=True))
    assert (deploy["project"], deploy["environment"], deploy["service"]) == ("shop", "prod", "web")
    assert float(deploy["duration_seconds"]) == 60.0
    assert deploy["started_at"] == timezone.localtime(jobs[1].started_at).isoformat()


def test_export_csv_of_selected_runs(admin_client, rows):
    header, *lines = csv_rows(run_action(admin_client, WorkflowRun, "export_csv", [rows["run"].pk]))
    assert header == ["id", "project", "workflow", "status", "created_at", "received_at"]
    assert lines[0][:4] == ["ci-42-7", "shop", "release", "failed"]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","y")', "@SUM(1)", "-2+3", "+1", "\tcmd"])
def test_export_csv_neutralises_formula_text(admin_client, rows, name):
    """A job name a client chose must not run as a formula when the export is opened in a spreadsheet."""
    job = Job.objects.get(name="build-web")
    Job.objects.filter(pk=job.pk).update(name=name)
    header, *lines = csv_rows(run_action(admin_client, Job, "export_csv", [job.pk]))
    exported = dict(zip(header, lines[0], strict=True))
    assert exported["name"] == "'" + name
    assert exported["position"] == str(job.position)


def test_chart_csv_quotes_formula_text_but_not_negative_numbers():
    from common.charts import Table, csv_response

    table = Table("t", ["project", "value"], [["=1+1", -3], ["@x", 2.5], ["shop", None]])
    body = csv_response(table, "t.csv").content.decode()
    assert body == "project,value\n'=1+1,-3\n'@x,2.5\nshop,\n"
