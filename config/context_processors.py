"""Template context for the operators' pages (the admin index)."""

from config.health import rollup_lag


def operations(request) -> dict:
    """`rollup_lag` as a callable: templates call it, so only a page that shows it pays for its queries."""
    return {"rollup_lag": rollup_lag}
