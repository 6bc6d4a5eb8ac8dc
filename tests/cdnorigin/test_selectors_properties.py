"""DescribeCdnOriginData's answers: domains and permissions, the seed's shape, and every statistic
checked against a slow recomputation from the raw minute samples, with rolled-up and dirty buckets."""

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cdnorigin import rollups
from cdnorigin.dirty import mark_pairs_dirty
from cdnorigin.errors import VolcError
from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample
from cdnorigin.selectors import describe_origin_data

METRICS = ["flux", "bandwidth", "pv", "qps", "status_all", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]
CODES = [200, 204, 206, 301, 302, 304, 404, 403, 499, 500, 502, 503]


def minute(ts: int) -> datetime:
    return datetime.fromtimestamp(ts - ts % 60, UTC)


def store(domain: Domain, ts: int, flux: int, pv: int, status: dict[int, int]) -> None:
    """Replace the raw sample of one domain and minute (the writers' job, done directly here)."""
    OriginSample.objects.filter(domain=domain, minute=minute(ts)).delete()
    OriginSample.objects.create(domain=domain, minute=minute(ts), flux=flux, pv=pv, status=status)


def store_many(domain: Domain, samples: dict[int, tuple]) -> None:
    """Insert fresh raw samples {minute ts: (flux, pv, status)} of one domain in bulk."""
    OriginSample.objects.bulk_create(
        [
            OriginSample(domain=domain, minute=minute(ts), flux=flux, pv=pv, status=status)
            for ts, (flux, pv, status) in samples.items()
        ]
    )


def values(result: dict) -> dict[tuple[str, str], list[tuple[int, float]]]:
    return {
        (resource["Name"], metric["Metric"]): [(value["Timestamp"], value["Value"]) for value in metric["Values"]]
        for resource in result["Resources"]
        for metric in resource["Metrics"]
    }


# ---------------------------------------------------------------------------------------------
# The slow, obvious recomputation: every minute of the range labelled with its local period.


def period_key(ts: int, interval: str, zone: ZoneInfo):
    local = datetime.fromtimestamp(ts, zone)
    if interval == "1min":
        return ts // 60
    if interval == "5min":
        return ts // 300
    if interval == "hour":
        return (local.date(), local.hour, local.utcoffset())
    return local.date()


def expected_answer(samples, start, end, interval, metric, names, output, zone) -> dict:
    """`samples`: {(name, minute ts): (flux, pv, {code: count})} straight from the raw rows."""
    groups = []  # [(period start, [minutes])] for every period touching the whole window
    for ts in range(start - start % 60 - 2 * 86400, end + 2 * 86400, 60):
        key = period_key(ts, interval, zone)
        if not groups or groups[-1][0] != key:
            groups.append((key, ts, []))
        groups[-1][2].append(ts)
    first = next(index for index, group in enumerate(groups) if group[0] == period_key(start, interval, zone))
    last = next(index for index, group in enumerate(groups) if group[0] == period_key(end, interval, zone))
    groups = groups[first : last + 1]

    def series(members: list[str]) -> dict[str, list[float]]:
        out = defaultdict(list)
        for _key, _start, minutes in groups:
            flux = pv = 0
            codes = defaultdict(int)
            five = defaultdict(lambda: [0, 0])
            for ts in minutes:
                for name in members:
                    sample = samples.get((name, ts))
                    if sample is None:
                        continue
                    flux += sample[0]
                    pv += sample[1]
                    five[ts // 300][0] += sample[0]
                    five[ts // 300][1] += sample[1]
                    for code, count in sample[2].items():
                        codes[code] += count
            seconds = len(minutes) * 60
            out["flux"].append(float(flux))
            out["pv"].append(float(pv))
            if interval in ("1min", "5min"):
                out["bandwidth"].append(flux * 8 / seconds)
                out["qps"].append(pv / seconds)
            else:
                out["bandwidth"].append(max([f for f, _ in five.values()], default=0) * 8 / 300)
                out["qps"].append(max([p for _, p in five.values()], default=0) / 300)
            out["status_all"].append(float(sum(codes.values())))
            for klass in "2345":
                out[f"status_{klass}xx"].append(float(sum(c for code, c in codes.items() if str(code)[0] == klass)))
            for code in CODES:
                out[f"status_{code}"].append(float(codes.get(code, 0)))
        return out

    def metrics(computed: dict[str, list[float]]) -> list[str]:
        if metric == "status_all":
            return ["status_all", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]
        if metric.startswith("status_"):
            klass = metric[7]
            used = [code for code in sorted(CODES) if str(code)[0] == klass and any(computed[f"status_{code}"])]
            return [metric] + [f"status_{code}" for code in used]
        return [metric]

    resources = [(name, [name]) for name in names] if output != "total" else []
    if output != "per_domain":
        resources.append(("total", names))
    answer = {}
    starts = [period_start for _key, period_start, _minutes in groups]
    for resource, members in resources:
        computed = series(members)
        for name in metrics(computed):
            answer[(resource, name)] = list(zip(starts, computed[name], strict=True))
    return answer


# ---------------------------------------------------------------------------------------------
# Random data around an anchor day, part rolled up, part dirty after the roll-up.


def local_midnight(day, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, datetime.min.time(), zone).timestamp())


def anchor_day(zone: ZoneInfo) -> datetime:
    """Berlin: the latest DST change before today (answers are asked as of a few days later);
    Shanghai: three days ago. Local midnight of that day."""
    today = timezone.now().astimezone(zone).date()
    day = today - timedelta(days=3)
    if zone.key == "Europe/Berlin":
        while local_midnight(day + timedelta(days=1), zone) - local_midnight(day, zone) == 86400:
            day -= timedelta(days=1)
    return datetime.combine(day, datetime.min.time(), zone)


def random_samples(rng: random.Random, first: int, minutes: int, density: float) -> dict[int, tuple]:
    out = {}
    for offset in range(minutes):
        if rng.random() < density:
            status = {code: rng.randint(1, 40) for code in rng.sample(CODES, rng.randint(0, 3))}
            out[first + 60 * offset] = (rng.randint(0, 10**9), rng.randint(0, 5000), status)
    return out


def build_data(rng: random.Random, zone: ZoneInfo, domains: list[Domain]):
    """Raw rows over ~3 local days, rolled up, then a few minutes changed, removed or added (dirty)."""
    first = int(anchor_day(zone).timestamp()) - 86400
    minutes = 3 * 86400 // 60 + 120
    truth = {}
    for domain in domains:
        samples = random_samples(rng, first, minutes, rng.choice([0.01, 0.03, 0.08]))
        store_many(domain, samples)
        truth.update({(domain.name, ts): sample for ts, sample in samples.items()})
    rollups.rebuild()
    assert not DirtyOriginBucket.objects.exists()
    assert OriginRollup.objects.exists()
    changed = []
    for domain in domains:
        for _ in range(rng.randint(1, 12)):
            ts = first + 60 * rng.randrange(minutes)
            action = rng.random()
            if action < 0.25:
                OriginSample.objects.filter(domain=domain, minute=minute(ts)).delete()
                truth.pop((domain.name, ts), None)
            else:
                sample = (rng.randint(0, 10**9), rng.randint(0, 5000), {rng.choice(CODES): rng.randint(1, 99)})
                store(domain, ts, *sample)
                truth[(domain.name, ts)] = sample
            changed.append((domain.id, minute(ts)))
    mark_pairs_dirty(changed)  # on_commit never fires inside the test's transaction: they stay dirty
    assert DirtyOriginBucket.objects.exists()
    return first, minutes, truth


def random_query(rng: random.Random, first: int, minutes: int, names: list[str]) -> dict:
    interval = rng.choice(["1min", "5min", "hour", "day"])
    span_limit = {"1min": 86400, "5min": 2 * 86400, "hour": 3 * 86400, "day": 3 * 86400}[interval]
    span_floor = 86401 if interval == "day" else 0
    span = rng.randint(span_floor, span_limit)
    start = first - 3600 + rng.randrange(max(1, minutes * 60 - span + 7200))
    params = {"StartTime": start, "EndTime": start + span, "Interval": interval, "Metric": rng.choice(METRICS)}
    mode = rng.random()
    if mode < 0.2:
        return params  # every domain: the total only
    chosen = rng.sample(names, rng.randint(1, len(names)))
    params["Domain"] = ",".join(chosen)
    aggregate = rng.choice([None, "aggregate", "disaggregate"])
    if aggregate:
        params["Aggregate"] = aggregate
    return params


def assert_same(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for key, series in expected.items():
        assert [ts for ts, _ in got[key]] == [ts for ts, _ in series], key
        for (ts, value), (_, wanted) in zip(got[key], series, strict=True):
            assert isinstance(value, float), key
            assert value == pytest.approx(wanted, rel=1e-12, abs=1e-9), (key, ts)


@pytest.mark.django_db
@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "Europe/Berlin"])
@pytest.mark.parametrize("seed", range(4))
def test_every_statistic_matches_a_recomputation_from_raw_minutes(settings, zone_name, seed):
    settings.INSIGHTS_TIME_ZONE = zone_name
    zone = ZoneInfo(zone_name)
    rng = random.Random(f"{zone_name}-{seed}")
    domains = [Domain.objects.create(name=f"d{number}.example.com") for number in range(rng.randint(1, 4))]
    names = [domain.name for domain in domains]
    first, minutes, truth = build_data(rng, zone, domains)
    now = datetime.fromtimestamp(first, UTC) + timedelta(days=10)
    for _ in range(15):
        params = random_query(rng, first, minutes, names)
        got = values(describe_origin_data(params, None, now=now))
        chosen = params["Domain"].split(",") if "Domain" in params else names
        output = (
            "total"
            if "Domain" not in params or params.get("Aggregate") == "aggregate"
            else ("per_domain" if params.get("Aggregate") == "disaggregate" else "both")
        )
        expected = expected_answer(
            truth, params["StartTime"], params["EndTime"], params["Interval"], params["Metric"], chosen, output, zone
        )
        assert_same(got, expected)


# ---------------------------------------------------------------------------------------------
# Domains, permissions and the seed's shape.


@pytest.fixture
def recent():
    """A 5-minute boundary an hour ago, and a `now` to ask at."""
    now = timezone.now()
    ts = int(now.timestamp()) - 3600
    return ts - ts % 300, now


@pytest.mark.django_db
def test_the_answer_has_the_seeds_shape_with_per_domain_resources_then_the_total(recent):
    start, now = recent
    a, b = Domain.objects.create(name="www.example.com"), Domain.objects.create(name="www.example2.com")
    store(a, start + 60, 13806, 3, {200: 3})
    store(b, start + 120, 100, 1, {404: 1})
    mark_pairs_dirty([(a.id, minute(start + 60)), (b.id, minute(start + 120))])
    params = {"StartTime": start, "EndTime": start + 599, "Metric": "flux", "Interval": "5min"}
    result = describe_origin_data({**params, "Domain": "www.example.com,www.example2.com"}, None, now=now)
    assert result == {
        "Resources": [
            {
                "Name": name,
                "Metrics": [
                    {
                        "Metric": "flux",
                        "Values": [{"Timestamp": start, "Value": value}, {"Timestamp": start + 300, "Value": 0.0}],
                    }
                ],
            }
            for name, value in (("www.example.com", 13806.0), ("www.example2.com", 100.0), ("total", 13906.0))
        ]
    }
    order = describe_origin_data({**params, "Domain": "www.example2.com,www.example.com"}, None, now=now)
    assert [resource["Name"] for resource in order["Resources"]] == ["www.example2.com", "www.example.com", "total"]


@pytest.mark.django_db
def test_without_domains_only_the_total_of_the_visible_domains_is_answered(recent):
    start, now = recent
    a, b = Domain.objects.create(name="a.com"), Domain.objects.create(name="b.com")
    store(a, start, 10, 1, {})
    store(b, start, 5, 1, {})
    mark_pairs_dirty([(a.id, minute(start)), (b.id, minute(start))])
    params = {"StartTime": start, "EndTime": start, "Metric": "flux", "Aggregate": "disaggregate"}
    assert values(describe_origin_data(params, None, now=now)) == {("total", "flux"): [(start, 15.0)]}
    assert values(describe_origin_data(params, {"b.com"}, now=now)) == {("total", "flux"): [(start, 5.0)]}
    assert values(describe_origin_data(params, set(), now=now)) == {("total", "flux"): [(start, 0.0)]}


@pytest.mark.django_db
def test_a_sub_account_naming_a_domain_outside_its_grant_is_refused_even_if_it_does_not_exist(recent):
    _, now = recent
    Domain.objects.create(name="a.com")
    Domain.objects.create(name="b.com")
    for names in ("a.com,b.com", "a.com,nowhere.com"):
        with pytest.raises(VolcError) as caught:
            describe_origin_data({"Metric": "pv", "Domain": names}, {"a.com"}, now=now)
        assert (caught.value.status, caught.value.code, caught.value.message) == (
            403,
            "AccessDenied.IAMUnauthorized",
            "您没有权限执行该操作",
        )
    assert describe_origin_data({"Metric": "pv", "Domain": "a.com"}, {"a.com"}, now=now)["Resources"]


@pytest.mark.django_db
def test_a_main_account_naming_unknown_domains_gets_404_listing_them_in_request_order(recent):
    _, now = recent
    Domain.objects.create(name="a.com")
    with pytest.raises(VolcError) as caught:
        describe_origin_data({"Metric": "pv", "Domain": "z.com,a.com,b.com"}, None, now=now)
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        404,
        "NotFound.Domain",
        "账户下无此域名:z.com,b.com",
    )


@pytest.mark.django_db
def test_bad_parameters_are_checked_before_domains(recent):
    _, now = recent
    with pytest.raises(VolcError) as caught:
        describe_origin_data({"Metric": "nope", "Domain": "z.com"}, {"a.com"}, now=now)
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter.Metric")


@pytest.mark.django_db
def test_status_series_list_only_codes_seen_in_the_answered_periods(recent):
    start, now = recent
    a = Domain.objects.create(name="a.com")
    store(a, start, 1, 6, {200: 2, 206: 1, 404: 3})
    store(a, start - 600, 1, 1, {204: 1})  # outside the answered periods
    mark_pairs_dirty([(a.id, minute(start)), (a.id, minute(start - 600))])
    params = {"StartTime": start, "EndTime": start + 60, "Interval": "1min", "Domain": "a.com"}
    got = values(describe_origin_data({**params, "Metric": "status_2xx"}, None, now=now))
    assert list(got) == [
        ("a.com", "status_2xx"),
        ("a.com", "status_200"),
        ("a.com", "status_206"),
        ("total", "status_2xx"),
        ("total", "status_200"),
        ("total", "status_206"),
    ]
    assert got[("a.com", "status_2xx")] == [(start, 3.0), (start + 60, 0.0)]
    got = values(describe_origin_data({**params, "Metric": "status_all", "Aggregate": "aggregate"}, None, now=now))
    assert [metric for _, metric in got] == ["status_all", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]
    assert got[("total", "status_all")] == [(start, 6.0), (start + 60, 0.0)]
    assert got[("total", "status_4xx")] == [(start, 3.0), (start + 60, 0.0)]


@pytest.mark.django_db
def test_hourly_bandwidth_of_the_total_is_the_peak_of_summed_five_minute_values_not_the_sum_of_peaks(recent):
    start, now = recent
    hour = start - start % 3600  # Asia/Shanghai hours are UTC hours
    a, b = Domain.objects.create(name="a.com"), Domain.objects.create(name="b.com")
    store(a, hour, 3000, 300, {})
    store(b, hour + 600, 3000, 300, {})
    store(b, hour + 660, 1500, 150, {})
    rollups.rebuild()
    params = {"StartTime": hour, "EndTime": hour + 3599, "Interval": "hour", "Domain": "a.com,b.com"}
    got = values(describe_origin_data({**params, "Metric": "bandwidth"}, None, now=now))
    assert got[("a.com", "bandwidth")] == [(hour, 3000 * 8 / 300)]
    assert got[("b.com", "bandwidth")] == [(hour, 4500 * 8 / 300)]
    assert got[("total", "bandwidth")] == [(hour, 4500 * 8 / 300)]
    got = values(describe_origin_data({**params, "Metric": "qps"}, None, now=now))
    assert got[("total", "qps")] == [(hour, 450 / 300)]


@pytest.mark.django_db
def test_a_dirty_bucket_is_answered_from_raw_rows_not_from_its_stale_rollup(recent):
    start, now = recent
    a = Domain.objects.create(name="a.com")
    store(a, start, 100, 1, {200: 1})
    rollups.rebuild()
    store(a, start, 700, 7, {500: 7})
    mark_pairs_dirty([(a.id, minute(start))])
    for interval in ("5min", "hour"):
        params = {"StartTime": start, "EndTime": start, "Interval": interval, "Domain": "a.com"}
        assert values(describe_origin_data({**params, "Metric": "pv"}, None, now=now))[("a.com", "pv")][0][1] == 7.0
        got = values(describe_origin_data({**params, "Metric": "status_5xx"}, None, now=now))
        assert got[("a.com", "status_500")][0][1] == 7.0


@pytest.mark.django_db
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["StartTime", "EndTime", "Interval", "Metric", "Domain", "Aggregate"]),
        st.one_of(
            st.none(),
            st.integers(-(2**65), 2**65),
            st.floats(),
            st.text(max_size=40),
            st.lists(st.text(max_size=5), max_size=2),
            st.sampled_from(["a.com", "a.com,b.com", "hour", "day", "1min", "status_4xx", "aggregate"]),
        ),
    ),
    allowed=st.sampled_from([None, {"a.com"}, set()]),
)
def test_junk_parameters_are_answered_or_refused_with_a_documented_error_never_a_crash(params, allowed):
    Domain.objects.get_or_create(name="a.com")
    try:
        result = describe_origin_data(params, allowed)
    except VolcError as error:
        assert (error.status, error.code.split(".")[0]) in {
            (400, "InvalidParameter"),
            (403, "AccessDenied"),
            (404, "NotFound"),
        }
    else:
        assert result["Resources"] and all(resource["Metrics"] for resource in result["Resources"])
