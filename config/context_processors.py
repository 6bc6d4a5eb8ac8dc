"""Template context for the operators' pages (the admin index)."""

from config.health import failing_buckets, rollup_lag
from insights.sources.selectors import source_panel


def operations(request) -> dict:
    """Panels' data as callables: templates call them, so only a page that shows them pays for the queries."""
    return {"rollup_lag": rollup_lag, "rollup_failures": failing_buckets, "source_panel": source_panel}
