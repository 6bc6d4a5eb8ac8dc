"""`/api/v1/cdn/` resources of the cdnorigin app."""

from rest_framework.routers import DefaultRouter

from cdnorigin.api.samples import OriginSampleViewSet
from cdnorigin.api.views import DomainViewSet

router = DefaultRouter(trailing_slash=True)
router.register("domains", DomainViewSet, basename="cdn-domain")
router.register("origin-samples", OriginSampleViewSet, basename="originsample")

urlpatterns = router.urls
