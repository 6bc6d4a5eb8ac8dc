"""Realistic CDN demo data: a week of origin minutes for five domains, with daily shape and incidents.

Drawn from `random.Random` seeded by the caller, so a given seed and `now` give the same rows. Rows are
bulk-inserted (no per-row signals); `seed_demo` rebuilds the rollups afterwards. Clock hours are those
of INSIGHTS_TIME_ZONE.
"""

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cdnorigin.models import CLASS_FIELDS, Domain, OriginSample, status_class_sums
from cdnorigin.periods import local_zone
from common.registry import DemoOptions
from common.rows import db_datetime, insert_rows


@dataclass(frozen=True)
class DomainProfile:
    name: str
    peak_pv: int  # requests per minute at the evening peak
    mean_bytes: int  # per request with a body
    status_shares: dict[int, float]  # share of requests per non-200 code


WEB = {206: 0.01, 304: 0.08, 404: 0.015, 499: 0.004, 502: 0.0015, 504: 0.0008}
DOMAINS = (
    DomainProfile("www.example.com", 2400, 38_000, WEB),
    DomainProfile("static.example.com", 5200, 95_000, {**WEB, 304: 0.18, 404: 0.004}),
    DomainProfile("img.example.cn", 3100, 64_000, {**WEB, 304: 0.12}),
    DomainProfile("api.example.com", 1800, 1_800, {404: 0.02, 499: 0.01, 502: 0.003, 504: 0.002}),
    DomainProfile("download.example.net", 90, 6_000_000, {206: 0.35, 304: 0.02, 404: 0.01, 499: 0.02, 504: 0.001}),
)
INCIDENT_CODES = (502, 504)


def daily_shape(local_hour: float) -> float:
    """Relative traffic by local clock time: trough around 04:30, lunch bump, peak around 21:00."""

    def bump(centre: float, width: float) -> float:
        distance = min(abs(local_hour - centre), 24 - abs(local_hour - centre))
        return math.exp(-0.5 * (distance / width) ** 2)

    return 0.1 + 0.35 * bump(10.5, 2.5) + 0.3 * bump(14.5, 3.0) + 0.9 * bump(21.0, 2.2)


def origin_samples(
    rng: random.Random, cdn_days: int, now: datetime
) -> Iterator[tuple[str, datetime, int, int, dict[int, int]]]:
    """(domain, minute, flux, pv, {code: count}) for every domain and every minute of the last
    `cdn_days` days, ending with the last complete minute before `now`."""
    end = now.astimezone(ZoneInfo("UTC")).replace(second=0, microsecond=0)
    minutes = cdn_days * 1440
    zone = local_zone()
    for profile in DOMAINS:
        incidents = incident_minutes(rng, minutes)
        level = 1.0
        for index in range(minutes):
            minute = end - timedelta(minutes=minutes - index)
            local = minute.astimezone(zone)
            weekend = 1.1 if local.weekday() >= 5 else 1.0
            level = 0.9 * level + 0.1 * rng.lognormvariate(0, 0.25)  # slow drift, no white-noise jitter
            expected = profile.peak_pv * daily_shape(local.hour + local.minute / 60) * weekend * level
            pv = max(0, int(rng.gauss(expected, math.sqrt(expected) + 1)))
            status = status_mix(rng, pv, profile.status_shares, incident=index in incidents)
            with_body = pv - status.get(304, 0)
            flux = int(with_body * profile.mean_bytes * rng.lognormvariate(0, 0.1))
            yield profile.name, minute, flux, pv, status


def incident_minutes(rng: random.Random, minutes: int) -> set[int]:
    """A few 10-30 minute windows where an upstream fails and 5xx codes jump."""
    result: set[int] = set()
    for _ in range(max(1, minutes // 1440 // 2)):
        start = rng.randrange(minutes)
        result.update(range(start, min(minutes, start + rng.randint(10, 30))))
    return result


def status_mix(rng: random.Random, pv: int, shares: dict[int, float], incident: bool) -> dict[int, int]:
    counts: dict[int, int] = {}
    remaining = pv
    for code, share in shares.items():
        if incident and code in INCIDENT_CODES:
            share *= 40
        expected = pv * share
        count = min(remaining, int(expected) + (rng.random() < expected - int(expected)))
        if count:
            counts[code] = count
            remaining -= count
    if remaining:
        counts[200] = remaining
    return dict(sorted(counts.items()))


def write_origin_samples(rng: random.Random, cdn_days: int, now: datetime) -> dict[str, int]:
    """Tens of thousands of minutes, each with its status counts: inserted without model instances."""
    domains = {profile.name: Domain.objects.create(name=profile.name) for profile in DOMAINS}
    totals = {"origin samples": 0, "status counts": 0}

    def sample_rows():
        for name, minute, flux, pv, status in origin_samples(rng, cdn_days, now):
            totals["origin samples"] += 1
            totals["status counts"] += len(status)
            codes = json.dumps({str(code): count for code, count in sorted(status.items())})
            yield domains[name].pk, db_datetime(minute), flux, pv, codes, *status_class_sums(status)

    insert_rows(OriginSample, ("domain", "minute", "flux", "pv", "status", *CLASS_FIELDS), sample_rows())
    return {"cdn domains": len(domains), **totals}


def has_data() -> bool:
    return Domain.objects.exists()


def demo_keys_present() -> list[str]:
    """The demo's own domain names already in the database (a second seeding would collide with them)."""
    return sorted(Domain.objects.filter(name__in=[d.name for d in DOMAINS]).values_list("name", flat=True))


def load(options: DemoOptions) -> dict[str, int]:
    """Origin samples of the last `options.cdn_days` days (nothing for 0); the caller holds the transaction."""
    if options.cdn_days <= 0:
        return {}
    return write_origin_samples(random.Random(f"{options.seed}:cdn"), options.cdn_days, options.now)
