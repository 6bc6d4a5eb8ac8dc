"""An answer's `Values` render to the very JSON orjson writes for the point dicts, and read as them."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdnorigin import rollups
from cdnorigin.api.volc import envelope_response
from cdnorigin.ingest import MAX_VALUE
from cdnorigin.models import MAX_STATUS_COUNT, Domain, OriginSample
from cdnorigin.origin_data.render import Points, Timeline, to_json
from cdnorigin.selectors import describe_origin_data

# Floats whose JSON takes every form: exponents both ways, many digits, zeros, whole numbers of counts.
EDGES = [0.0, -0.0, 1.0, 5e-324, 1e-7, 0.000015, 0.1, 1 / 3, 123.0, 2.0**53, 2.0**53 + 2, 1e15, 1e16, 1e300, 2.5e20]
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(EDGES),
    st.integers(min_value=0, max_value=2**60).map(float),
)


def as_dicts(points: Points) -> list[dict]:
    return [{"Timestamp": ts, "Value": value} for ts, value in zip(points.timestamps, points.values, strict=True)]


@given(
    first=st.integers(min_value=0, max_value=2**32 - 1),
    step=st.sampled_from([60, 300, 3600, 86400]),
    cells=st.lists(values, max_size=50),
)
def test_rendered_values_are_the_bytes_orjson_writes_for_the_point_dicts(first, step, cells):
    points = Points(Timeline(tuple(range(first, first + step * len(cells), step))), cells)
    assert points.json() == orjson.dumps(as_dicts(points))
    assert orjson.dumps({"Values": points}, default=to_json) == orjson.dumps({"Values": as_dicts(points)})


def test_zero_filled_and_empty_values():
    timeline = Timeline((0, 60, 120))
    assert Points(timeline, [0.0, 0.0, 0.0]).json() == (
        b'[{"Timestamp":0,"Value":0.0},{"Timestamp":60,"Value":0.0},{"Timestamp":120,"Value":0.0}]'
    )
    assert Points(Timeline(()), []).json() == b"[]"


def test_points_read_as_the_list_of_point_dicts():
    points = Points(Timeline((100, 160, 220)), [1.0, 2.5, 0.0])
    expected = [{"Timestamp": 100, "Value": 1.0}, {"Timestamp": 160, "Value": 2.5}, {"Timestamp": 220, "Value": 0.0}]
    assert list(points) == expected
    assert points == expected
    assert expected == points
    assert points != expected[:2]
    assert points != [*expected[:2], {"Timestamp": 220, "Value": 1.0}]
    assert len(points) == 3
    assert points[-1] == {"Timestamp": 220, "Value": 0.0}
    assert points[1:] == expected[1:]
    assert [point["Value"] for point in points] == [1.0, 2.5, 0.0]
    assert points == Points(Timeline([100, 160, 220]), [1.0, 2.5, 0.0])
    assert points != Points(Timeline((100, 160, 220)), [1.0, 2.5, 0.5])
    assert points != Points(Timeline((100, 160, 280)), [1.0, 2.5, 0.0])


def test_values_must_match_the_periods():
    with pytest.raises(ValueError, match="2 values for 3 periods"):
        Points(Timeline((0, 60, 120)), [1.0, 2.0])


def test_other_objects_stay_unserialisable():
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps({"Values": object()}, default=to_json)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("metric", "interval"),
    [
        ("status_all", "1min"),
        ("status_2xx", "1min"),
        ("qps", "1min"),
        ("pv", "5min"),
        ("bandwidth", "hour"),
        ("flux", "hour"),
    ],
)
def test_the_api_answer_is_the_json_of_the_point_dicts(settings, metric, interval):
    """Through the envelope: the same bytes as orjson writes for the answer with every point a dict,
    over a day with gaps (zero-filled periods) and sums of 1e16 and more (written with an exponent)."""
    settings.INSIGHTS_TIME_ZONE = "UTC"
    day = datetime(2024, 5, 1, tzinfo=UTC)
    for number, name in enumerate(("a.example.com", "b.example.com")):
        domain = Domain.objects.create(name=name)
        OriginSample.objects.bulk_create(
            OriginSample(
                domain=domain,
                minute=day + timedelta(minutes=minute),
                flux=MAX_VALUE - minute * 7919 - number,
                pv=minute + number,
                status={**{str(code): MAX_STATUS_COUNT - minute for code in range(200, 240)}, "404": number},
            )
            for minute in range(0, 1440, 3)
        )
    rollups.rebuild()
    params = {
        "StartTime": int(day.timestamp()),
        "EndTime": int((day + timedelta(days=1)).timestamp()) - 1,
        "Interval": interval,
        "Metric": metric,
        "Domain": "a.example.com,b.example.com",
    }
    answer = describe_origin_data(params, None, now=day + timedelta(days=2))
    plain = {
        "Resources": [
            {**resource, "Metrics": [{**item, "Values": list(item["Values"])} for item in resource["Metrics"]]}
            for resource in answer["Resources"]
        ]
    }
    shown = [point["Value"] for resource in plain["Resources"] for point in resource["Metrics"][0]["Values"]]
    assert {type(value) for value in shown} == {float}
    if interval == "1min":
        assert 0.0 in shown
    if metric in ("status_all", "status_2xx", "flux"):
        assert max(shown) >= 1e16
    rendered = envelope_response("id", "DescribeCdnOriginData", "2021-03-01", 200, answer).content
    expected = envelope_response("id", "DescribeCdnOriginData", "2021-03-01", 200, plain).content
    assert rendered == expected


@given(
    first=st.integers(min_value=0, max_value=2**32 - 1),
    cells=st.lists(
        st.one_of(
            st.integers(min_value=-(2**60), max_value=2**60),
            st.sampled_from([0, 1, 2**53 - 1, 2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 10**16, 10**16 + 1]),
        ),
        max_size=50,
    ),
)
def test_integer_sums_render_as_orjson_writes_them_as_floats(first, cells):
    """Counts are written from the integers where each is exact as a float, else through floats; the
    bytes are the same either way."""
    points = Points.of_counts(Timeline(tuple(range(first, first + 60 * len(cells), 60))), cells)
    floats = [{"Timestamp": first + 60 * n, "Value": float(cell)} for n, cell in enumerate(cells)]
    assert points.json() == orjson.dumps(floats)
    assert points == floats
    assert all(type(value) is float for value in points.values)


def test_integer_sums_take_the_integer_template_only_while_exact():
    timeline = Timeline((0, 60))
    assert Points.of_counts(timeline, [2**53, 7]).json() == b'[{"Timestamp":0,"Value":9007199254740992.0},' + (
        b'{"Timestamp":60,"Value":7.0}]'
    )
    # 2**53 + 1 is no float: it is answered as the float it rounds to, as float() would.
    assert Points.of_counts(timeline, [2**53 + 1, 7]).json() == orjson.dumps(
        [{"Timestamp": 0, "Value": float(2**53 + 1)}, {"Timestamp": 60, "Value": 7.0}]
    )
    assert b"9007199254740993" not in Points.of_counts(timeline, [2**53 + 1, 7]).json()
