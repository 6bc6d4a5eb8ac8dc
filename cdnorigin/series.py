"""The per-resource sums an origin-data answer is built from, and how the database hands over epoch seconds."""

from dataclasses import dataclass, field
from operator import add

from django.core.exceptions import ImproperlyConfigured
from django.db.models import BigIntegerField, Func

# Rows fetched per round trip when streaming rollup or minute rows.
CHUNK = 20000


def in_scope(rows, field: str, scope: list[int] | None):
    """`rows` limited to the domain ids `scope` (None: every domain, no `IN (...)` list)."""
    return rows if scope is None else rows.filter(**{f"{field}__in": scope})


@dataclass
class Series:
    """Integer sums of one resource per period; peaks are the largest 5-minute sums (hour/day)."""

    flux: list[int]
    pv: list[int]
    peak_flux: list[int]
    peak_pv: list[int]
    status: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def zeros(cls, size: int) -> "Series":
        return cls([0] * size, [0] * size, [0] * size, [0] * size)

    def add_status(self, index: int, codes: dict, size: int) -> None:
        for code, count in codes.items():
            counts = self.status.get(int(code))
            if counts is None:
                counts = self.status[int(code)] = [0] * size
            counts[index] += count

    def add(self, other: "Series") -> None:
        """Add another resource's sums (peaks are not additive and are left alone)."""
        self.flux = list(map(add, self.flux, other.flux))
        self.pv = list(map(add, self.pv, other.pv))
        for code, counts in other.status.items():
            mine = self.status.get(code)
            self.status[code] = list(counts) if mine is None else list(map(add, mine, counts))


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
