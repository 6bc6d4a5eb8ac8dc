"""DRF's field checks written as plain functions, with DRF's own error texts: what the by-hand
validators of posted runs (`run_items`) are built from. DRF's per-field machinery costs ~1.3 s per
1,000 runs of 5 jobs; these give the same values and the same error bodies in a few tens of ms.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import fields, serializers
from rest_framework.settings import api_settings

from common.api.instants import parse_iso_datetime
from insights.models import TIME_RANGE_MESSAGE, time_in_range

ABSENT = object()
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


MAX_POSITIVE_INT = 2_147_483_647


DATETIME_MESSAGES = {
    "invalid": "Enter an ISO 8601 date-time with an offset, e.g. 2022-08-01T10:00:00+08:00.",
    "naive": "The date-time must carry an offset (e.g. +08:00 or Z).",
    "range": TIME_RANGE_MESSAGE,
}


SURROGATE = "Not valid Unicode text (a lone UTF-16 surrogate such as \\ud800)."


UNKNOWN = "Unknown field."


class Invalid(Exception):
    """One field's (or item's) error detail, exactly as DRF would report it."""

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class BadDateTime(ValueError):
    """A refused date-time; `key` names its message in DATETIME_MESSAGES."""

    def __init__(self, key: str):
        super().__init__(DATETIME_MESSAGES[key])
        self.key = key


def drf_message(cls, key: str, **kwargs) -> str:
    # DRF's own (lazily translated) texts, so the bodies cannot drift from the serializer's.
    return str(cls.default_error_messages[key]).format(**kwargs)


def required():
    return Invalid([drf_message(fields.Field, "required")])


def null():
    return Invalid([drf_message(fields.Field, "null")])


def parse_aware_datetime(value) -> datetime:
    """ISO 8601 with an explicit offset (a naive time is ambiguous), as UTC: PostgreSQL refuses
    offsets beyond +-15:59, which ISO 8601 (and Python) allow."""
    if not isinstance(value, str):
        raise BadDateTime("invalid")
    parsed = parse_iso_datetime(value.strip())
    if parsed is None:
        raise BadDateTime("invalid")
    if parsed.tzinfo is None:
        raise BadDateTime("naive")
    if not time_in_range(parsed):
        raise BadDateTime("range")
    return parsed.astimezone(UTC)


def when(value, null_ok: bool):
    if value is None:
        if null_ok:
            return None
        raise null()
    try:
        return parse_aware_datetime(value)
    except BadDateTime as exc:
        raise Invalid([DATETIME_MESSAGES[exc.key]]) from None


def text(value, max_length: int, blank_ok: bool = False, null_ok: bool = False):
    """StrictCharField: a JSON string, trimmed; blank, length, NUL and lone surrogates refused."""
    if isinstance(value, str):
        if not value or value.isspace():
            if blank_ok:
                return ""
            raise Invalid([drf_message(fields.CharField, "blank")])
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Invalid([SURROGATE]) from None
        value = value.strip()
        if len(value) <= max_length and "\x00" not in value:
            return value
        errors = []
        if len(value) > max_length:
            errors.append(drf_message(fields.CharField, "max_length", max_length=max_length))
        if "\x00" in value:
            errors.append(str(ProhibitNullCharactersValidator.message))
        raise Invalid(errors)
    if value is None:
        if null_ok:
            return None
        raise null()
    raise Invalid([drf_message(fields.CharField, "invalid")])


def choice(value, choices: frozenset):
    """StrictChoiceField: one of the choice strings."""
    if isinstance(value, str):
        if value in choices:
            return value
    elif value is None:
        raise null()
    raise Invalid([drf_message(fields.ChoiceField, "invalid_choice", input=value)])


def count(value):
    """StrictIntegerField(min 0, max MAX_POSITIVE_INT, null allowed): a JSON integer only."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid([drf_message(fields.IntegerField, "invalid")])
    if value > MAX_POSITIVE_INT:
        raise Invalid([drf_message(fields.IntegerField, "max_value", max_value=MAX_POSITIVE_INT)])
    if value < 0:
        raise Invalid([drf_message(fields.IntegerField, "min_value", min_value=0)])
    return value


def not_a_dict(data) -> Invalid:
    if data is None:
        return null()
    message = drf_message(serializers.Serializer, "invalid", datatype=type(data).__name__)
    return Invalid({NON_FIELD: [message]})


def with_unknown(data: Mapping, known: frozenset, errors: dict) -> dict:
    unknown = data.keys() - known
    if unknown:
        errors.update((name, [UNKNOWN]) for name in sorted(unknown))
    return errors


def checked(data: Mapping, checks, out: dict, errors: dict) -> None:
    get = data.get
    for name, check, needed in checks:
        value = get(name, ABSENT)
        if value is ABSENT:
            if needed:
                errors[name] = required().detail
            continue
        try:
            out[name] = check(value)
        except Invalid as exc:
            errors[name] = exc.detail


def each(value, check, max_length: int | None = None) -> list[dict]:
    """A nested list field (ListSerializer, by hand): every item checked, one error entry per item."""
    if value is None:
        raise null()
    if not isinstance(value, list):
        message = drf_message(serializers.ListSerializer, "not_a_list", input_type=type(value).__name__)
        raise Invalid({NON_FIELD: [message]})
    if max_length is not None and len(value) > max_length:
        raise Invalid({NON_FIELD: [drf_message(serializers.ListSerializer, "max_length", max_length=max_length)]})
    items, errors, failed = [], [], False
    for item in value:
        try:
            items.append(check(item))
            errors.append({})
        except Invalid as exc:
            errors.append(exc.detail)
            failed = True
    if failed:
        raise Invalid(errors)
    return items
