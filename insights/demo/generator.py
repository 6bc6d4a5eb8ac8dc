"""The CI/CD history of the demo: runs and their jobs, artifacts, rollbacks with their snapshots.

Days and clock hours are those of INSIGHTS_TIME_ZONE, like every statistic of the service.
"""

import math
import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from insights.demo.catalogue import (
    CLUSTERS,
    DEFAULT_PRODUCTION,
    ENVIRONMENTS,
    OUTCOMES,
    PRODUCTION,
    PROJECTS,
    REGISTRY,
    TEST_MODULES,
    TIMEOUT_SECONDS,
    USERS,
    WORKFLOWS,
)
from insights.demo.changes import Change, Changes, commit_rows
from insights.demo.manifests import hash_port, rendered_yaml, values_yaml
from insights.demo.rows import InsightsDemo
from insights.models import (
    Artifact,
    Cluster,
    Environment,
    Job,
    Project,
    Rollback,
    Service,
    ServiceSnapshot,
    Status,
    Workflow,
    WorkflowRun,
)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.INSIGHTS_TIME_ZONE)


def at(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=local_zone())


def image_tag(moment: datetime, build_no: int) -> str:
    return f"{timezone.localtime(moment, local_zone()):%Y%m%d%H%M%S}-{build_no}-main"


class InsightsGenerator:
    """Builds ~`days` days of CI/CD history ending at `now`: runs, jobs, artifacts, rollbacks."""

    def __init__(self, rng: random.Random, days: int, now: datetime):
        self.rng = rng
        self.days = days
        self.now = now.replace(microsecond=0)  # upstream times are whole seconds
        self.today = timezone.localtime(now, local_zone()).date()
        self.demo = InsightsDemo()
        self.run_numbers: dict[tuple[str, str], int] = {}
        self.build_numbers: dict[str, int] = {}
        self.changes = Changes(rng)
        self.prod_deploys: list[Job] = []  # passed production deployments, in the order drawn

    def build(self) -> InsightsDemo:
        self.catalogue()
        for offset in range(self.days - 1, -1, -1):
            day = self.today - timedelta(days=offset)
            for project in self.demo.projects:
                self.day_of_runs(project, day)
        for project in self.demo.projects[:2]:  # a few runs in progress right now
            self.run(project, "ci-dev", self.now - timedelta(seconds=self.rng.randint(20, 90)), in_progress=True)
        self.rollback_history()
        return self.demo

    # --- catalogue ---

    def catalogue(self):
        existing = {cluster.name: cluster for cluster in Cluster.objects.filter(name__in=CLUSTERS)}
        self.demo.clusters = {name: existing.get(name) or Cluster(name=name) for name in CLUSTERS}
        self.envs: dict[str, dict[str, Environment]] = {}
        self.services: dict[str, list[Service]] = {}
        self.workflows: dict[str, dict[str, Workflow]] = {}
        self.activity: dict[str, float] = {}
        for key, name, activity, services in PROJECTS:
            project = Project(key=key, name=name)
            self.activity[key] = activity
            self.demo.projects.append(project)
            environments = [*ENVIRONMENTS, *((n, True, c) for n, c in PRODUCTION.get(key, DEFAULT_PRODUCTION))]
            self.envs[key] = {
                env: Environment(project=project, name=env, production=prod, cluster=self.demo.clusters[cluster])
                for env, prod, cluster in environments
            }
            self.demo.environments.extend(self.envs[key].values())
            self.services[key] = [Service(project=project, name=svc, service_type=kind) for svc, kind in services]
            self.demo.services.extend(self.services[key])
            self.workflows[key] = {name: Workflow(project=project, name=name) for name in WORKFLOWS}
            self.demo.workflows.extend(self.workflows[key].values())

    # --- runs ---

    def day_of_runs(self, project: Project, day: date):
        weekend = day.weekday() >= 5
        scale = self.activity[project.key] * (0.25 if weekend else 1.0)
        plan = [
            ("ci-dev", self.poisson(6 * scale)),
            ("qa-deploy", self.poisson(2 * scale)),
            ("release", int(self.rng.random() < 0.45 * scale) + int(self.rng.random() < 0.45 * scale)),
            ("hotfix", int(self.rng.random() < 0.08 * scale)),
            ("ops", int(self.rng.random() < 0.3)),
        ]
        runs = [
            (at(day, self.working_hour(), self.rng.randrange(60), self.rng.randrange(60)), workflow)
            for workflow, count in plan
            for _ in range(count)
        ]
        self.run(project, "nightly-test", at(day, 2, 0, self.rng.randrange(30)))
        for created_at, workflow in sorted(runs):  # in time order: commits are built before they ship
            self.run(project, workflow, created_at)

    def working_hour(self) -> int:
        return self.rng.choices(range(9, 22), weights=(3, 6, 7, 5, 2, 5, 7, 7, 6, 5, 3, 2, 1))[0]

    def poisson(self, mean: float) -> int:
        """Knuth's method; means here are small."""
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def run(
        self,
        project: Project,
        workflow_name: str,
        created_at: datetime,
        in_progress: bool = False,
        fix: tuple[Service, Environment, datetime] | None = None,
    ) -> WorkflowRun | None:
        """One run; `fix` (service, production environment, incident time) makes it a hotfix that restores it."""
        if created_at > self.now:
            return None
        number = self.run_numbers[(project.key, workflow_name)] = (
            self.run_numbers.get((project.key, workflow_name), 0) + 1
        )
        run = WorkflowRun(
            id=f"{project.key}-{workflow_name}-{number}",
            project=project,
            workflow=self.workflows[project.key][workflow_name],
            status=Status.PASSED,
            created_at=created_at,
        )
        self.demo.runs.append(run)
        deployable = [s for s in self.services[project.key] if s.service_type != Service.Type.VM]
        service = fix[0] if fix else self.rng.choice(deployable)
        run.branch = f"hotfix/{service.name}-{number}" if workflow_name == "hotfix" else "main"
        carried = self.commits(run, workflow_name, service, fix)
        moment = created_at + timedelta(seconds=self.rng.randint(1, 15))
        for position, spec in enumerate(self.job_specs(project, workflow_name, service, fix and fix[1])):
            job = self.job(run, position, moment, running=in_progress, passes=fix is not None, **spec)
            if job is None:
                break
            if job.type == Job.Type.DEPLOY and job.environment.production:
                self.production_deployment(run, job, workflow_name, carried)
            if job.status != Status.PASSED:
                run.status = job.status
                break
            moment = job.finished_at + timedelta(seconds=self.rng.randint(2, 20))
        return run

    def commits(self, run: WorkflowRun, workflow: str, service: Service, fix) -> list[Change]:
        """The commits `run` builds: new ones on main (ci-dev), fixes (hotfix), or those waiting to ship."""
        key, name, created = run.project.key, service.name, run.created_at
        if workflow == "ci-dev":
            changes = self.changes.new(key, name, created, self.rng.randint(1, 3), (2, 600))
            self.changes.written(key, name, changes)
        elif workflow == "qa-deploy":
            changes = self.changes.ready(key, name, created)[-3:]
        elif workflow == "release":
            changes = self.changes.ready(key, name, created)
        elif workflow == "hotfix":
            # Written after the incident it fixes (when there is one), minutes before the run.
            room = int((created - fix[2]).total_seconds() // 60) - 1 if fix else 90
            changes = self.changes.new(key, name, created, self.rng.randint(1, 2), (1, max(1, min(90, room))), True)
        else:
            return []
        self.demo.commits.extend(commit_rows(run, changes))
        return changes

    def production_deployment(self, run: WorkflowRun, job: Job, workflow: str, carried: list[Change]):
        """Shipped commits leave the queue; a failed release deployment is often restored by a hotfix."""
        if job.status == Status.PASSED:
            self.prod_deploys.append(job)
            if workflow == "release":
                self.changes.shipped(run.project.key, job.service.name, carried)
        elif job.status in (Status.FAILED, Status.TIMEOUT) and workflow == "release" and self.rng.random() < 0.8:
            restore = job.finished_at + timedelta(minutes=self.rng.randint(20, 360))
            self.run(run.project, "hotfix", restore, fix=(job.service, job.environment, job.finished_at))

    def job_specs(self, project: Project, workflow: str, service: Service, fix_env: Environment | None) -> list[dict]:
        envs = self.envs[project.key]
        build = {"name": f"build-{service.name}", "type": "build"}
        if workflow == "ci-dev":
            return [build, self.deploy(envs["dev"], service), self.test("unit")]
        if workflow == "qa-deploy":
            return [build, self.deploy(envs["qa"], service), self.test("integration")]
        if workflow == "release":
            prod = self.rng.choice([env for env in envs.values() if env.production])
            release = {**self.deploy(prod, service), "risk": 0.08}  # releases break production now and then
            return [build, self.deploy(envs["staging"], service), self.test("e2e"), release]
        if workflow == "hotfix":
            prod = fix_env or self.rng.choice([env for env in envs.values() if env.production])
            return [build, self.deploy(prod, service), self.test("smoke"), {"name": "notify-oncall", "type": "other"}]
        if workflow == "nightly-test":
            return [self.test(name) for name, *_ in TEST_MODULES[:3]]
        return [{"name": self.rng.choice(("backup-db", "rotate-certs", "clean-images")), "type": "other"}]

    @staticmethod
    def deploy(env: Environment, service: Service) -> dict:
        return {"name": f"deploy-{service.name}-{env.name}", "type": "deploy", "environment": env, "service": service}

    @staticmethod
    def test(module: str) -> dict:
        return {"name": f"test-{module}", "type": "test", "test_module": module}

    def job(
        self,
        run: WorkflowRun,
        position: int,
        start: datetime,
        name: str,
        type: str,
        running: bool,
        passes: bool = False,
        **extra,
    ) -> Job | None:
        if start > self.now:
            return None  # not started yet
        status, seconds = self.outcome(type, extra.get("test_module"))
        if passes and status != Status.PASSED:  # a restoring hotfix gets through
            status, seconds = Status.PASSED, float(min(seconds, TIMEOUT_SECONDS[type] / 2))
        elif status == Status.PASSED and self.rng.random() < extra.pop("risk", 0.0):
            status, seconds = Status.FAILED, seconds * self.rng.uniform(0.3, 1.0)
        finished = start + timedelta(seconds=seconds)
        if running or finished > self.now:
            status, finished = Status.RUNNING, None
        job = Job(
            run=run,
            project=run.project,
            position=position,
            name=name,
            type=type,
            status=status,
            started_at=start,
            finished_at=finished,
            environment=extra.get("environment"),
            service=extra.get("service"),
            test_module=extra.get("test_module", ""),
        )
        if type == Job.Type.TEST:
            job.case_count = self.case_count(run.project, job.test_module, start)
        self.demo.jobs.append(job)
        if type == Job.Type.BUILD and status == Status.PASSED:
            self.artifact(run, name.removeprefix("build-"), finished)
        if status == Status.RUNNING:
            run.status = Status.RUNNING
        return job

    def outcome(self, kind: str, module: str | None) -> tuple[str, float]:
        failed, timeout, cancelled = OUTCOMES[kind]
        medians = {"build": 240, "deploy": 75, "other": 20, **{name: s for name, s, *_ in TEST_MODULES}}
        median = medians.get(module or kind, 300)
        seconds = max(5.0, self.rng.lognormvariate(math.log(median), 0.35))
        draw = self.rng.random()
        if draw < failed:
            return Status.FAILED, seconds * self.rng.uniform(0.2, 1.0)
        if draw < failed + timeout:
            return Status.TIMEOUT, float(TIMEOUT_SECONDS[kind])
        if draw < failed + timeout + cancelled:
            return Status.CANCELLED, seconds * self.rng.uniform(0.05, 0.8)
        return Status.PASSED, seconds

    def case_count(self, project: Project, module: str, start: datetime) -> int:
        initial, per_day = next((cases, growth) for name, _, cases, growth in TEST_MODULES if name == module)
        age = self.days - (self.today - timezone.localtime(start, local_zone()).date()).days
        size = {"shop": 1.0, "payments": 1.4, "search": 0.7, "iot": 0.5}.get(project.key, 1.0)
        return max(1, int(initial * size + per_day * age) + self.rng.randint(-3, 3))

    def artifact(self, run: WorkflowRun, service: str, finished: datetime):
        number = self.build_numbers[run.project.key] = self.build_numbers.get(run.project.key, 0) + 1
        if service == "firmware":
            name, kind = f"firmware-1.{number // 50}.{number % 50}.bin", Artifact.Type.FILE
            uri = f"s3://artifacts/{run.project.key}/{name}"
        else:
            name, kind = service, Artifact.Type.IMAGE
            uri = f"{REGISTRY}/{run.project.key}/{service}:{image_tag(finished, number)}"
        self.demo.artifacts.append(Artifact(project=run.project, name=name, type=kind, uri=uri, created_at=finished))

    # --- rollbacks ---

    def rollback_history(self):
        count = max(2, round(self.days / 3))
        people = [(uuid.UUID(int=self.rng.getrandbits(128), version=4), *user) for user in USERS]
        candidates, following = self.incident_candidates()
        for _ in range(count):
            incident = self.incident(candidates, following) if self.rng.random() < 0.7 else None
            if incident:
                # A production deployment went wrong: rolled back some minutes later, then restored by a hotfix.
                deployment, created, restore = incident
                project, env, service = deployment.project, deployment.environment, deployment.service
                bad_deploy = deployment.started_at
            else:
                project = self.rng.choices(self.demo.projects, weights=list(self.activity.values()))[0]
                day = self.today - timedelta(days=self.rng.randrange(self.days))
                created = at(day, self.working_hour(), self.rng.randrange(60), self.rng.randrange(60))
                if created > self.now:
                    created = self.now - timedelta(minutes=self.rng.randint(5, 120))
                env = self.envs[project.key]["staging"]
                service = self.rng.choice([s for s in self.services[project.key] if s.service_type != Service.Type.VM])
                bad_deploy = created - timedelta(minutes=self.rng.randint(10, 60 * 48))
            uid, account, name, identity = self.rng.choice(people)
            rollback = Rollback(
                project=project,
                env_name=env.name,
                env_type="zadig",
                production=env.production,
                operation_type="zadig",
                service_name=service.name,
                service_type=service.service_type,
                create_by_uid=str(uid),
                create_by_account=account,
                create_by_name=name,
                create_by_identity_type=identity,
                create_time=created,
            )
            good_deploy = bad_deploy - timedelta(days=self.rng.randint(2, 30), minutes=self.rng.randrange(600))
            self.demo.rollbacks.append(
                (
                    rollback,
                    self.snapshot(rollback, "origin", service, env, bad_deploy, bad_deploy),
                    self.snapshot(rollback, "update", service, env, good_deploy, created),
                )
            )
            if incident:
                self.run(project, "hotfix", restore, fix=(service, env, created))

    def incident_candidates(self) -> tuple[list[Job], dict[int, datetime]]:
        """Passed production deployments, and when the next one of the same service and environment started."""
        by_target: dict[tuple[str, str, str], list[Job]] = {}
        for job in self.prod_deploys:
            by_target.setdefault((job.project.key, job.service.name, job.environment.name), []).append(job)
        following = {}
        for jobs in by_target.values():
            jobs.sort(key=lambda job: job.started_at)
            for job, later in zip(jobs, jobs[1:], strict=False):
                following[id(job)] = later.started_at
        return list(self.prod_deploys), following

    def incident(self, candidates: list[Job], following: dict[int, datetime]):
        """(deployment, rollback time, restore time) for a deployment with room before the next one, or None."""
        for _ in range(20):
            if not candidates:
                return None
            job = candidates.pop(self.rng.randrange(len(candidates)))
            room = int(((following.get(id(job)) or self.now) - job.finished_at).total_seconds() // 60)
            if room < 60:
                continue
            rolled_back = job.finished_at + timedelta(minutes=self.rng.randint(5, min(300, room // 3)))
            restore = rolled_back + timedelta(minutes=self.rng.randint(10, min(240, room // 2)))
            return job, rolled_back, restore
        return None

    def snapshot(self, rollback, role, service, env, built: datetime, updated: datetime) -> ServiceSnapshot:
        project = service.project.key
        tag = image_tag(built - timedelta(minutes=self.rng.randint(3, 30)), self.rng.randint(1, 400))
        image = f"{REGISTRY}/{project}/{service.name}:{tag}"
        snapshot = ServiceSnapshot(
            rollback=rollback,
            role=role,
            service_name=service.name,
            containers=[{"name": service.name, "type": "", "image": image, "image_name": service.name}],
            update_time=updated,
        )
        if service.service_type == Service.Type.K8S:
            snapshot.rendered_yaml = rendered_yaml(project, service.name, image, 20000 + hash_port(service.name))
        else:
            snapshot.release_name = f"{service.name}-{env.name}"
            snapshot.values_yaml = values_yaml(f"{REGISTRY}/{project}/{service.name}", tag)
            snapshot.override_values = f'[{{"Key":"image.tag","Value":"{tag}"}}]'
        return snapshot
