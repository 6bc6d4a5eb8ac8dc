"""The bands of the 2024 State of DevOps levels (a figure on a bound gets the better level), and the buckets."""

from datetime import date

import pytest

from insights.dora.buckets import bucket_days, p90
from insights.dora.levels import level

DAY = 86400


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("deployment_frequency", 1.0, "elite"),
        ("deployment_frequency", 0.99, "high"),
        ("deployment_frequency", 1 / 7, "high"),
        ("deployment_frequency", 1 / 30, "medium"),
        ("deployment_frequency", 0.0, "low"),
        ("lead_time_for_changes", DAY - 1, "elite"),
        ("lead_time_for_changes", DAY, "high"),
        ("lead_time_for_changes", 7 * DAY, "high"),
        ("lead_time_for_changes", 30 * DAY, "medium"),
        ("lead_time_for_changes", 30 * DAY + 1, "low"),
        ("change_failure_rate", 0.05, "elite"),
        ("change_failure_rate", 0.2, "high"),
        ("change_failure_rate", 0.39, "medium"),
        ("change_failure_rate", 0.4, "low"),
        ("time_to_restore_service", 3599, "elite"),
        ("time_to_restore_service", 3600, "high"),
        ("time_to_restore_service", DAY, "medium"),
        ("time_to_restore_service", 7 * DAY, "low"),
        ("rework_rate", 0.0, None),
        ("change_failure_rate", None, None),
    ],
)
def test_levels(metric, value, expected):
    assert level(metric, value) == expected


def test_buckets_are_clipped_to_the_range():
    assert bucket_days(date(2024, 12, 30), date(2025, 2, 3), "monthly") == [
        date(2024, 12, 30), date(2025, 1, 1), date(2025, 2, 1),
    ]  # fmt: skip
    assert bucket_days(date(2024, 12, 28), date(2025, 1, 6), "weekly") == [
        date(2024, 12, 28), date(2024, 12, 30), date(2025, 1, 6),
    ]  # fmt: skip
    assert bucket_days(date(2024, 1, 1), date(2024, 1, 1), "all") == [date(2024, 1, 1)]


def test_p90_is_the_nearest_rank():
    assert p90([]) is None
    assert p90([5.0]) == 5.0
    assert p90([float(n) for n in range(1, 11)]) == 9.0
    assert p90([float(n) for n in range(1, 12)]) == 10.0
