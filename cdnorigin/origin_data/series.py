"""What the steps of an origin-data answer pass along: per-resource sums on the period grid (`Series`),
hour rows' packed 5-minute values (`Slots`), and the column arithmetic both need."""

import struct
from dataclasses import dataclass, field
from operator import add

from cdnorigin.rollup_rows import SLOT_STRUCT


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

    def add_status(self, index: int, codes: dict, size: int, key=int) -> None:
        """Add a period's counts by code; `key(code)` files a code under another key (None: drop it)."""
        for code, count in codes.items():
            filed = key(code)
            if filed is None:
                continue
            counts = self.status.get(filed)
            if counts is None:
                counts = self.status[filed] = [0] * size
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


def column_sums(lists: list, size: int) -> list[int]:
    """Element-wise sums of equally long lists (zeros for none)."""
    if len(lists) == 1:
        return list(lists[0])
    return list(map(sum, zip(*lists, strict=True))) if lists else [0] * size


# Bytes of one hour row's packed 5-minute values.
SLOT_BYTES = SLOT_STRUCT.size


@dataclass(frozen=True)
class Slots:
    """One domain's hour rows for the `total` peaks: their starts, and their packed 5-minute values
    (SLOT_BYTES each, `cdnorigin.rollup_rows.pack_slots`) concatenated in that order."""

    starts: list[int]
    packed: bytes

    def pieces(self) -> dict[int, bytes]:
        """Each row's packed values by its start."""
        return {start: self.packed[n * SLOT_BYTES : (n + 1) * SLOT_BYTES] for n, start in enumerate(self.starts)}


EMPTY_SLOTS = Slots([], b"")


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
