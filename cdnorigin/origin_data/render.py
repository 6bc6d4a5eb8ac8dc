"""Step 6: the answer's `Resources`, each metric's `Values` rendered without a dict per point.

A 1-minute day of 50 domains and `total` has 367 k points: building a {"Timestamp", "Value"} dict for
each and having orjson walk them cost more than reading the data. Here the points stay two lists
(the answer's period starts and one float per period). For the API, `to_json` renders them as
pre-serialised JSON (`orjson.Fragment`): orjson writes the floats in one call, and they are put into a
template of the answer's timestamps built once per answer, so the bytes are those orjson writes for
the dicts. Sums of integers (bytes, requests, status counts) skip the floats altogether: written with
`%d.0` from the integers, which is what orjson writes for each as a float while it is exact (|n| <=
2**53). Python callers (the CDN page, tests) read the same object as the list of point dicts.
"""

from collections.abc import Iterator, Sequence

import orjson

from cdnorigin.origin_data.plan import Plan
from cdnorigin.origin_data.shape import Resource
from cdnorigin.params import RATES


def render(plan: Plan, resources: list[Resource]) -> dict:
    """The `Result` of DescribeCdnOriginData: rates as floats, every other metric as its integer sums,
    all on one timeline of the period starts (one JSON template shared by every metric)."""
    timeline = Timeline(plan.periods.starts)
    points = Points if plan.query.metric in RATES else Points.of_counts
    return {
        "Resources": [
            {"Name": name, "Metrics": [{"Metric": m, "Values": points(timeline, values)} for m, values in metrics]}
            for name, metrics in resources
        ]
    }


class Timeline:
    """The period starts of one answer, with its JSON template built on first use and shared by every
    metric of the answer: `[{"Timestamp":<start>,"Value":%b},...]`, a `%b` per point."""

    __slots__ = ("_count_template", "_template", "starts")

    def __init__(self, starts: Sequence[int]):
        self.starts = starts
        self._template: bytes | None = None
        self._count_template: bytes | None = None

    @property
    def template(self) -> bytes:
        if self._template is None:
            self._template = self._points(b'{"Timestamp":%d,"Value":%%b}')
        return self._template

    @property
    def count_template(self) -> bytes:
        """The same with a `%d.0` per point: an exact integer's JSON as a float."""
        if self._count_template is None:
            self._count_template = self._points(b'{"Timestamp":%d,"Value":%%d.0}')
        return self._count_template

    def _points(self, point: bytes) -> bytes:
        return b"[" + b",".join(point % start for start in self.starts) + b"]"


# The largest magnitude up to which every integer is a float exactly (and orjson writes it as `n.0`).
EXACT = 2**53


class Points(Sequence):
    """One metric's points: `values[i]` (a float, as the API answers) is the value of the period
    starting at `timeline.starts[i]`. Reads as a list of {"Timestamp", "Value"} dicts."""

    __slots__ = ("_counts", "_values", "timeline")

    def __init__(self, timeline: Timeline, values: list[float]):
        if len(values) != len(timeline.starts):
            raise ValueError(f"{len(values)} values for {len(timeline.starts)} periods")
        self.timeline = timeline
        self._values: list[float] | None = values
        self._counts: list[int] | None = None

    @classmethod
    def of_counts(cls, timeline: Timeline, counts: list[int]) -> "Points":
        """Integer sums, answered as floats: kept as integers, turned into floats only when read."""
        points = cls(timeline, counts)
        points._values, points._counts = None, counts
        return points

    @property
    def values(self) -> list[float]:
        if self._values is None:
            self._values = list(map(float, self._counts))
        return self._values

    @property
    def timestamps(self) -> Sequence[int]:
        return self.timeline.starts

    def __len__(self) -> int:
        return len(self.timeline.starts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        return {"Timestamp": self.timeline.starts[index], "Value": self.values[index]}

    def __iter__(self) -> Iterator[dict]:
        for start, value in zip(self.timeline.starts, self.values, strict=True):
            yield {"Timestamp": start, "Value": value}

    def __eq__(self, other) -> bool:
        if isinstance(other, Points):
            return list(self.timestamps) == list(other.timestamps) and self.values == other.values
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"Points({list(self)!r})"

    def json(self) -> bytes:
        """The JSON orjson writes for `list(self)`: the floats are orjson's own, split at their commas
        (a float's JSON holds none) and put into the template's `%b` placeholders in one C call; exact
        integers straight into `%d.0` placeholders."""
        if not self.timeline.starts:
            return b"[]"
        counts = self._counts
        if counts is not None and min(counts) >= -EXACT and max(counts) <= EXACT:
            return self.timeline.count_template % tuple(counts)
        return self.timeline.template % tuple(orjson.dumps(self.values)[1:-1].split(b","))


def to_json(obj) -> orjson.Fragment:
    """orjson's `default`: Points as their JSON; anything else is not serialisable, as without it."""
    if isinstance(obj, Points):
        return orjson.Fragment(obj.json())
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")
