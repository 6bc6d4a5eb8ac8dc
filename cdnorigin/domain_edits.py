"""Renaming and deleting a CDN domain for API clients.

A delete removes the domain's minute rows and rollups with one statement each: the ORM's cascade would
load every sample to send its signals (a month of one domain is 44,640 rows), and no signal is needed
since nothing derived from the domain survives it. Its dirty marks go too; grants cascade.
"""

from django.db import connection, transaction

from cdnorigin.models import DirtyOriginBucket, Domain, OriginRollup, OriginSample


@transaction.atomic
def delete_domain(domain: Domain) -> None:
    with connection.cursor() as cursor:
        for model in (OriginSample, OriginRollup):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE domain_id = %s", [domain.pk])
    DirtyOriginBucket.objects.filter(domain_pk=domain.pk).delete()
    domain.delete()


@transaction.atomic
def rename_domain(domain: Domain, name: str) -> Domain:
    """Give the domain a new name (already normalised); its history stays with it."""
    domain.name = name
    domain.save(update_fields=["name"])
    return domain
