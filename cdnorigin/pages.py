"""The CDN origin page: bandwidth, QPS and status classes of chosen domains, with peaks and totals.

An operators' page (the admin's session login, staff only), so it calls `describe_origin_data` as the
main account does (allowed_domains=None): the very function behind DescribeCdnOriginData, so the
charts, the CSV downloads and the API answer the same numbers. A bad parameter is the API's own
VolcError, shown as a message on the page.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cdnorigin import selectors
from cdnorigin.errors import VolcError, invalid_parameter
from cdnorigin.models import Domain
from cdnorigin.origin_data.shape import TOTAL_NAME
from cdnorigin.periods import INTERVALS
from common.charts import (
    AMBER,
    GREEN,
    GREY,
    PALETTE,
    PURPLE,
    RED,
    Table,
    chart_spec,
    chosen_chart_csv,
    dataset,
    text_error,
)

METRICS = ("bandwidth", "qps", "flux", "pv", "status_all")
STATUS_COLUMNS = ("status_2xx", "status_3xx", "status_4xx", "status_5xx", "status_all")
STATUS_COLORS = {"status_2xx": GREEN, "status_3xx": PURPLE, "status_4xx": AMBER, "status_5xx": RED}
CHARTS = ("bandwidth", "qps", "status")
DEFAULT_SPAN = timedelta(hours=24)
DEFAULT_INTERVAL = "5min"
INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.INSIGHTS_TIME_ZONE)


def local_input(moment: datetime) -> str:
    """A datetime-local input's value for `moment`, in INSIGHTS_TIME_ZONE."""
    return moment.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M")


def unix_seconds(raw: str, name: str) -> int:
    """A datetime-local value read in INSIGHTS_TIME_ZONE, as the API's Unix seconds."""
    for pattern in INPUT_FORMATS:
        try:
            return int(datetime.strptime(raw, pattern).replace(tzinfo=local_zone()).timestamp())
        except ValueError:
            continue
    raise invalid_parameter(name, f"{name} must be a local date and time like 2024-05-01T08:00, not {raw[:40]!r}")


def choices(params) -> dict:
    """The form's values, defaulting to the last 24 hours at 5-minute intervals of every domain."""
    now = timezone.now().replace(second=0, microsecond=0)
    return {
        "domains": [name for name in params.getlist("domain") if name],
        "interval": params.get("interval") or DEFAULT_INTERVAL,
        "start": params.get("start") or local_input(now - DEFAULT_SPAN),
        "end": params.get("end") or local_input(now),
    }


def api_parameters(chosen: dict) -> dict:
    """DescribeCdnOriginData's parameters (without Metric) for the form's values."""
    return {
        "StartTime": unix_seconds(chosen["start"], "StartTime"),
        "EndTime": unix_seconds(chosen["end"], "EndTime"),
        "Interval": chosen["interval"],
        "Domain": ",".join(chosen["domains"]) or None,
    }


def load(params: dict) -> dict[str, list[dict]]:
    """metric -> the answer's Resources (per domain, then `total`), one selector call per metric."""
    return {
        metric: selectors.describe_origin_data({**params, "Metric": metric}, None)["Resources"] for metric in METRICS
    }


def _values(resource: dict, metric: str) -> list[float]:
    series = next(item for item in resource["Metrics"] if item["Metric"] == metric)
    return list(series["Values"].values)  # cdnorigin.origin_data.render.Points: no dict per point


def _total(resources: list[dict]) -> dict:
    return next(resource for resource in resources if resource["Name"] == TOTAL_NAME)


def timestamps(answers: dict[str, list[dict]]) -> list[int]:
    return list(answers["pv"][0]["Metrics"][0]["Values"].timestamps)


def tables(answers: dict[str, list[dict]]) -> dict[str, Table]:
    """Rate charts: a column per resource (domains, then `total`); status: the classes of `total`."""
    stamps = timestamps(answers)
    times = [datetime.fromtimestamp(ts, local_zone()).isoformat() for ts in stamps]
    result = {}
    for metric in ("bandwidth", "qps"):
        resources = answers[metric]
        columns = [_values(resource, metric) for resource in resources]
        result[metric] = Table(
            metric,
            ["timestamp", "time", *(resource["Name"] for resource in resources)],
            [[ts, time, *values] for ts, time, *values in zip(stamps, times, *columns, strict=True)],
        )
    total = _total(answers["status_all"])
    columns = [_values(total, metric) for metric in STATUS_COLUMNS]
    result["status"] = Table(
        "status",
        ["timestamp", "time", *STATUS_COLUMNS],
        [[ts, time, *values] for ts, time, *values in zip(stamps, times, *columns, strict=True)],
    )
    return result


def summaries(answers: dict[str, list[dict]], stamps: list[int]) -> list[dict]:
    """Per resource: the peak bandwidth and QPS with their period, and the range's bytes and requests."""
    rows = []
    for index, resource in enumerate(answers["bandwidth"]):
        name = resource["Name"]
        bandwidth = _values(resource, "bandwidth")
        qps = _values(answers["qps"][index], "qps")
        peak_bw = max(range(len(bandwidth)), key=bandwidth.__getitem__, default=None)
        peak_qps = max(range(len(qps)), key=qps.__getitem__, default=None)
        rows.append(
            {
                "name": name,
                "peak_bandwidth": bandwidth[peak_bw] if peak_bw is not None else 0,
                "peak_bandwidth_at": _moment(stamps, peak_bw),
                "peak_qps": qps[peak_qps] if peak_qps is not None else 0,
                "peak_qps_at": _moment(stamps, peak_qps),
                "total_bytes": int(sum(_values(answers["flux"][index], "flux"))),
                "total_requests": int(sum(_values(answers["pv"][index], "pv"))),
            }
        )
    return rows


def _moment(stamps: list[int], index: int | None) -> datetime | None:
    return None if index is None else datetime.fromtimestamp(stamps[index], local_zone())


def status_totals(answers: dict[str, list[dict]]) -> list[dict]:
    total = _total(answers["status_all"])
    return [{"name": metric, "count": int(sum(_values(total, metric)))} for metric in STATUS_COLUMNS]


def chart_specs(tables: dict[str, Table], interval: str) -> dict[str, dict]:
    pattern = "%Y-%m-%d" if interval == "day" else "%m-%d %H:%M"
    labels = [datetime.fromtimestamp(ts, local_zone()).strftime(pattern) for ts in tables["status"].column("timestamp")]
    specs = {}
    for metric, title in (("bandwidth", "bit/s"), ("qps", "requests/s")):
        table = tables[metric]
        names = table.columns[2:]
        lines = [
            dataset(
                name,
                table.column(name),
                GREY if name == TOTAL_NAME else PALETTE[index % len(PALETTE)],
                kind="line",
            )
            for index, name in enumerate(names)
        ]
        specs[metric] = chart_spec(labels, lines, y_title=title)
    status = tables["status"]
    specs["status"] = chart_spec(
        labels,
        [dataset(name, status.column(name), STATUS_COLORS[name], stack="codes") for name in STATUS_COLUMNS[:-1]],
        y_title="responses",
    )
    return specs


@staff_member_required
def cdn_origin(request) -> HttpResponse:
    """The page, or one chart's rows as CSV (`?format=csv&chart=bandwidth|qps|status`)."""
    chosen = choices(request.GET)
    wants_csv = request.GET.get("format") == "csv"
    context = {
        "chosen": chosen,
        "domains": list(Domain.objects.order_by("name").values_list("name", flat=True)),
        "intervals": INTERVALS,
        "zone": settings.INSIGHTS_TIME_ZONE,
    }
    try:
        answers = load(api_parameters(chosen))
    except VolcError as error:
        if wants_csv:
            return text_error(f"{error.code}: {error.message}")
        return render(request, "pages/cdn.html", {**context, "error": error}, status=400)
    charts = tables(answers)
    if wants_csv:
        return chosen_chart_csv(request, charts, CHARTS, lambda chart: f"cdn-{chart}-{chosen['interval']}.csv")
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("chart", None)
    for key in ("interval", "start", "end"):
        query[key] = chosen[key]
    stamps = timestamps(answers)
    context |= {
        "summaries": summaries(answers, stamps),
        "status_totals": status_totals(answers),
        "charts": [
            {"name": name, "title": title, "csv": f"?{query.urlencode()}&format=csv&chart={name}"}
            for name, title in (
                ("bandwidth", "Bandwidth (bit/s)"),
                ("qps", "Requests per second"),
                ("status", "Responses by status class (all chosen domains)"),
            )
        ],
        "chart_data": chart_specs(charts, chosen["interval"]),
        "points": len(stamps),
    }
    return render(request, "pages/cdn.html", context)
