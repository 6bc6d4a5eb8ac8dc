"""The root URL: `?Action=...` is the Volcengine-compatible API; without one, the web pages."""

from django.urls import path

from cdnorigin.api import volc

urlpatterns = [path("", volc.root, name="root")]
