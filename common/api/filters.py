"""Filter fields both apps' FilterSets use: an ISO 8601 instant that must carry its offset."""

import re
from datetime import UTC

import django_filters as filters
from django import forms

from common.api.instants import parse_iso_datetime

# In a query string an unencoded "+08:00" arrives as " 08:00"; put the sign back.
_SPACE_FOR_PLUS = re.compile(r" (\d{2}(?::?\d{2})?)$")

# The largest Unix second a datetime can hold (9999-12-31T23:59:59Z).
MAX_UNIX_SECONDS = 253_402_300_799


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
        parsed = parse_iso_datetime(text)
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed.tzinfo is None:
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        try:
            # As UTC: PostgreSQL refuses offsets beyond +-15:59, which ISO 8601 (and Python) allow.
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class AwareDateTimeFilter(filters.Filter):
    field_class = AwareDateTimeField
