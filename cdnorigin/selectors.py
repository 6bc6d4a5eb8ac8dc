"""DescribeCdnOriginData: origin statistics per domain and period (API.md section 4), in one pass down
the steps of `cdnorigin.origin_data`, each called once, in this order:

1. parse (`cdnorigin.params`): the validated query, or a 400 naming the parameter;
2. plan: the domains the caller may see, the periods, which rows answer them (minute blocks, minute
   codes, or the rollups of the interval) and which 5-minute buckets are dirty;
3. read: those rows as dense arrays per domain on the answer's grid (stale periods left at zero);
4. patch: the dirty buckets recomputed from raw minute rows, so no answer is ever stale;
5. shape: per-domain series, the `total` and its peaks, per-second rates, each metric's series;
6. render: the `Resources` with their points.
"""

from datetime import datetime

from django.utils import timezone

from cdnorigin.origin_data.patch import patch
from cdnorigin.origin_data.plan import make_plan
from cdnorigin.origin_data.read import read
from cdnorigin.origin_data.render import render
from cdnorigin.origin_data.shape import shape
from cdnorigin.params import parse_query


def describe_origin_data(params: dict, allowed_domains: set[str] | None, *, now: datetime | None = None) -> dict:
    """The `Result` of DescribeCdnOriginData for a caller who may see `allowed_domains` (None: all)."""
    plan = make_plan(parse_query(params, now or timezone.now()), allowed_domains)
    readings = read(plan)
    patch(plan, readings)
    return render(plan, shape(plan, readings))
