"""The delivery page's DORA part: five tiles, the lead-time distribution and the per-service table.

Every figure comes from `insights.dora.selectors`, the functions behind `/api/v1/dora/summary`, for the
page's projects and local days, so the tiles, the CSV downloads and the API answer the same numbers. The
tiles show them in human units; the CSV keeps the API's units (seconds, ratios, deployments per day).
"""

from dataclasses import dataclass
from datetime import date

from common.charts import BLUE, Table, chart_spec, dataset
from insights.dora import selectors
from insights.dora.selectors import Scope

MINUTE, HOUR, DAY = 60, 3600, 86400
# (label, upper bound in seconds, exclusive); the last bucket has none.
LEAD_TIME_BUCKETS = (("<1h", HOUR), ("1h–1d", DAY), ("1d–1w", 7 * DAY), ("1w–1m", 30 * DAY), (">1m", None))
# (metric, tile title, whether a rise is good)
TILES = (
    ("deployment_frequency", "Deployment frequency", True),
    ("lead_time_for_changes", "Lead time for changes", False),
    ("change_failure_rate", "Change fail rate", False),
    ("time_to_restore_service", "Time to restore", False),
    ("rework_rate", "Rework rate", False),
)
SERVICE_COLUMNS = (
    ("project", "Project"),
    ("service", "Service"),
    ("environment", "Environment"),
    ("deployments", "Deployments"),
    ("lead_time_median", "Lead time (median)"),
    ("change_failure_rate", "Change fail rate"),
    ("time_to_restore_median", "Time to restore (median)"),
    ("rework_rate", "Rework rate"),
)
SORT_KEYS = tuple(name for name, _ in SERVICE_COLUMNS)
TEXT_COLUMNS = ("project", "service", "environment")
CHARTS = ("lead_time", "services")


def duration(seconds: float | None) -> str:
    """3600 -> "1.0 h": seconds in the largest unit that keeps the figure at least 1."""
    if seconds is None:
        return "–"
    for unit, size in (("d", DAY), ("h", HOUR), ("min", MINUTE)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{100 * ratio:.1f} %"


def frequency(per_day: float | None) -> str:
    """Deployments per day, or per week when fewer than one a day."""
    if per_day is None:
        return "–"
    if per_day >= 1 or per_day == 0:
        return f"{per_day:.1f} / day"
    return f"{per_day * 7:.1f} / week"


def human(unit: str, value: float | None) -> str:
    if unit == "per_day":
        return frequency(value)
    if unit == "ratio":
        return percent(value)
    return duration(value)


def trend(change_percent: float | None, rise_is_good: bool) -> dict:
    """The arrow, and whether the change is an improvement (None: no change or nothing to compare with)."""
    if change_percent is None:
        return {"arrow": "", "text": "no previous figure", "good": None}
    if change_percent == 0:
        return {"arrow": "→", "text": "0 %", "good": None}
    up = change_percent > 0
    return {
        "arrow": "↑" if up else "↓",
        "text": f"{change_percent:+.1f} %",
        "good": up == rise_is_good,
    }


def lead_time_bucket(seconds: float) -> str:
    for label, bound in LEAD_TIME_BUCKETS:
        if bound is None or seconds < bound:
            return label
    raise AssertionError("the last bucket has no bound")  # pragma: no cover


def service_cell(name: str, value) -> str:
    """A per-service figure in human units for the table (the CSV keeps the raw number)."""
    if name in ("lead_time_median", "time_to_restore_median"):
        return duration(value)
    if name in ("change_failure_rate", "rework_rate"):
        return percent(value)
    return "–" if value is None else str(value)


def sorted_services(rows: list[dict], sort: str) -> list[dict]:
    """`sort` is a column name, "-" in front for descending; figures without a value go last either way."""
    name = sort.removeprefix("-")
    if name not in SORT_KEYS:
        return rows
    descending = sort.startswith("-")
    present = [row for row in rows if row[name] is not None]
    missing = [row for row in rows if row[name] is None]
    return sorted(present, key=lambda row: row[name], reverse=descending) + missing


@dataclass
class Dora:
    """The DORA selectors' answers for one choice of projects (None: all) and local days."""

    summary: dict
    lead_times: list[float]
    services: list[dict]

    @classmethod
    def load(cls, keys: list[str] | None, first: date, last: date) -> "Dora":
        scope = Scope(projects=tuple(keys or ()))
        return cls(
            summary=selectors.summary(first, last, scope),
            lead_times=selectors.lead_times(first, last, scope),
            services=selectors.per_service(first, last, scope),
        )

    def tiles(self) -> list[dict]:
        tiles = []
        for metric, title, rise_is_good in TILES:
            figures = self.summary["metrics"][metric]
            tiles.append(
                {
                    "metric": metric,
                    "title": title,
                    "value": figures["value"],
                    "raw": "" if figures["value"] is None else repr(figures["value"]),
                    "raw_change": "" if figures["change_percent"] is None else repr(figures["change_percent"]),
                    "display": human(figures["unit"], figures["value"]),
                    "previous": human(figures["unit"], figures["previous"]),
                    "level": figures["level"],
                    "change_percent": figures["change_percent"],
                    "trend": trend(figures["change_percent"], rise_is_good),
                    "good_direction": "up is good" if rise_is_good else "down is good",
                }
            )
        return tiles

    def tables(self, sort: str = "") -> dict[str, Table]:
        counts = dict.fromkeys((label for label, _ in LEAD_TIME_BUCKETS), 0)
        for seconds in self.lead_times:
            counts[lead_time_bucket(seconds)] += 1
        lead_time = Table("lead_time", ["bucket", "commits"], [[label, n] for label, n in counts.items()])
        services = Table(
            "services",
            list(SORT_KEYS),
            [[row[name] for name in SORT_KEYS] for row in sorted_services(self.services, sort)],
        )
        return {"lead_time": lead_time, "services": services}


def lead_time_chart(table: Table) -> dict:
    return chart_spec(table.column("bucket"), [dataset("commits", table.column("commits"), BLUE)], y_title="commits")


def service_rows(table: Table) -> list[list[dict]]:
    """The per-service table's cells: what is shown, and the raw value the sort reads."""
    return [
        [
            {"name": name, "text": service_cell(name, value), "value": "" if value is None else str(value)}
            for name, value in zip(table.columns, row, strict=True)
        ]
        for row in table.rows
    ]


def sort_links(query, sort: str) -> list[dict]:
    """Column headers: each links to the page sorted by it (again: the other direction)."""
    links = []
    for name, title in SERVICE_COLUMNS:
        ascending = sort != name
        params = query.copy()
        params["sort"] = name if ascending else f"-{name}"
        arrow = "▲" if sort == name else "▼" if sort == f"-{name}" else ""
        links.append({"name": name, "title": title, "href": f"?{params.urlencode()}#dora-services", "arrow": arrow})
    return links
