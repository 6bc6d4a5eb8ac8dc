"""The 1-minute reader places each sample by its own minute, whatever order the database hands rows in."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from cdnorigin import rollups
from cdnorigin.minute_blocks import BLOCK
from cdnorigin.models import Domain, OriginRollup, OriginSample
from cdnorigin.origin_data import read as minutes
from cdnorigin.selectors import describe_origin_data

DAY = datetime(2024, 5, 1, tzinfo=UTC)


def status_series(result: dict, name: str) -> dict[str, list[float]]:
    resource = next(resource for resource in result["Resources"] if resource["Name"] == name)
    return {metric["Metric"]: [point["Value"] for point in metric["Values"]] for metric in resource["Metrics"]}


def full_day(name: str) -> tuple[Domain, dict]:
    domain = Domain.objects.create(name=name)
    OriginSample.objects.bulk_create(
        OriginSample(
            domain=domain,
            minute=DAY + timedelta(minutes=index),
            flux=1,
            pv=index + 7,
            status={"100": index % 3, "200": index + 1, "404": 2 * index + 5, "503": index % 7},
        )
        for index in range(1440)
    )
    rollups.rebuild()  # bulk_create marks nothing dirty: the 5-minute rows (and their minutes) are built here
    params = {
        "StartTime": int(DAY.timestamp()),
        "EndTime": int((DAY + timedelta(days=1)).timestamp()) - 1,
        "Interval": "1min",
        "Domain": name,
    }
    return domain, params


def reordered(reader, order):
    """`reader` with every array of each row (indexes and values alike) put in `order(n)`."""

    def read(*args):
        return [
            tuple([row[index] for index in order(len(row))] if isinstance(row, list) else row for row in rows)
            for rows in reader(*args)
        ]

    return read


def reordered_blocks(reader, order):
    """`reader` of 5-minute rows with each domain's starts and minute blocks put in `order(n)`."""

    def read(*args):
        rows = []
        for domain_id, starts, packed in reader(*args):
            pieces = [packed[at : at + BLOCK.size] for at in range(0, len(packed), BLOCK.size)]
            new = order(len(starts))
            rows.append((domain_id, [starts[n] for n in new], b"".join(pieces[n] for n in new)))
        return rows

    return read


def reverse(n: int) -> list[int]:
    return list(range(n))[::-1]


def one_moved_to_the_end(n: int) -> list[int]:
    """The order after a re-post of minute 100 moved its row to the end of the heap."""
    return [*range(100), *range(101, n), 100]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array reader is PostgreSQL's")
@pytest.mark.parametrize("metric", ["status_all", "status_4xx"])
@pytest.mark.parametrize("order", [reverse, one_moved_to_the_end])
def test_a_full_day_handed_over_out_of_order_lands_on_its_own_minutes(settings, monkeypatch, metric, order):
    settings.INSIGHTS_TIME_ZONE = "UTC"
    domain, params = full_day("order.example.com")
    params["Metric"] = metric
    in_order = describe_origin_data(params, None, now=DAY + timedelta(days=2))
    got = status_series(in_order, domain.name)
    assert got["status_4xx"] == [float(2 * index + 5) for index in range(1440)]
    if metric == "status_all":
        assert got["status_all"] == [float(index % 3 + 3 * index + 6 + index % 7) for index in range(1440)]
        assert got["status_5xx"] == [float(index % 7) for index in range(1440)]

    # The order a plan may hand over after re-posts move rows in the heap: the answer must not change.
    monkeypatch.setattr(minutes, "block_rows", reordered_blocks(minutes.block_rows, order))
    monkeypatch.setattr(minutes, "_code_arrays", reordered(minutes._code_arrays, order))
    assert describe_origin_data(params, None, now=DAY + timedelta(days=2)) == in_order


@pytest.mark.django_db
@pytest.mark.parametrize("metric", ["status_all", "status_4xx"])
def test_missing_minutes_are_zeros_whatever_the_order(settings, monkeypatch, metric):
    settings.INSIGHTS_TIME_ZONE = "UTC"
    domain, params = full_day("gaps.example.com")
    gone = {0, 1, 700, 1439}
    OriginSample.objects.filter(minute__in=[DAY + timedelta(minutes=index) for index in gone]).delete()
    params["Metric"] = metric
    expected = [0.0 if index in gone else float(2 * index + 5) for index in range(1440)]
    assert (
        status_series(describe_origin_data(params, None, now=DAY + timedelta(days=2)), domain.name)["status_4xx"]
        == expected
    )
    if connection.vendor == "postgresql":
        monkeypatch.setattr(minutes, "block_rows", reordered_blocks(minutes.block_rows, reverse))
        monkeypatch.setattr(minutes, "_code_arrays", reordered(minutes._code_arrays, reverse))
        got = status_series(describe_origin_data(params, None, now=DAY + timedelta(days=2)), domain.name)
        assert got["status_4xx"] == expected


@pytest.mark.django_db
def test_five_minute_rows_carry_each_minute_of_their_samples(settings):
    settings.INSIGHTS_TIME_ZONE = "UTC"
    domain, _ = full_day("carry.example.com")
    row = OriginRollup.objects.get(domain=domain, interval="5min", start=DAY + timedelta(minutes=10))
    values = BLOCK.unpack(bytes(row.minutes))
    for offset in range(5):
        index = 10 + offset
        four = 2 * index + 5
        assert values[offset * 7 : offset * 7 + 7] == (
            1,
            index + 7,
            index % 3 + index + 1 + four + index % 7,
            index + 1,
            0,
            four,
            index % 7,
        )
