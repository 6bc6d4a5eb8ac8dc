from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "API access"

    def ready(self):
        # Registers the token schemes' OpenAPI documentation (drf-spectacular extensions).
        from common.api import schema  # noqa: F401
