"""Demo data for every registered app (`common.registry.DemoLoader`), in one transaction."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from common import registry
from common.registry import DemoOptions


def demo_keys_present() -> list[str]:
    """The demo's own keys (project keys, domain names, ...) already stored, over every app."""
    return sorted(key for loader in registry.demo_loaders() for key in loader.keys_present())


def any_data() -> bool:
    return any(loader.has_data() for loader in registry.demo_loaders())


@transaction.atomic
def seed_demo(*, days: int = 90, cdn_days: int = 7, seed: int = 1, now: datetime | None = None) -> dict[str, int]:
    """Insert every app's demo raw rows and return what was written, by kind."""
    options = DemoOptions(days=days, cdn_days=cdn_days, seed=seed, now=now or timezone.now())
    counts: dict[str, int] = {}
    for loader in registry.demo_loaders():
        counts |= loader.load(options)
    return counts
