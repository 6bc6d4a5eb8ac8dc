"""`{% admin_overview as overview %}`: the admin index's stored-data panel, gathered from every app's
registered overview (`common.registry`), with the raw tables' row counts (estimated for big tables on
PostgreSQL) and whether any raw table is still empty (for the hint)."""

from django import template

from common import registry

register = template.Library()


@register.simple_tag
def admin_overview() -> dict:
    parts = registry.overviews()
    raw_tables = [table for part in parts for table in part.raw_tables]
    return {
        "rows": [(row.label, row.count, row.url) for part in parts for row in part.rows],
        "raw_tables": raw_tables,
        "any_empty": any(table.count == 0 for table in raw_tables),
    }
