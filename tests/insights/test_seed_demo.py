"""`seed_demo` gives a fresh install believable data of every kind, the same data for the same
seed, rollups that match it, and leaves a database that already has data alone with --if-empty."""

import difflib
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Sum

from cdnorigin.demo import origin_samples
from cdnorigin.models import CLASS_FIELDS, Domain, OriginRollup, OriginSample
from common.demo import seed_demo
from insights import demo
from insights.models import (
    Commit,
    DailyJobStat,
    Environment,
    Job,
    Project,
    Rollback,
    Service,
    TestModule,
    WorkflowRun,
)

NOW = datetime(2026, 3, 12, 6, 30, 17, tzinfo=UTC)  # 14:30 in Asia/Shanghai, a Thursday
DAYS, CDN_DAYS = 21, 1


@pytest.fixture(scope="class")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the read-only checks of TestSeededData (seeding takes seconds), then wiped."""
    with django_db_blocker.unblock():
        yield seed_demo(days=DAYS, cdn_days=CDN_DAYS, seed=7, now=NOW)
        call_command("flush", interactive=False, verbosity=0)


def target_of(rollback: Rollback) -> tuple:
    return rollback.project_id, rollback.service_name, rollback.env_name


def local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(settings.INSIGHTS_TIME_ZONE))


@pytest.mark.django_db
@pytest.mark.usefixtures("seeded")
class TestSeededData:
    """21 days of CI/CD history and one day of CDN minutes, seed 7, ending at NOW."""

    def test_catalogue_has_projects_with_production_environments_on_clusters(self):
        assert 3 <= Project.objects.count() <= 4
        for project in Project.objects.all():
            assert project.environments.filter(production=True, cluster__isnull=False).exists()
            assert project.environments.filter(production=False).exists()
            assert project.workflows.exists() and project.artifacts.exists()
        types = {service.service_type for service in Service.objects.all()}
        assert types == {"k8s", "helm", "helm_chart", "vm"}

    def test_jobs_of_every_type_and_status_spread_over_the_days(self):
        by_type = Counter(Job.objects.values_list("type", flat=True))
        assert all(by_type[kind] > 0 for kind in ("build", "deploy", "test", "other"))
        by_status = Counter(Job.objects.values_list("status", flat=True))
        assert all(by_status[status] > 0 for status in ("passed", "failed", "timeout", "cancelled", "running"))
        assert by_status["passed"] > 0.7 * sum(by_status.values())
        days = {local(started).date() for started in Job.objects.values_list("started_at", flat=True)}
        assert len(days) == DAYS
        assert max(days) == local(NOW).date()

    def test_job_times_are_consistent(self):
        assert not Job.objects.filter(started_at__gt=NOW).exists()
        assert not Job.objects.filter(finished_at__gt=NOW).exists()
        for job in Job.objects.exclude(status="running"):
            assert job.started_at <= job.finished_at
        running = Job.objects.filter(status="running")
        assert all(job.finished_at is None and local(job.started_at).date() == local(NOW).date() for job in running)
        assert set(WorkflowRun.objects.filter(jobs__status="running").values_list("status", flat=True)) == {"running"}
        builds = [
            (job.finished_at - job.started_at).total_seconds()
            for job in Job.objects.filter(type="build", status="passed")
        ]
        assert 60 < sorted(builds)[len(builds) // 2] < 900  # a median build takes minutes

    def test_deploys_reach_production_and_other_environments(self):
        deploys = Job.objects.filter(type="deploy")
        assert deploys.filter(environment__production=True).exists()
        assert deploys.filter(environment__production=False).exists()
        assert not deploys.filter(environment__isnull=True).exists()
        assert not deploys.filter(service__isnull=True).exists()
        for job in deploys.select_related("environment", "service", "run"):
            assert job.environment.project_id == job.service.project_id == job.run.project_id == job.project_id

    def test_test_jobs_carry_module_and_case_count(self):
        tests = Job.objects.filter(type="test")
        assert not tests.filter(test_module="").exists()
        assert not tests.filter(case_count__isnull=True).exists()
        assert tests.values("test_module").distinct().count() >= 3

    def test_rollbacks_go_from_a_newer_image_back_to_an_older_one(self):
        rollbacks = Rollback.objects.prefetch_related("snapshots")
        assert rollbacks.count() == round(DAYS / 3)
        assert rollbacks.filter(production=True).exists()
        for rollback in rollbacks:
            assert rollback.create_time <= NOW
            assert rollback.create_by_uid and rollback.create_by_account and rollback.create_by_name
            snapshots = {snapshot.role: snapshot for snapshot in rollback.snapshots.all()}
            before, after = snapshots["origin"], snapshots["update"]
            old_image, new_image = after.containers[0]["image"], before.containers[0]["image"]
            assert old_image.rsplit(":", 1)[0] == new_image.rsplit(":", 1)[0]
            assert old_image.rsplit(":", 1)[1] < new_image.rsplit(":", 1)[1]  # tags start with the build time
            assert after.update_time == rollback.create_time
            if rollback.service_type == "k8s":
                changed = [
                    line
                    for line in difflib.ndiff(before.rendered_yaml.splitlines(), after.rendered_yaml.splitlines())
                    if line[:1] in "+-"
                ]
                assert changed == [f"-         image: {new_image}", f"+         image: {old_image}"]
            else:
                assert f"tag: {old_image.rsplit(':', 1)[1]}" in after.values_yaml

    def test_runs_carry_branches_mostly_main_some_hotfix(self):
        branches = Counter(WorkflowRun.objects.values_list("branch", flat=True))
        hotfixes = sum(count for branch, count in branches.items() if branch.startswith("hotfix/"))
        assert hotfixes > 0 and branches["main"] > 5 * hotfixes
        assert set(branches) == {"main"} | {branch for branch in branches if branch.startswith("hotfix/")}

    def test_commits_are_built_first_and_shipped_to_production_later(self):
        commits = Commit.objects.select_related("run__workflow")
        assert commits.count() > 100
        built_on = {}
        for commit in commits:
            assert re.fullmatch(r"[0-9a-f]{40}", commit.sha) and commit.author and commit.message
            assert commit.repo.endswith("/" + commit.message.split("(", 1)[1].split(")", 1)[0])
            assert commit.committed_at < commit.run.created_at  # minutes to days before the run
            built_on.setdefault(commit.sha, []).append(commit.run)
        released = Commit.objects.filter(run__workflow__name="release", run__jobs__environment__production=True)
        shas = set(released.filter(run__jobs__status="passed", run__jobs__type="deploy").values_list("sha", flat=True))
        assert len(shas) > 20
        for sha in shas:  # every released commit was built by an earlier ci-dev run
            runs = sorted(built_on[sha], key=lambda run: run.created_at)
            assert runs[0].workflow.name == "ci-dev" and len(runs) >= 2
        # Lead times range from under an hour (hotfixes) to days (waiting for a release).
        lead = []
        for job in Job.objects.filter(type="deploy", status="passed", environment__production=True):
            lead += [(job.finished_at - c.committed_at).total_seconds() for c in Commit.objects.filter(run=job.run)]
        assert min(lead) < 3600 and max(lead) > 86400

    def test_production_failures_are_followed_by_restoring_deployments(self):
        deploys = list(
            Job.objects.filter(type="deploy", environment__production=True)
            .exclude(status="running")
            .select_related("run", "service", "environment")
            .order_by("started_at")
        )

        def restored_after(project_id, service, env, moment):
            return any(
                job.status == "passed" and job.run.branch.startswith("hotfix/") and job.started_at > moment
                for job in deploys
                if (job.project_id, job.service.name, job.environment.name) == (project_id, service, env)
            )

        rollbacks = list(Rollback.objects.filter(production=True))
        assert rollbacks
        for rollback in rollbacks:  # each rolls back a production deployment of that very service and environment
            target = target_of(rollback)
            earlier = [
                job
                for job in deploys
                if (job.project_id, job.service.name, job.environment.name) == target
                and job.status == "passed"
                and job.finished_at < rollback.create_time
            ]
            assert earlier
        assert any(restored_after(*target_of(r), r.create_time) for r in rollbacks)
        failed = [job for job in deploys if job.status in ("failed", "timeout") and job.run.workflow.name == "release"]
        assert failed
        restored = [
            job
            for job in failed
            if restored_after(job.project_id, job.service.name, job.environment.name, job.finished_at)
        ]
        assert restored

    def test_every_domain_has_a_sample_for_every_minute(self):
        end = NOW.replace(second=0)
        first = end - timedelta(minutes=CDN_DAYS * 1440)
        rows = OriginSample.objects.values("domain").annotate(n=Count("id"), first=Min("minute"), last=Max("minute"))
        assert Domain.objects.count() >= 4
        assert len(rows) == Domain.objects.count()
        for row in rows:
            assert (row["n"], row["first"], row["last"]) == (CDN_DAYS * 1440, first, end - timedelta(minutes=1))

    def test_status_counts_add_up_to_the_requests_and_mix_codes(self):
        codes = Counter()
        rows = OriginSample.objects.values_list("pv", "status", *CLASS_FIELDS)
        for pv, status, *class_sums in rows.iterator(5000):
            assert sum(status.values()) == sum(class_sums) == pv
            assert class_sums[1] == sum(count for code, count in status.items() if code.startswith("2"))
            codes.update({int(code): count for code, count in status.items()})
        assert {200, 206, 304, 404, 499, 502, 504} <= set(codes)
        assert codes[200] > 0.6 * codes.total()

    def test_traffic_peaks_in_the_evening_and_drops_at_night(self):
        by_hour = {}
        for minute, pv in OriginSample.objects.filter(domain__name="www.example.com").values_list("minute", "pv"):
            by_hour.setdefault(local(minute).hour, []).append(pv)
        mean = {hour: sum(values) / len(values) for hour, values in by_hour.items()}
        assert mean[21] > 4 * mean[4]
        assert mean[21] == max(mean.values()) or mean[20] == max(mean.values())


def test_same_seed_same_data_other_seed_other_data(db):
    def snapshot(seed):
        built = demo.InsightsGenerator(random.Random(f"{seed}:insights"), 5, NOW).build()
        jobs = [(j.run.id, j.name, j.status, j.started_at, j.finished_at, j.case_count) for j in built.jobs]
        samples = list(origin_samples(random.Random(f"{seed}:cdn"), 1, NOW))
        return jobs, samples

    assert snapshot(3) == snapshot(3)
    first, second = snapshot(3), snapshot(4)
    assert first[0] != second[0] and first[1] != second[1]


def test_command_loads_data_builds_rollups_and_test_modules(db):
    out = StringIO()
    call_command("seed_demo", days=7, cdn_days=1, seed=2, stdout=out)
    assert "Demo data loaded" in out.getvalue()
    # The rollups agree with the raw jobs and samples they were built from.
    passed_builds = Job.objects.filter(type="build", status="passed").count()
    assert DailyJobStat.objects.filter(kind="build").aggregate(n=Sum("passed"))["n"] == passed_builds
    assert (
        OriginRollup.objects.filter(interval="day").aggregate(n=Sum("pv"))["n"]
        == OriginSample.objects.aggregate(n=Sum("pv"))["n"]
    )
    modules = TestModule.objects.all()
    assert modules.exists()
    for module in modules:
        latest = Job.objects.filter(project=module.project, test_module=module.name).latest("started_at")
        assert module.case_count == latest.case_count


def test_if_empty_leaves_a_database_with_data_alone(db):
    Project.objects.create(key="mine", name="Mine")
    out = StringIO()
    call_command("seed_demo", "--if-empty", days=2, cdn_days=1, stdout=out)
    assert "skipped" in out.getvalue()
    assert list(Project.objects.values_list("key", flat=True)) == ["mine"]
    assert not Domain.objects.exists()


def test_if_empty_twice_loads_once(db):
    call_command("seed_demo", "--if-empty", days=2, cdn_days=0, stdout=StringIO())
    counts = (Project.objects.count(), Job.objects.count(), Environment.objects.count())
    out = StringIO()
    call_command("seed_demo", "--if-empty", days=2, cdn_days=0, stdout=out)
    assert "skipped" in out.getvalue()
    assert (Project.objects.count(), Job.objects.count(), Environment.objects.count()) == counts


def test_seeding_over_the_demo_again_is_refused_without_writing(db):
    call_command("seed_demo", days=1, cdn_days=0, stdout=StringIO())
    jobs = Job.objects.count()
    with pytest.raises(CommandError, match="already loaded"):
        call_command("seed_demo", days=1, cdn_days=0, stdout=StringIO())
    assert Job.objects.count() == jobs
