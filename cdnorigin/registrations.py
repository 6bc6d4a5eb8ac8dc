"""What this app lends to the commands and pages spanning apps (`common.registry`); run by `ready()`."""

from django.urls import reverse

from cdnorigin import demo, rollups
from cdnorigin.models import DirtyOriginBucket, Domain, OriginSample
from common import registry


def overview() -> registry.Overview:
    return registry.Overview(
        rows=[
            registry.OverviewRow("CDN domains", Domain.objects.count(), reverse("admin:cdnorigin_domain_changelist"))
        ],
        raw_tables=[
            (
                "CDN origin samples",
                reverse("admin:cdnorigin_originsample_changelist"),
                OriginSample.objects.exists(),
            )
        ],
    )


def register() -> None:
    registry.register_rollups(registry.RollupQueue("cdnorigin", DirtyOriginBucket, rollups.rebuild))
    registry.register_demo(registry.DemoLoader("cdnorigin", demo.has_data, demo.demo_keys_present, demo.load))
    registry.register_overview("cdnorigin", overview)
