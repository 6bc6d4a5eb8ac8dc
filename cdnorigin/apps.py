from django.apps import AppConfig


class CdnOriginConfig(AppConfig):
    name = "cdnorigin"
    verbose_name = "CDN origin statistics"

    def ready(self):
        # Connects the receivers that keep rollups following one-row edits (admin, shell, fixtures).
        from cdnorigin import signals  # noqa: F401

        # Registers the OpenAPI documentation of the app's API views (drf-spectacular extensions).
        from cdnorigin.api import schema  # noqa: F401
        from cdnorigin.registrations import register

        register()
