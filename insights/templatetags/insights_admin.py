"""`{% admin_overview as overview %}`: the admin index's counts (the Zadig overview plus CDN domains), with
changelist links, and whether any raw data exists yet (for the empty-state hint)."""

from django import template
from django.urls import reverse

from cdnorigin.models import Domain, OriginSample
from insights import selectors
from insights.models import WorkflowRun

register = template.Library()

OVERVIEW_ROWS = (
    ("project_count", "projects", "insights_project"),
    ("cluster_count", "clusters", "insights_cluster"),
    ("env_count", "environments", "insights_environment"),
    ("service_count", "services", "insights_service"),
    ("workflow_count", "workflows", "insights_workflow"),
    ("artifact_count", "artifacts", "insights_artifact"),
)


@register.simple_tag
def admin_overview() -> dict:
    counts = selectors.overview()
    rows = [(label, counts[key], reverse(f"admin:{name}_changelist")) for key, label, name in OVERVIEW_ROWS]
    rows.append(("CDN domains", Domain.objects.count(), reverse("admin:cdnorigin_domain_changelist")))
    return {
        "rows": rows,
        # exists(), not count(): these tables grow without bound.
        "has_runs": WorkflowRun.objects.exists(),
        "has_samples": OriginSample.objects.exists(),
    }
