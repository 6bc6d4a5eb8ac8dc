"""How large one DescribeCdnOriginData answer may be; checked by `plan` from a count of the codes stored
(before any row is read) and by `shape` from the series read (before any answer is built)."""

from cdnorigin.errors import invalid_parameter

MAX_POINTS_PER_ANSWER = 2_500_000
"""The most points one DescribeCdnOriginData answer may hold: its series (a metric of a resource, a
domain or `total`) times its periods. Past it the request is refused with 400 `InvalidParameter.Interval`.

status_2xx..5xx answer a series per status code counted, which nothing else bounds: status_5xx at 5min
over 31 days of 50 domains with 100 distinct 5xx codes each is 5,151 series x 8,929 periods = 46 M
points, 1.7 GB of JSON and 2 GB of worker memory. Every answer whose size the parameters alone fix
fits: the largest is status_all (its sum and the four class sums) at 5min over 31 days of 50 domains
and `total`, 5 x 51 x 8,929 = 2,276,895 points (some 90 MB of JSON at ~40 bytes a point; 2,000,000
would refuse it, and the staff page can ask for it); the benchmark's status_all (1min, a day, 50
domains and `total`) holds 367,200. So only per-code answers are ever refused: status_5xx at 5min over
31 days still fits 50 domains of four codes each, at hour some 60 codes each.
"""


def check_answer_size(series: int, periods: int) -> None:
    """400 `InvalidParameter.Interval` for an answer of more than MAX_POINTS_PER_ANSWER points."""
    points = series * periods
    if points > MAX_POINTS_PER_ANSWER:
        raise invalid_parameter(
            "Interval",
            f"the answer would hold {points} points ({series} series x {periods} periods), more than the "
            f"{MAX_POINTS_PER_ANSWER} points one answer may hold; ask for a coarser Interval, a shorter time "
            "range or fewer domains (or Aggregate=aggregate for the total alone)",
        )
