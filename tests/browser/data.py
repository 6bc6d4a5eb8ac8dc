"""A small, known data set for the page tests: two projects' jobs on days before today, a rollback,
and an hour of origin traffic of two domains, with the figures the pages must show for it."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import Domain
from insights.dirty import local_day
from insights.models import Environment, Job, Project, Rollback, ServiceSnapshot, Workflow, WorkflowRun

DOMAINS = ("a.example.com", "b.example.com")
BEFORE_YAML = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  image: registry.example.com/web:1.0\n  replicas: 2\n"
AFTER_YAML = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  image: registry.example.com/web:0.9\n  replicas: 2\n"
# A label a careless template would turn into markup.
HOSTILE = "<b>bold</b>&<script>window.hacked=1</script>"


def zone() -> ZoneInfo:
    return ZoneInfo(settings.INSIGHTS_TIME_ZONE)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=zone())


@dataclass
class Delivery:
    today: date
    flip_job_id: int  # a passed build of beta yesterday, for the admin-correction test


def add_job(project: Project, kind: str, status: str, day: date, env: Environment | None = None, seconds=60) -> Job:
    count = WorkflowRun.objects.count()
    run = WorkflowRun.objects.create(
        id=f"{project.key}-{count}",
        project=project,
        workflow=project.workflows.get(),
        status=status,
        created_at=noon(day),
    )
    return Job.objects.create(
        run=run,
        project=project,
        position=0,
        name=f"{kind}-{count}",
        type=kind,
        status=status,
        started_at=noon(day),
        finished_at=noon(day) + timedelta(seconds=seconds),
        environment=env,
        test_module="unit" if kind == "test" else "",
        case_count=5 if kind == "test" else 0,
    )


def make_project(key: str) -> Project:
    project = Project.objects.create(key=key, name=key.title())
    Environment.objects.create(project=project, name="prod", production=True)
    Environment.objects.create(project=project, name="dev", production=False)
    Workflow.objects.create(project=project, name="ci")
    return project


def delivery_data() -> Delivery:
    """Days T-6..T (T = today, local): builds alpha 3 of 4 passed (T-3: 2+1 failed, T-1: 1),
    beta 4 of 4 (T-5: 1, T-1: 3); from T-2 on: 4 builds; alpha's release on T-1 passed."""
    today = local_day(timezone.now())
    alpha, beta = make_project("alpha"), make_project("beta")
    day = {n: today - timedelta(days=n) for n in range(7)}
    add_job(alpha, "build", "passed", day[3])
    add_job(alpha, "build", "passed", day[3])
    add_job(alpha, "build", "failed", day[3])
    add_job(alpha, "build", "passed", day[1])
    add_job(alpha, "deploy", "failed", day[3], env=alpha.environments.get(name="dev"))
    add_job(alpha, "deploy", "passed", day[1], env=alpha.environments.get(name="prod"))
    add_job(alpha, "test", "passed", day[1], seconds=100)
    add_job(beta, "build", "passed", day[5])
    flip = add_job(beta, "build", "passed", day[1])
    add_job(beta, "build", "passed", day[1])
    add_job(beta, "build", "passed", day[1])
    add_job(beta, "test", "failed", day[2], seconds=300)
    rollback = Rollback.objects.create(
        project=alpha,
        env_name="prod",
        production=True,
        operation_type="rollback",
        service_name=HOSTILE,
        create_by_name="Li Wei",
        create_time=noon(day[2]),
    )
    ServiceSnapshot.objects.create(
        rollback=rollback,
        role="origin",
        service_name="web",
        containers=[{"name": "web", "image": "registry.example.com/web:1.0"}],
        rendered_yaml=BEFORE_YAML,
    )
    ServiceSnapshot.objects.create(
        rollback=rollback,
        role="update",
        service_name="web",
        containers=[{"name": "web", "image": "registry.example.com/web:0.9"}],
        rendered_yaml=AFTER_YAML + f"# {HOSTILE}\n",
    )
    return Delivery(today=today, flip_job_id=flip.pk)


@dataclass
class Origin:
    first_minute: datetime  # aware, UTC, on an hour boundary three hours ago
    # Expected at 5min: the busiest 5 minutes are minutes 55..59 of a (sum 1000*(56+..+60)) plus b.
    peak_bandwidth_5min: float = (1000 * sum(range(56, 61)) + 5 * 500) * 8 / 300
    # At 1min: minute 59 of a plus b.
    peak_bandwidth_1min: float = (1000 * 60 + 500) * 8 / 60
    total_bytes: int = 1000 * sum(range(1, 61)) + 60 * 500
    total_requests: int = 60 * 10 + 60 * 5


def origin_data() -> Origin:
    """An hour of minutes: a.example.com flux 1000*(k+1), 10 requests (one 404);
    b.example.com flux 500, 5 requests (one 503)."""
    first = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    for name in DOMAINS:
        Domain.objects.create(name=name)
    items = []
    for k in range(60):
        ts = int((first + timedelta(minutes=k)).timestamp())
        items.append(
            {"domain": DOMAINS[0], "timestamp": ts, "flux": 1000 * (k + 1), "pv": 10, "status": {200: 9, 404: 1}}
        )
        items.append({"domain": DOMAINS[1], "timestamp": ts, "flux": 500, "pv": 5, "status": {200: 4, 503: 1}})
    replace_origin_samples(items)
    return Origin(first_minute=first)


def local_input(moment: datetime) -> str:
    """A datetime-local input's value."""
    return moment.astimezone(zone()).strftime("%Y-%m-%dT%H:%M")
