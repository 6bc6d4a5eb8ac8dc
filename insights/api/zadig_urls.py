"""`/openapi/statistics/...`: the Zadig-compatible statistics."""

urlpatterns = []
