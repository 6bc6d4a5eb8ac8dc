"""URL map: admin, the ingest API, the Zadig endpoints, and the root (Volcengine action or pages)."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cdnorigin.pages import cdn_origin
from common.metrics import metrics_view
from config.health import healthz
from insights.api.errors import openapi_not_found
from insights.pages import delivery
from insights.rollback_pages import rollback_diff, rollback_download
from insights.sources.views import hook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("hooks/<slug:name>/", hook, name="source-hook"),
    path("delivery/", delivery, name="delivery-page"),
    path("delivery/rollbacks/<int:rollback_id>/", rollback_diff, name="rollback-diff"),
    path("delivery/rollbacks/<int:rollback_id>/download/<slug:part>", rollback_download, name="rollback-download"),
    path("cdn/", cdn_origin, name="cdn-page"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as its own request (/api/docs/?script=), and the
    # template has its inline <style> as a file: the Content-Security-Policy allows neither inline (settings.py).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="drf_spectacular/swagger_ui_csp.html"),
        name="api-docs",
    ),
    path("api/v1/cdn/", include("cdnorigin.api.urls")),
    path("api/v1/", include("insights.api.urls")),
    path("openapi/statistics/", include("insights.api.zadig_urls")),
    re_path(r"^openapi/", openapi_not_found),
    path("", include("cdnorigin.api.root_urls")),
]

handler400 = "config.handlers.bad_request"
handler404 = "config.handlers.page_not_found"
handler500 = "config.handlers.server_error"
