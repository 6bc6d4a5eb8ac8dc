"""What each app lends to the commands and pages that span both: filled in each app's `AppConfig.ready`.

`rebuild_rollups`, `seed_demo`, the admin index and `/healthz` ask this module, never an app, so neither
app imports the other and a third app joins by registering here. Entries keep the order of
INSTALLED_APPS (the order `ready()` runs in), so output is stable.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Min, Model, Q
from rest_framework.response import Response


@dataclass(frozen=True)
class QueueState:
    dirty: int
    oldest_age_seconds: float  # 0.0 with no mark
    failing: int
    next_retry: datetime | None


@dataclass(frozen=True)
class RollupQueue:
    """An app's derived tables: the model of its dirty marks (for lag and failure reports) and the
    function rebuilding everything from raw rows (from a local day on, or all days for None)."""

    label: str
    dirty_model: type[Model]
    rebuild: Callable[[date | None], dict]

    def state(self, now: datetime) -> QueueState:
        """The queue's size, lag and failures in one aggregate: what /healthz and /metrics report."""
        row = self.dirty_model.objects.aggregate(
            dirty=Count("id"),
            oldest=Min("marked_at"),
            failing=Count("id", filter=Q(attempts__gt=0)),
            next_retry=Min("retry_at"),
        )
        oldest = row["oldest"]
        age = (now - oldest).total_seconds() if oldest else 0.0
        return QueueState(row["dirty"], age, row["failing"], row["next_retry"])


@dataclass(frozen=True)
class DemoOptions:
    """What `seed_demo` was asked for; each loader reads the part that concerns it."""

    days: int
    cdn_days: int
    seed: int
    now: datetime


@dataclass(frozen=True)
class DemoLoader:
    """An app's demo data: whether the app holds any data yet, which of the demo's own keys are
    already stored (a second load would collide), and the load itself (counts by kind)."""

    label: str
    has_data: Callable[[], bool]
    keys_present: Callable[[], list[str]]
    load: Callable[[DemoOptions], dict[str, int]]


@dataclass(frozen=True)
class OverviewRow:
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class RawTable:
    """A table that grows without bound: its count may be the database's estimate (`common.rows`)."""

    label: str
    url: str
    count: int
    estimated: bool = False


@dataclass(frozen=True)
class Overview:
    """An app's part of the admin index's "Stored data" panel: counted rows, and the raw tables."""

    rows: list[OverviewRow]
    raw_tables: list[RawTable] = field(default_factory=list)


_rollups: dict[str, RollupQueue] = {}
_demos: dict[str, DemoLoader] = {}
_overviews: dict[str, Callable[[], Overview]] = {}
_envelopes: dict[str, Callable[[Response], Response]] = {}


def register_rollups(queue: RollupQueue) -> None:
    _rollups[queue.label] = queue


def rollup_queues() -> list[RollupQueue]:
    return list(_rollups.values())


def register_demo(loader: DemoLoader) -> None:
    _demos[loader.label] = loader


def demo_loaders() -> list[DemoLoader]:
    return list(_demos.values())


def register_overview(label: str, overview: Callable[[], Overview]) -> None:
    _overviews[label] = overview


def overviews() -> list[Overview]:
    return [overview() for overview in _overviews.values()]


def register_error_envelope(prefix: str, render: Callable[[Response], Response]) -> None:
    """API errors under the path `prefix` are rendered by `render` (common.api.errors)."""
    _envelopes[prefix] = render


def error_envelopes() -> list[tuple[str, Callable[[Response], Response]]]:
    return list(_envelopes.items())
