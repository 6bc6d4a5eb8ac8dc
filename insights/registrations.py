"""What this app lends to the commands and pages spanning apps (`common.registry`); run by `ready()`."""

from django.urls import reverse

from common import registry
from common.rows import table_count
from insights import demo, rollup_rebuild, selectors
from insights.api.errors import OPENAPI_PREFIX, zadig_response
from insights.models import DirtyJobDay, Job, WorkflowRun

OVERVIEW_ROWS = (
    ("project_count", "projects", "insights_project"),
    ("cluster_count", "clusters", "insights_cluster"),
    ("env_count", "environments", "insights_environment"),
    ("service_count", "services", "insights_service"),
    ("workflow_count", "workflows", "insights_workflow"),
    ("artifact_count", "artifacts", "insights_artifact"),
)


def overview() -> registry.Overview:
    """The counts /openapi/statistics/overview answers, and the rows of the raw run and job tables."""
    counts = selectors.overview()
    return registry.Overview(
        rows=[
            registry.OverviewRow(label, counts[key], reverse(f"admin:{name}_changelist"))
            for key, label, name in OVERVIEW_ROWS
        ],
        raw_tables=[
            registry.RawTable(
                "workflow runs", reverse("admin:insights_workflowrun_changelist"), *table_count(WorkflowRun)
            ),
            registry.RawTable("jobs", reverse("admin:insights_job_changelist"), *table_count(Job)),
        ],
    )


def register() -> None:
    registry.register_rollups(registry.RollupQueue("insights", DirtyJobDay, rollup_rebuild.rebuild))
    registry.register_demo(registry.DemoLoader("insights", demo.has_data, demo.demo_keys_present, demo.load))
    registry.register_overview("insights", overview)
    registry.register_error_envelope(OPENAPI_PREFIX, zadig_response)
