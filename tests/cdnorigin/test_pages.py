"""The CDN origin page (cdnorigin/pages.py) without a browser: login, VolcError as a message, CSV
equal to describe_origin_data, and totals equal to a plain sum of raw minute rows."""

import csv
import io
import random
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cdnorigin.ingest import replace_origin_samples
from cdnorigin.models import Domain, OriginSample
from cdnorigin.selectors import describe_origin_data
from insights.templatetags.units import si
from tests.browser.data import DOMAINS, local_input, origin_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("ops", is_staff=True))
    return client


def choice(origin, **extra) -> dict:
    return {
        "start": local_input(origin.first_minute - timedelta(hours=1)),
        "end": local_input(origin.first_minute + timedelta(hours=2)),
        "interval": "5min",
        "domain": list(DOMAINS),
        **extra,
    }


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_page_needs_a_staff_login(client):
    response = client.get("/cdn/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=/cdn/")


def test_by_default_the_last_24_hours_of_every_domain_as_one_total(staff):
    origin_data()
    response = staff.get("/cdn/")
    assert response.status_code == 200
    assert [row["name"] for row in response.context["summaries"]] == ["total"]
    assert response.context["chosen"]["interval"] == "5min"
    assert response.context["points"] in (288, 289)


@pytest.mark.parametrize(
    "params, code",
    [
        ({"interval": "1min", "start": "2026-01-01T00:00", "end": "2026-01-03T00:00"}, "InvalidParameter"),
        ({"start": "not a time"}, "InvalidParameter.StartTime"),
        ({"end": "2026-13-01T00:00"}, "InvalidParameter.EndTime"),
        ({"domain": "missing.example.com"}, "NotFound.Domain"),
        ({"interval": "week"}, "InvalidParameter.Interval"),
    ],
)
def test_bad_parameters_are_the_apis_message_never_a_server_error(staff, params, code):
    origin_data()
    response = staff.get("/cdn/", params)
    assert response.status_code == 400
    assert code.encode() in response.content and b'role="alert"' in response.content
    csv_response = staff.get("/cdn/", {**params, "format": "csv", "chart": "qps"})
    assert csv_response.status_code == 400 and code.encode() in csv_response.content


def test_an_unknown_chart_is_400(staff):
    origin = origin_data()
    response = staff.get("/cdn/", choice(origin, format="csv", chart="flux"))
    assert response.status_code == 400 and b"bandwidth, qps, status" in response.content


@pytest.mark.parametrize("interval", ["1min", "5min", "hour"])
def test_csv_equals_describe_origin_data(staff, interval):
    origin = origin_data()
    params = choice(origin, interval=interval)
    api = {
        "StartTime": int((origin.first_minute - timedelta(hours=1)).timestamp()),
        "EndTime": int((origin.first_minute + timedelta(hours=2)).timestamp()),
        "Interval": interval,
        "Domain": ",".join(DOMAINS),
    }
    for chart in ("bandwidth", "qps"):
        rows = read_csv(staff.get("/cdn/", {**params, "format": "csv", "chart": chart}))
        for resource in describe_origin_data({**api, "Metric": chart}, None)["Resources"]:
            values = resource["Metrics"][0]["Values"]
            assert [(int(r["timestamp"]), float(r[resource["Name"]])) for r in rows] == [
                (v["Timestamp"], v["Value"]) for v in values
            ]
    rows = read_csv(staff.get("/cdn/", {**params, "format": "csv", "chart": "status"}))
    total = describe_origin_data({**api, "Metric": "status_all"}, None)["Resources"][-1]
    for metric in total["Metrics"]:
        assert [float(row[metric["Metric"]]) for row in rows] == [v["Value"] for v in metric["Values"]]


def test_peaks_and_totals_of_the_known_hour(staff):
    origin = origin_data()
    context = staff.get("/cdn/", choice(origin)).context
    rows = {row["name"]: row for row in context["summaries"]}
    assert list(rows) == [*DOMAINS, "total"]
    assert rows["total"]["peak_bandwidth"] == pytest.approx(origin.peak_bandwidth_5min)
    assert rows["total"]["peak_bandwidth_at"] == origin.first_minute + timedelta(minutes=55)
    assert (rows["total"]["total_bytes"], rows["total"]["total_requests"]) == (origin.total_bytes, 900)
    assert (rows[DOMAINS[1]]["total_bytes"], rows[DOMAINS[1]]["peak_qps"]) == (30000, 5.0 / 60)
    assert {item["name"]: item["count"] for item in context["status_totals"]} == {
        "status_2xx": 780,
        "status_3xx": 0,
        "status_4xx": 60,
        "status_5xx": 60,
        "status_all": 900,
    }


@pytest.mark.parametrize("seed", range(3))
def test_totals_equal_a_plain_sum_of_raw_minute_rows(staff, seed):
    """Random minutes of three domains; the page's bytes and requests per domain must equal the raw sums."""
    rng = random.Random(seed)
    names = ["x.example.com", "y.example.com", "z.example.com"]
    for name in names:
        Domain.objects.create(name=name)
    base = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=5)
    items = [
        {
            "domain": rng.choice(names),
            "timestamp": int((base + timedelta(minutes=rng.randrange(300))).timestamp()),
            "flux": rng.randrange(10**9),
            "pv": rng.randrange(10**4),
            "status": {200: rng.randrange(100), 502: rng.randrange(5)},
        }
        for _ in range(150)
    ]
    replace_origin_samples(items)
    chosen = rng.sample(names, rng.randint(1, 3))
    start, end = base + timedelta(minutes=rng.randrange(60)), base + timedelta(minutes=240 + rng.randrange(60))
    interval = rng.choice(["5min", "hour"])
    context = staff.get(
        "/cdn/", {"start": local_input(start), "end": local_input(end), "interval": interval, "domain": chosen}
    ).context
    # The answer covers whole periods: from the period holding `start` to the one holding `end`.
    step = 300 if interval == "5min" else 3600
    first = int(start.timestamp()) // step * step
    stop = int(end.timestamp()) // step * step + step
    rows = {row["name"]: row for row in context["summaries"]}
    for name in chosen:
        samples = [
            s for s in OriginSample.objects.filter(domain__name=name) if first <= int(s.minute.timestamp()) < stop
        ]
        assert rows[name]["total_bytes"] == sum(s.flux for s in samples)
        assert rows[name]["total_requests"] == sum(s.pv for s in samples)
    assert rows["total"]["total_bytes"] == sum(rows[name]["total_bytes"] for name in chosen)


@pytest.mark.parametrize(
    "value, unit, shown",
    [
        (0, "B", "0 B"),
        (999, "B", "999 B"),
        (1500, "B", "1.5 kB"),
        (207_000_000, "bit/s", "207 Mbit/s"),
        (None, "B", "–"),
    ],
)
def test_magnitudes_read_with_decimal_prefixes(value, unit, shown):
    assert si(value, unit) == shown
