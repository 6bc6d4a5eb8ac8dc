"""django-filter FilterSets of the `/api/v1/cdn/` resources."""

import re

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime

from cdnorigin.models import Domain

# In a query string an unencoded "+08:00" arrives as " 08:00"; put the sign back.
_SPACE_FOR_PLUS = re.compile(r" (\d{2}(?::?\d{2})?)$")


class AwareDateTimeField(forms.DateTimeField):
    """ISO 8601 with an explicit offset (or Z); a naive time is ambiguous, so it is refused (team rule)."""

    default_error_messages = {
        "invalid": "Enter an ISO 8601 date-time with an offset, e.g. 2024-05-01T00:00:00+08:00.",
        "naive": "The date-time must carry an offset (e.g. +08:00 or Z).",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = _SPACE_FOR_PLUS.sub(r"+\1", str(value).strip())
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed.tzinfo is None:
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        return parsed


class AwareDateTimeFilter(django_filters.Filter):
    field_class = AwareDateTimeField


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
