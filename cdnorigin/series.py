"""The per-resource sums an origin-data answer is built from, and how the database hands over epoch seconds."""

import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from operator import add

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import BigIntegerField, Func

from .errors import invalid_parameter
from .rollups import SLOT_STRUCT

# Rows fetched per round trip when streaming rollup or minute rows.
CHUNK = 20000
# The classes status_all answers a sum of, besides its sum over every code.
STATUS_CLASSES = (2, 3, 4, 5)

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


def binary_rows(sql: str, params: list) -> list[tuple]:
    """PostgreSQL: all rows of `sql` through a binary-format cursor of Django's connection (and so its
    transaction). psycopg decodes binary arrays in C, where the text format would have PostgreSQL write
    (and psycopg parse) every number as digits and every packed byte as hex."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def in_scope(rows, field: str, scope: list[int] | None):
    """`rows` limited to the domain ids `scope` (None: every domain, no `IN (...)` list)."""
    return rows if scope is None else rows.filter(**{f"{field}__in": scope})


@dataclass
class Series:
    """Integer sums of one resource per period; peaks are the largest 5-minute sums (hour/day).

    `status_total` is the sum over every status code, when the reader has it ready (1-minute
    status_all reads it from the 5-minute rows' minutes); None: `statuses()` adds up `status`.
    """

    flux: list[int]
    pv: list[int]
    peak_flux: list[int]
    peak_pv: list[int]
    status: dict[int, list[int]] = field(default_factory=dict)
    status_total: list[int] | None = None

    @classmethod
    def zeros(cls, size: int) -> "Series":
        return cls([0] * size, [0] * size, [0] * size, [0] * size)

    def add_status(self, index: int, codes: dict, size: int) -> None:
        for code, count in codes.items():
            counts = self.status.get(int(code))
            if counts is None:
                counts = self.status[int(code)] = [0] * size
            counts[index] += count

    @classmethod
    def total(cls, resources: list["Series"], size: int) -> "Series":
        """The sums of `resources` period by period; peaks are not additive and are left at zero.

        Each list is summed over all resources in one pass (`map(sum, zip(...))`, C loops): about
        three times faster than adding the resources one at a time.
        """
        codes = sorted({code for series in resources for code in series.status})
        with_total = any(series.status_total is not None for series in resources)
        return cls(
            column_sums([series.flux for series in resources], size),
            column_sums([series.pv for series in resources], size),
            [0] * size,
            [0] * size,
            {
                code: column_sums([series.status[code] for series in resources if code in series.status], size)
                for code in codes
            },
            column_sums([series.statuses(size) for series in resources], size) if with_total else None,
        )

    def statuses(self, size: int) -> list[int]:
        """Responses of every status code per period."""
        if self.status_total is not None:
            return self.status_total
        return column_sums(list(self.status.values()), size)


def answered_codes(series: Series, klass: int) -> list[int]:
    """The codes of status class `klass` (5: 5xx) a status_<klass>xx answer of `series` gives a series
    of their own: those counted in some period."""
    return sorted(code for code, counts in series.status.items() if code // 100 == klass and any(counts))


def answer_series(metric: str, domains: Collection[Series], per_domain: bool, total: bool) -> int:
    """How many series an answer of `metric` holds, counted from the series read, before any is built:
    a resource per domain of `domains` (with `per_domain`) and `total` (with `total`), each with one
    series (flux, pv, bandwidth, qps), five (status_all) or the class sum and one per answered code
    (status_2xx..5xx). `total` answers the codes of every domain: counts are never negative, so a code
    counted for a domain is counted in their sum."""
    resources = len(domains) * per_domain + total
    if metric == "status_all":
        return resources * (1 + len(STATUS_CLASSES))
    if not metric.startswith("status_"):
        return resources
    codes = [answered_codes(series, int(metric[len("status_")])) for series in domains]
    per_code = sum(map(len, codes)) if per_domain else 0
    return resources + per_code + (len(set().union(*codes)) if total else 0)


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


def column_sums(lists: list, size: int) -> list[int]:
    """Element-wise sums of equally long lists (zeros for none)."""
    if len(lists) == 1:
        return list(lists[0])
    return list(map(sum, zip(*lists, strict=True))) if lists else [0] * size


# Bytes of one hour row's packed 5-minute values.
SLOT_BYTES = SLOT_STRUCT.size


@dataclass(frozen=True)
class Slots:
    """One domain's hour rows for the `total` peaks: the starts of the rows carrying packed 5-minute
    values, those values concatenated in that order, and the starts of rows that carry none (rolled
    before the values existed)."""

    starts: list[int]
    packed: bytes
    unfilled: list[int]

    @classmethod
    def of_rows(cls, rows: list[tuple[int, bytes]]) -> "Slots":
        """From (start, packed) rows ordered by start."""
        filled = [(start, bytes(packed)) for start, packed in rows if len(packed) == SLOT_BYTES]
        unfilled = [start for start, packed in rows if len(packed) != SLOT_BYTES]
        return cls([start for start, _ in filled], b"".join(packed for _, packed in filled), unfilled)

    @classmethod
    def of_arrays(cls, starts: list[int], unfilled: list[int] | None, packed: bytes | None, keep=None) -> "Slots":
        """From the arrays of `selectors._rollup_arrays`: every row's start, the starts of rows without
        values (None: none) and the others' values concatenated in the order of `starts`; rows not
        starting at a start in `keep` (a set or dict; None: all) are left out."""
        packed = packed or b""
        filled = starts
        if unfilled:
            missing = set(unfilled)
            filled = [start for start in starts if start not in missing]
        if keep is not None:
            pieces = [(start, packed[n * SLOT_BYTES : (n + 1) * SLOT_BYTES]) for n, start in enumerate(filled)]
            pieces = [(start, piece) for start, piece in pieces if start in keep]
            filled, packed = [start for start, _ in pieces], b"".join(piece for _, piece in pieces)
            unfilled = [start for start in unfilled or () if start in keep]
        return cls(filled, packed, sorted(unfilled or ()))


EMPTY_SLOTS = Slots([], b"", [])


def slot_sums(buffers: list[bytes], count: int) -> tuple[int, ...] | list[int]:
    """Slot-wise sums of buffers each holding `count` little-endian int8 values.

    Each buffer is read as one Python integer, so adding them adds every 64-bit lane at once: for 50
    buffers of 31 days x 24 hours about 13 times faster than adding unpacked values (measured side by
    side). That is exact while no lane sum reaches 2**64 and spills into the next lane: guaranteed when
    every value is non-negative and below 2**64 / len(buffers), which one mask per buffer checks;
    otherwise the values are added one by one.
    """
    if not buffers:
        return [0] * count
    bits = 64 - len(buffers).bit_length()
    lane_mask = ((1 << 64) - 1) ^ ((1 << bits) - 1)
    mask = int.from_bytes(lane_mask.to_bytes(8, "little") * count, "little")
    total = 0
    for buffer in buffers:
        number = int.from_bytes(buffer, "little")
        if number & mask:
            return _slot_sums_one_by_one(buffers, count)
        total += number
    return struct.unpack(f"<{count}Q", total.to_bytes(count * 8, "little"))


def _slot_sums_one_by_one(buffers: list[bytes], count: int) -> list[int]:
    layout = struct.Struct(f"<{count}q")
    sums = [0] * count
    for buffer in buffers:
        sums = list(map(add, sums, layout.unpack(buffer)))
    return sums


class EpochSeconds(Func):
    """Unix seconds of a datetime column, computed by the database: parsing a Python datetime per row
    would cost more than the rest of an answer."""

    output_field = BigIntegerField()

    def get_db_converters(self, connection):
        return []  # both databases already answer a Python int

    def as_sql(self, compiler, connection, **extra):
        raise ImproperlyConfigured(f"origin statistics support SQLite and PostgreSQL, not {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint")

    def as_sqlite(self, compiler, connection, **extra):
        # '%%%%s' survives both the template and the backend's placeholder rewriting as strftime's '%s'.
        return super().as_sql(compiler, connection, template="CAST(STRFTIME('%%%%s', %(expressions)s) AS INTEGER)")
