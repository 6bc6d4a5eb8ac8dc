"""How a 5-minute rollup row carries its five minutes (`OriginRollup.minutes`).

A 1-minute day of 50 domains is 72,000 minute rows: aggregating them into arrays took PostgreSQL
~40 ms, and re-ordering them in Python ~7 ms more (a re-posted row moves in the heap). So each
5-minute row also carries its minutes: per minute, in minute order, the seven values of
MINUTE_FIELDS as big-endian int8 (PostgreSQL's `int8send`, so it packs them without swapping
bytes), zeros for a minute without a sample: 280 bytes. The row is rolled from exactly those
minute rows in the same statement as its sums, so it is never staler than they are; a day is then
288 rows a domain, one byte string each, and a 1-minute series a strided slice of one unpack.

Written by `cdnorigin.rollups` (and `cdnorigin.rollup_sql`, which packs MINUTE_FIELDS in this order),
read by `cdnorigin.origin_data` (`read` lays the blocks out, `patch` rewrites dirty ones, `shape`
unpacks them).
"""

import struct
from collections.abc import Iterable

from cdnorigin.models import CLASS_FIELDS

# What a minute holds, in this order: flux, pv, every status code, then the 2xx..5xx class sums.
MINUTE_FIELDS = ("flux", "pv", "status_all", "status_2xx", "status_3xx", "status_4xx", "status_5xx")
# Each of them as SQL over a sample row's columns (what `minute_values` computes in Python).
MINUTE_SQL = {name: name for name in MINUTE_FIELDS} | {"status_all": " + ".join(CLASS_FIELDS)}
WIDTH = len(MINUTE_FIELDS)
MINUTES = 5  # a 5-minute bucket's
BLOCK = struct.Struct(f">{MINUTES * WIDTH}q")


def minute_values(flux: int, pv: int, classes: Iterable[int]) -> tuple[int, ...]:
    """One minute's seven values from a sample's flux, pv and its 1xx..5xx sums."""
    sums = tuple(classes)
    return (flux, pv, sum(sums), *sums[1:])


def pack_minutes(minutes: dict[int, tuple[int, ...]]) -> bytes:
    """A bucket's block from {minute offset 0..4: its seven values}; absent minutes are zeros."""
    cells = [0] * (MINUTES * WIDTH)
    for offset, values in minutes.items():
        cells[offset * WIDTH : (offset + 1) * WIDTH] = values
    return BLOCK.pack(*cells)
