"""django-filter FilterSets of the `/api/v1/cdn/` resources."""

import django_filters

from cdnorigin.models import Domain
from common.api.filters import AwareDateTimeFilter


class LowercaseCharFilter(django_filters.CharFilter):
    """Domain names are stored lowercase; lowering the value keeps the comparison on the index."""

    def filter(self, qs, value):
        return super().filter(qs, value.strip().lower() if value else value)


class DomainFilter(django_filters.FilterSet):
    """`?name=` (exact), `?name__contains=` (substring), `?created_at__gte/gt/lte/lt=` (ISO 8601 with
    offset). Both name filters ignore case."""

    name = LowercaseCharFilter(field_name="name", lookup_expr="exact")
    name__contains = LowercaseCharFilter(field_name="name", lookup_expr="contains")
    created_at__gte = AwareDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at__gt = AwareDateTimeFilter(field_name="created_at", lookup_expr="gt")
    created_at__lte = AwareDateTimeFilter(field_name="created_at", lookup_expr="lte")
    created_at__lt = AwareDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Domain
        fields = []
