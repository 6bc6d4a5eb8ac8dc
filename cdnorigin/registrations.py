"""What this app lends to the commands and pages spanning apps (`common.registry`); run by `ready()`."""

from django.urls import reverse

from cdnorigin import demo, rollups
from cdnorigin.models import DirtyOriginBucket, Domain, OriginSample
from common import registry
from common.rows import table_count


def overview() -> registry.Overview:
    return registry.Overview(
        rows=[
            registry.OverviewRow("CDN domains", Domain.objects.count(), reverse("admin:cdnorigin_domain_changelist"))
        ],
        raw_tables=[
            registry.RawTable(
                "CDN origin samples", reverse("admin:cdnorigin_originsample_changelist"), *table_count(OriginSample)
            )
        ],
    )


def register() -> None:
    registry.register_rollups(registry.RollupQueue("cdnorigin", DirtyOriginBucket, rollups.rebuild))
    registry.register_demo(registry.DemoLoader("cdnorigin", demo.has_data, demo.demo_keys_present, demo.load))
    registry.register_overview("cdnorigin", overview)
