"""The root URL: `?Action=...` is the Volcengine-compatible API; without one, the web pages."""

urlpatterns = []
