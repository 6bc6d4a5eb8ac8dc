from django.apps import AppConfig


class CdnOriginConfig(AppConfig):
    name = "cdnorigin"
    verbose_name = "CDN origin statistics"
