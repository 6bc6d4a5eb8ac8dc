"""The operator's view of the insights tables, one module per kind of table.

Raw rows (catalogue, runs, jobs, rollbacks) may be corrected here; every write goes through the
model's own `save()`/`delete()`, so the signal handlers that keep the rollups current see it.
Derived tables (daily rollups, dirty buckets, test modules) are read-only: an edit would be
overwritten by the next recompute. Secrets (token hashes) are never rendered.

Importing the modules registers their ModelAdmins when Django's admin autodiscovery imports this package.
"""

from insights.admin import catalogue, derived, rollbacks, runs, sources

__all__ = ["catalogue", "derived", "rollbacks", "runs", "sources"]
