"""The 1-minute reader places each sample by its own minute, whatever order the database hands rows in."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from cdnorigin import minutes
from cdnorigin.models import Domain, OriginSample
from cdnorigin.selectors import describe_origin_data

DAY = datetime(2024, 5, 1, tzinfo=UTC)


def status_series(result: dict, name: str) -> dict[str, list[float]]:
    resource = next(resource for resource in result["Resources"] if resource["Name"] == name)
    return {metric["Metric"]: [point["Value"] for point in metric["Values"]] for metric in resource["Metrics"]}


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array reader is PostgreSQL's")
@pytest.mark.parametrize("metric", ["status_all", "status_4xx"])
def test_a_full_day_handed_over_out_of_order_lands_on_its_own_minutes(settings, monkeypatch, metric):
    settings.INSIGHTS_TIME_ZONE = "UTC"
    domain = Domain.objects.create(name="order.example.com")
    OriginSample.objects.bulk_create(
        OriginSample(
            domain=domain,
            minute=DAY + timedelta(minutes=index),
            flux=1,
            pv=index + 7,
            status={"200": index + 1, "404": 2 * index + 5},
        )
        for index in range(1440)
    )
    params = {
        "StartTime": int(DAY.timestamp()),
        "EndTime": int((DAY + timedelta(days=1)).timestamp()) - 1,
        "Interval": "1min",
        "Metric": metric,
        "Domain": domain.name,
    }
    in_order = describe_origin_data(params, None, now=DAY + timedelta(days=2))
    expected = [float(2 * index + 5) for index in range(1440)]
    assert status_series(in_order, domain.name)["status_4xx"] == expected

    def reversed_rows(reader):
        def read(*args):
            return [(domain, code, indexes[::-1], values[::-1]) for domain, code, indexes, values in reader(*args)]

        return read

    # The order a plan may hand over after re-posts move rows in the heap: the answer must not change.
    monkeypatch.setattr(minutes, "_class_arrays", reversed_rows(minutes._class_arrays))
    monkeypatch.setattr(minutes, "_code_arrays", reversed_rows(minutes._code_arrays))
    assert describe_origin_data(params, None, now=DAY + timedelta(days=2)) == in_order
