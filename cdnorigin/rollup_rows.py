"""The shape of an OriginRollup row as the recompute writes it: its columns, the packing of an hour row's
twelve 5-minute values, and the row dict both the raw sums and the levels above them build."""

import struct
from datetime import UTC, datetime

from cdnorigin.models import Interval

FIVE, HOUR, DAY = Interval.FIVE_MINUTES.value, Interval.HOUR.value, Interval.DAY.value


INSERT_COLUMNS = (
    "domain_id",
    "interval",
    "start",
    "flux",
    "pv",
    "peak_flux_5m",
    "peak_pv_5m",
    "five_minute_flux",
    "five_minute_pv",
    "minutes",
    "status",
)


ROLLUP_FIELDS = ("domain_id", "start", "flux", "pv", "peak_flux_5m", "peak_pv_5m", "status")


END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


# 5-minute buckets per hour: every zone's offset is a multiple of 15 minutes, so each local hour
# starts on a 5-minute boundary and holds exactly twelve.
SLOTS = 12


SLOT_STRUCT = struct.Struct(f"<{SLOTS}q")


NO_SLOTS = b""


def pack_slots(values) -> bytes:
    """Twelve 5-minute values (index 0 = the hour's first 5 minutes) as little-endian int8."""
    return SLOT_STRUCT.pack(*values)


def unpack_slots(packed) -> tuple[int, ...]:
    return SLOT_STRUCT.unpack(packed)


def unix(dt: datetime) -> int:
    return int(dt.timestamp())


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def rollup_row(
    domain_id: int,
    interval: str,
    start: int,
    flux: int,
    pv: int,
    peak_flux: int,
    peak_pv: int,
    status,
    slots_flux: bytes = NO_SLOTS,
    slots_pv: bytes = NO_SLOTS,
    minutes: bytes = NO_SLOTS,
) -> dict:
    codes = {str(code): int(count) for code, count in sorted(status.items(), key=lambda item: int(item[0])) if count}
    return {
        "domain_id": domain_id,
        "interval": interval,
        "start": utc(start),
        "flux": int(flux),
        "pv": int(pv),
        "peak_flux_5m": int(peak_flux),
        "peak_pv_5m": int(peak_pv),
        "status": codes,
        "five_minute_flux": slots_flux,
        "five_minute_pv": slots_pv,
        "minutes": minutes,
    }
