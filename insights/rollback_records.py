"""Reads behind Zadig's rollback detail (`/openapi/statistics/v2/rollback/detail`): rollback records
with their before/after service snapshots, filtered and paged, as Zadig shapes them."""

from datetime import UTC, datetime, timedelta

from django.db.models import Q

from insights.models import Rollback, ServiceSnapshot

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def unix_seconds(moment: datetime | None) -> int:
    """Whole Unix seconds (floored); an unknown time is 0."""
    if moment is None:
        return 0
    return (moment - EPOCH) // timedelta(seconds=1)


def containers_of(raw) -> list[dict]:
    items = raw if isinstance(raw, list) else []
    return [
        {key: str(item.get(key) or "") for key in ("name", "type", "image", "image_name")}
        for item in items
        if isinstance(item, dict)
    ]


SNAPSHOT_FIELDS = ("service_name", "release_name", "containers", "rendered_yaml", "values_yaml", "override_values")


ROLLBACK_FIELDS = (
    "id",
    "project__key",
    "env_name",
    "env_type",
    "production",
    "operation_type",
    "service_name",
    "service_type",
    "create_by_uid",
    "create_by_account",
    "create_by_name",
    "create_by_identity_type",
    "create_time",
)


def _snapshot(snapshot: dict | None) -> dict:
    if snapshot is None:
        snapshot = {field: ServiceSnapshot._meta.get_field(field).get_default() for field in SNAPSHOT_FIELDS}
        snapshot["update_time"] = None
    return {
        "service_name": snapshot["service_name"],
        "release_name": snapshot["release_name"],
        "containers": containers_of(snapshot["containers"]),
        "rendered_yaml": snapshot["rendered_yaml"],
        "values_yaml": snapshot["values_yaml"],
        "override_values": snapshot["override_values"],
        "update_time": unix_seconds(snapshot["update_time"]),
    }


def _rollback_record(rollback: dict, roles: dict[str, dict]) -> dict:
    return {
        "project_key": rollback["project__key"],
        "env_name": rollback["env_name"],
        "env_type": rollback["env_type"],
        "production": rollback["production"],
        "operation_type": rollback["operation_type"],
        "service_name": rollback["service_name"],
        "service_type": rollback["service_type"],
        "origin_service": _snapshot(roles.get(ServiceSnapshot.Role.ORIGIN)),
        "update_service": _snapshot(roles.get(ServiceSnapshot.Role.UPDATE)),
        "create_by": {
            "uid": rollback["create_by_uid"],
            "account": rollback["create_by_account"],
            "name": rollback["create_by_name"],
            "identity_type": rollback["create_by_identity_type"],
        },
        "create_time": unix_seconds(rollback["create_time"]),
    }


def rollback_detail(
    *,
    project_key: str | None,
    env_name: str | None,
    service_name: str | None,
    start: datetime,
    end: datetime,
    page_num: int,
    page_size: int,
) -> dict:
    """Rollbacks with `start <= create_time < end`, newest first (ties: newest insert first), one page.

    Read as plain dicts (`values`), not model instances: a page of 100 rollbacks and 200 snapshots
    costs about half as much that way.
    """
    filters = Q(create_time__gte=start, create_time__lt=end)
    if project_key is not None:
        filters &= Q(project__key=project_key)
    if env_name is not None:
        filters &= Q(env_name=env_name)
    if service_name is not None:
        filters &= Q(service_name=service_name)
    matches = Rollback.objects.filter(filters)
    total = matches.count()
    offset = (page_num - 1) * page_size
    if offset >= total:
        return {"total": total, "data": []}
    page = list(matches.order_by("-create_time", "-id").values(*ROLLBACK_FIELDS)[offset : offset + page_size])
    roles: dict[int, dict[str, dict]] = {rollback["id"]: {} for rollback in page}
    snapshots = ServiceSnapshot.objects.filter(rollback_id__in=list(roles)).order_by("rollback_id", "role")
    for snapshot in snapshots.values("rollback_id", "role", "update_time", *SNAPSHOT_FIELDS):
        roles[snapshot["rollback_id"]][snapshot["role"]] = snapshot
    return {"total": total, "data": [_rollback_record(rollback, roles[rollback["id"]]) for rollback in page]}
