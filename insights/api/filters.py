"""django-filter FilterSets of the `/api/v1/` catalogue resources.

Conventions (after NetBox): a field's own name filters it exactly and may be repeated
(`?name=a&name=b` means either); a foreign key filters by the target's natural key
(`?project=<key>`, `?cluster=<name>`); time ranges use `__gte/__gt/__lte/__lt` suffixes.
Unknown keys simply match nothing; malformed values (a naive date-time, a bad choice) are a 400.
"""

from datetime import UTC, datetime

import django_filters as filters
from django import forms

from common.api.filters import MAX_UNIX_SECONDS, AwareDateTimeFilter
from insights.models import Artifact, Cluster, Environment, Project, Rollback, Service, Workflow


class MultiValueCharField(forms.MultipleChoiceField):
    """Any number of repeated values, none of them checked against a list of choices."""

    def valid_value(self, value):
        return True

    def to_python(self, value):
        values = super().to_python(value)
        # PostgreSQL cannot compare text with NUL in it; refuse it here rather than fail there.
        if any("\x00" in item for item in values):
            raise forms.ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
        return values


class MultiValueIntegerField(MultiValueCharField):
    def to_python(self, value):
        try:
            return [int(item) for item in super().to_python(value)]
        except ValueError:
            raise forms.ValidationError("Enter whole numbers.", code="invalid") from None


class MultiValueCharFilter(filters.MultipleChoiceFilter):
    field_class = MultiValueCharField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class MultiValueIntegerFilter(MultiValueCharFilter):
    field_class = MultiValueIntegerField


class MultiValueChoiceFilter(filters.MultipleChoiceFilter):
    """Repeated values, each one of `choices` (a bad choice is a 400, not an empty answer)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class StrictBooleanFilter(filters.TypedChoiceFilter):
    """`true`/`false` (or `1`/`0`); anything else is a 400 rather than silently ignored."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(v, v) for v in ("true", "false", "1", "0")])
        kwargs.setdefault("coerce", lambda value: value in ("true", "1"))
        super().__init__(*args, **kwargs)


class UnixSecondsFilter(filters.Filter):
    """A bound given in Unix seconds (as rollback records carry their times), compared as an instant."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_UNIX_SECONDS)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        return super().filter(qs, datetime.fromtimestamp(value, UTC))


class CatalogueFilterSet(filters.FilterSet):
    """Every resource: `?id=`, `?name=`, `?created_at__gte=` ... (ISO 8601 with offset)."""

    id = MultiValueIntegerFilter()
    name = MultiValueCharFilter()
    created_at__gte = AwareDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at__gt = AwareDateTimeFilter(field_name="created_at", lookup_expr="gt")
    created_at__lte = AwareDateTimeFilter(field_name="created_at", lookup_expr="lte")
    created_at__lt = AwareDateTimeFilter(field_name="created_at", lookup_expr="lt")


class ProjectScopedFilterSet(CatalogueFilterSet):
    project = MultiValueCharFilter(field_name="project__key", label="project key")


class ProjectFilterSet(CatalogueFilterSet):
    key = MultiValueCharFilter()

    class Meta:
        model = Project
        fields = []


class ClusterFilterSet(CatalogueFilterSet):
    class Meta:
        model = Cluster
        fields = []


class EnvironmentFilterSet(ProjectScopedFilterSet):
    production = StrictBooleanFilter()
    cluster = MultiValueCharFilter(field_name="cluster__name", label="cluster name")
    cluster__isnull = StrictBooleanFilter(field_name="cluster", lookup_expr="isnull")

    class Meta:
        model = Environment
        fields = []


class ServiceFilterSet(ProjectScopedFilterSet):
    service_type = MultiValueChoiceFilter(choices=Service.Type.choices)

    class Meta:
        model = Service
        fields = []


class WorkflowFilterSet(ProjectScopedFilterSet):
    class Meta:
        model = Workflow
        fields = []


class ArtifactFilterSet(ProjectScopedFilterSet):
    type = MultiValueChoiceFilter(choices=Artifact.Type.choices)
    uri = MultiValueCharFilter()

    class Meta:
        model = Artifact
        fields = []


class RollbackFilterSet(filters.FilterSet):
    """Named as the record's fields: `?project_key=&env_name=&service_name=&create_time__gte=<unix s>` ..."""

    id = MultiValueIntegerFilter()
    project_key = MultiValueCharFilter(field_name="project__key")
    env_name = MultiValueCharFilter()
    env_type = MultiValueCharFilter()
    production = StrictBooleanFilter()
    operation_type = MultiValueCharFilter()
    service_name = MultiValueCharFilter()
    service_type = MultiValueCharFilter()
    create_by_uid = MultiValueCharFilter()
    create_by_account = MultiValueCharFilter()
    create_by_name = MultiValueCharFilter()
    create_by_identity_type = MultiValueCharFilter()
    create_time__gte = UnixSecondsFilter(field_name="create_time", lookup_expr="gte")
    create_time__gt = UnixSecondsFilter(field_name="create_time", lookup_expr="gt")
    create_time__lte = UnixSecondsFilter(field_name="create_time", lookup_expr="lte")
    create_time__lt = UnixSecondsFilter(field_name="create_time", lookup_expr="lt")

    class Meta:
        model = Rollback
        fields = []
