"""Every concrete field of every `/api/v1/` resource can be filtered on (after NetBox's
`BaseFilterSetTests.test_missing_filters`): a new model field without a filter fails here."""

import pytest
from django.db import models

from insights.api import filters
from insights.models import Artifact, Cluster, Environment, Project, Rollback, Service, Workflow

FILTERSETS = [
    (Project, filters.ProjectFilterSet),
    (Cluster, filters.ClusterFilterSet),
    (Environment, filters.EnvironmentFilterSet),
    (Service, filters.ServiceFilterSet),
    (Workflow, filters.WorkflowFilterSet),
    (Artifact, filters.ArtifactFilterSet),
    (Rollback, filters.RollbackFilterSet),
]

# Fields filtered under another name, with the reason.
RENAMED = {
    # The rollback record calls its project `project_key` (the seed's field name).
    (Rollback, "project"): "project_key",
}

# Fields deliberately without a filter, with the reason. (None today.)
EXEMPT: dict[tuple[type[models.Model], str], str] = {}

TIME_FIELDS = (models.DateTimeField, models.DateField)


def expected_filter_names(model, field) -> list[str]:
    name = RENAMED.get((model, field.name), field.name)
    if isinstance(field, TIME_FIELDS):
        return [f"{name}__{lookup}" for lookup in ("gte", "gt", "lte", "lt")]
    return [name]


@pytest.mark.parametrize(("model", "filterset"), FILTERSETS, ids=lambda value: getattr(value, "__name__", value))
def test_every_concrete_field_has_a_filter(model, filterset):
    missing = [
        name
        for field in model._meta.concrete_fields
        if (model, field.name) not in EXEMPT
        for name in expected_filter_names(model, field)
        if name not in filterset.base_filters
    ]
    assert missing == [], f"{filterset.__name__} lacks filters {missing}"


@pytest.mark.parametrize(("model", "filterset"), FILTERSETS, ids=lambda value: getattr(value, "__name__", value))
def test_every_filter_names_a_real_field(model, filterset):
    """A filter left behind by a renamed field would silently match everything."""
    for name, declared in filterset.base_filters.items():
        path = declared.field_name.split("__")
        target = model
        for step in path:
            field = target._meta.get_field(step)
            target = field.related_model or target
        assert field is not None, name


@pytest.mark.parametrize(("model", "filterset"), FILTERSETS, ids=lambda value: getattr(value, "__name__", value))
def test_foreign_keys_filter_by_natural_key(model, filterset):
    for field in model._meta.concrete_fields:
        if field.is_relation and (model, field.name) not in EXEMPT:
            declared = filterset.base_filters[RENAMED.get((model, field.name), field.name)]
            assert declared.field_name in (f"{field.name}__key", f"{field.name}__name")
