"""Realistic CI/CD demo data (projects, runs and jobs, rollbacks), so a fresh `make run` has something to look at.

Everything is drawn from `random.Random` seeded by the caller, so a given seed and `now` give the
same rows. Raw rows are bulk-inserted (no per-row signals); the caller rebuilds the rollups (and the test
modules, which follow from the test jobs) afterwards.
"""

import random

from common.registry import DemoOptions
from insights.demo.catalogue import PROJECTS
from insights.demo.generator import InsightsGenerator
from insights.models import Project

__all__ = ["InsightsGenerator", "demo_keys_present", "has_data", "load"]


def has_data() -> bool:
    return Project.objects.exists()


def demo_keys_present() -> list[str]:
    """The demo's own project keys already in the database (a second seeding would collide with them)."""
    return sorted(Project.objects.filter(key__in=[key for key, *_ in PROJECTS]).values_list("key", flat=True))


def load(options: DemoOptions) -> dict[str, int]:
    """The CI/CD history of `options.days` days (nothing for 0); the caller holds the transaction."""
    if options.days <= 0:
        return {}
    return InsightsGenerator(random.Random(f"{options.seed}:insights"), options.days, options.now).build().write()
