"""`/api/v1/` resources of the insights app."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from insights.api import views
from insights.api.runs import WorkflowRunViewSet

router = DefaultRouter(trailing_slash=True)
router.register("projects", views.ProjectViewSet, basename="project")
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("services", views.ServiceViewSet, basename="service")
router.register("workflows", views.WorkflowViewSet, basename="workflow")
router.register("artifacts", views.ArtifactViewSet, basename="artifact")
router.register("rollbacks", views.RollbackViewSet, basename="rollback")
router.register("workflow-runs", WorkflowRunViewSet, basename="workflowrun")

urlpatterns = [*router.urls, path("", include("insights.dora.urls"))]
