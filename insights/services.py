"""Writes of the insights catalogue: keyed upserts and rollback records, each call one transaction.

Items arrive validated (foreign keys already resolved to model instances). Every function returns
`(row, created)` pairs in the order of the items, and writes a batch in a handful of statements
whatever its size, so a 10,000-item POST costs about as much as one.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import models, transaction

from insights.models import Artifact, Cluster, Environment, Project, Rollback, Service, ServiceSnapshot, Workflow

Written = list[tuple[models.Model, bool]]

# Rows per UPDATE ... CASE statement: PostgreSQL evaluates the CASE per row, so one giant
# statement over 10,000 rows costs quadratic time; a few hundred keeps it linear.
UPDATE_BATCH = 500


def _attvalue(value):
    return value.pk if isinstance(value, models.Model) else value


def _key_of(values: dict, key: tuple[str, ...]) -> tuple:
    return tuple(_attvalue(values[name]) for name in key)


@transaction.atomic
def upsert(model: type[models.Model], key: tuple[str, ...], items: list[dict]) -> Written:
    """Creates rows whose key is new; for known keys, sets the fields an item carries (the
    others keep their stored value). Rows whose values do not change are not written at all,
    so re-posting the same batch is a no-op. Keys must be distinct within `items`."""
    relations = [field.name for field in model._meta.concrete_fields if field.is_relation]
    existing_rows = model.objects.select_related(*relations).filter(
        **{f"{name}__in": {_attvalue(item[name]) for item in items} for name in key}
    )
    existing = {tuple(getattr(row, model._meta.get_field(name).attname) for name in key): row for row in existing_rows}
    written: Written = []
    to_create, to_update, changed_fields = [], [], set()
    for item in items:
        row = existing.get(_key_of(item, key))
        if row is None:
            row = model(**item)
            to_create.append(row)
            written.append((row, True))
            continue
        changes = {name: value for name, value in item.items() if name not in key and getattr(row, name) != value}
        for name, value in changes.items():
            setattr(row, name, value)
        if changes:
            to_update.append(row)
            changed_fields.update(changes)
        written.append((row, False))
    model.objects.bulk_create(to_create)
    if to_update:
        model.objects.bulk_update(to_update, sorted(changed_fields), batch_size=UPDATE_BATCH)
    return written


def upsert_projects(items: list[dict]) -> Written:
    return upsert(Project, ("key",), items)


def upsert_clusters(items: list[dict]) -> Written:
    return upsert(Cluster, ("name",), items)


def upsert_environments(items: list[dict]) -> Written:
    return upsert(Environment, ("project", "name"), items)


def upsert_services(items: list[dict]) -> Written:
    return upsert(Service, ("project", "name"), items)


def upsert_workflows(items: list[dict]) -> Written:
    return upsert(Workflow, ("project", "name"), items)


@transaction.atomic
def create_artifacts(items: list[dict]) -> Written:
    """Artifacts have no natural key: every item is a new row."""
    return [(row, True) for row in Artifact.objects.bulk_create([Artifact(**item) for item in items])]


def _snapshot(rollback: Rollback, role: str, values: dict) -> ServiceSnapshot:
    return ServiceSnapshot(rollback=rollback, role=role, **values)


@transaction.atomic
def create_rollbacks(items: Iterable[dict]) -> Written:
    """One Rollback row plus its `origin` and `update` ServiceSnapshot rows per record.

    An item is the record as validated: `project` (a Project), the flat fields, `create_time`
    (aware datetime), `create_by` {uid, account, name, identity_type}, and `origin_service` /
    `update_service` with the snapshot fields (`update_time` an aware datetime or None)."""
    items = list(items)
    rollbacks = Rollback.objects.bulk_create([_rollback_row(item) for item in items])
    snapshots = []
    for rollback, item in zip(rollbacks, items, strict=True):
        snapshots.append(_snapshot(rollback, ServiceSnapshot.Role.ORIGIN, item["origin_service"]))
        snapshots.append(_snapshot(rollback, ServiceSnapshot.Role.UPDATE, item["update_service"]))
    ServiceSnapshot.objects.bulk_create(snapshots)
    models.prefetch_related_objects(rollbacks, "snapshots")
    return [(rollback, True) for rollback in rollbacks]


@transaction.atomic
def update_rollback(rollback: Rollback, item: dict) -> Rollback:
    """Rewrite a rollback record and its two snapshots from a validated item (as `create_rollbacks` takes)."""
    fresh = _rollback_row(item)
    fresh.pk = rollback.pk
    fresh.save()
    rollback.snapshots.all().delete()
    ServiceSnapshot.objects.bulk_create(
        [
            _snapshot(fresh, ServiceSnapshot.Role.ORIGIN, item["origin_service"]),
            _snapshot(fresh, ServiceSnapshot.Role.UPDATE, item["update_service"]),
        ]
    )
    return fresh


def _rollback_row(item: dict) -> Rollback:
    create_by = item.get("create_by", {})
    create_time: datetime = item["create_time"]
    return Rollback(
        project=item["project"],
        env_name=item["env_name"],
        env_type=item.get("env_type", ""),
        production=item.get("production", False),
        operation_type=item.get("operation_type", ""),
        service_name=item["service_name"],
        service_type=item.get("service_type", ""),
        create_by_uid=create_by.get("uid", ""),
        create_by_account=create_by.get("account", ""),
        create_by_name=create_by.get("name", ""),
        create_by_identity_type=create_by.get("identity_type", ""),
        create_time=create_time,
    )
