from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Delivery insights"

    def ready(self):
        # Connects the handlers that keep rollups current on one-by-one edits (admin, shell).
        from insights import signals  # noqa: F401

        # Registers the OpenAPI documentation of the app's API views (drf-spectacular extensions).
        from insights.api import schema  # noqa: F401
        from insights.registrations import register

        register()

        # Registers the sources' mappers (insights.sources.mapping.MAPPERS) and the Zadig sync task by importing them.
        from insights.sources import github, gitlab, zadig, zadig_tasks  # noqa: F401
