"""The demo's unsaved rows and the order they are saved in."""

from dataclasses import dataclass, field

from common.rows import db_datetime, insert_rows
from insights.models import (
    Artifact,
    Cluster,
    Commit,
    Environment,
    Job,
    Project,
    Rollback,
    Service,
    ServiceSnapshot,
    Workflow,
    WorkflowRun,
)

BATCH = 5000


@dataclass
class InsightsDemo:
    """Unsaved rows of the insights app; `write()` saves them in dependency order."""

    projects: list[Project] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    environments: list[Environment] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    workflows: list[Workflow] = field(default_factory=list)
    runs: list[WorkflowRun] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    rollbacks: list[tuple[Rollback, ServiceSnapshot, ServiceSnapshot]] = field(default_factory=list)

    def write(self) -> dict[str, int]:
        for cluster in self.clusters.values():
            if cluster.pk is None:
                cluster.save()
        for rows in (self.projects, self.environments, self.services, self.workflows):
            for row in rows:
                row.save()
        WorkflowRun.objects.bulk_create(self.runs, batch_size=BATCH)
        Job.objects.bulk_create(self.jobs, batch_size=BATCH)
        Commit.objects.bulk_create(self.commits, batch_size=BATCH)
        # created_at is auto_now_add, which bulk_create would overwrite with the present time.
        insert_rows(
            Artifact,
            ("project", "name", "type", "uri", "created_at"),
            ((a.project.pk, a.name, a.type, a.uri, db_datetime(a.created_at)) for a in self.artifacts),
        )
        Rollback.objects.bulk_create([rollback for rollback, _, _ in self.rollbacks], batch_size=BATCH)
        ServiceSnapshot.objects.bulk_create(
            [snapshot for _, *snapshots in self.rollbacks for snapshot in snapshots], batch_size=BATCH
        )
        return {
            "projects": len(self.projects),
            "environments": len(self.environments),
            "services": len(self.services),
            "workflows": len(self.workflows),
            "artifacts": len(self.artifacts),
            "workflow runs": len(self.runs),
            "jobs": len(self.jobs),
            "commits": len(self.commits),
            "rollbacks": len(self.rollbacks),
        }
