"""`/api/v1/cdn/origin-samples/`: POST minute samples (one object or a list), GET them back.

A sample: `{"domain": "www.example.com", "timestamp": 1631635200, "flux": 13806, "pv": 12,
"status": {"200": 10, "404": 2}}`. The batch is validated by hand rather than with one DRF serializer
per item: 10,000 items must validate in milliseconds, and the checks are strict JSON types (a
string "12", 12.5 or true is not a count), which DRF's IntegerField would coerce. Errors keep DRF's
shape: for a list, one entry per item (`{}` for a good one); for a single object, that object's errors.
Two items for one domain and minute in one batch are refused (400), not silently merged.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import django_filters
from django import forms
from django.conf import settings
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cdnorigin.ingest import MAX_TIMESTAMP, MAX_VALUE, UnknownDomainsError, minute_of, replace_origin_samples
from cdnorigin.models import CLASS_FIELDS, Domain, OriginSample, status_code_error
from common.api.filters import AwareDateTimeField
from common.api.views import IngestCountingMixin

REQUIRED = ("domain", "timestamp", "flux", "pv")
# `id` is what the listing adds; a re-post of listed rows ignores it.
FIELDS = frozenset((*REQUIRED, "status", "id"))


def _whole_number(value, low: int, high: int) -> str | None:
    """The error message for `value` unless it is a JSON integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "A whole number (JSON integer) is required."
    if not low <= value <= high:
        return f"Must be from {low} to {high}."
    return None


def _status_errors(value) -> list[str]:
    if not isinstance(value, dict):
        return ['Expected an object of three-digit status codes to counts, e.g. {"200": 10}.']
    errors = []
    for code, count in value.items():
        if message := status_code_error(code):
            errors.append(message)
        elif message := _whole_number(count, 0, MAX_VALUE):
            errors.append(f"Count of {code}: {message}")
    return errors


VALID_CODES = frozenset(str(code) for code in range(100, 600))


def _clean(item) -> dict | None:
    """The item normalised (domain name lowercased) if it is entirely valid, else None. The fast path:
    `type(x) is int` rejects bools, floats and strings as `_whole_number` does, in a fraction of the time."""
    if type(item) is not dict or not item.keys() <= FIELDS:
        return None
    domain, timestamp, flux, pv = item.get("domain"), item.get("timestamp"), item.get("flux"), item.get("pv")
    status = item.get("status", EMPTY)
    if not (
        type(domain) is str
        and type(timestamp) is int
        and type(flux) is int
        and type(pv) is int
        and type(status) is dict
        and 0 <= timestamp < MAX_TIMESTAMP
        and 0 <= flux <= MAX_VALUE
        and 0 <= pv <= MAX_VALUE
    ):
        return None
    domain = domain.strip().lower()
    if not domain or "\x00" in domain:
        return None
    for code, count in status.items():
        if code not in VALID_CODES or type(count) is not int or not 0 <= count <= MAX_VALUE:
            return None
    return {"domain": domain, "timestamp": timestamp, "flux": flux, "pv": pv, "status": status}


EMPTY: dict = {}


def _item_errors(item) -> dict:
    if not isinstance(item, dict):
        return {"non_field_errors": [f"Expected an object, got {type(item).__name__}."]}
    errors = {name: ["This field is required."] for name in REQUIRED if name not in item}
    errors.update({name: ["Unknown field."] for name in sorted(set(item) - FIELDS)})
    domain = item.get("domain")
    if "domain" in item and not (isinstance(domain, str) and domain.strip()):
        errors["domain"] = ["A domain name (string) is required."]
    elif isinstance(domain, str) and "\x00" in domain:
        errors["domain"] = ["Null characters are not allowed."]
    if "timestamp" in item and (message := _whole_number(item["timestamp"], 0, MAX_TIMESTAMP - 1)):
        errors["timestamp"] = [f"Unix seconds: {message}"]
    for name in ("flux", "pv"):
        if name in item and (message := _whole_number(item[name], 0, MAX_VALUE)):
            errors[name] = [message]
    if "status" in item and (status_errors := _status_errors(item["status"])):
        errors["status"] = status_errors
    return errors


def _fail(errors: list[dict], single: bool):
    raise ValidationError(errors[0] if single else errors)


def parse_origin_samples(data) -> list[dict]:
    """Validated items for `replace_origin_samples`, or ValidationError (nothing is written)."""
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list):
        raise ValidationError({"non_field_errors": ["Expected a sample object or a list of them."]})
    if len(items) > settings.INGEST_MAX_BATCH:
        raise ValidationError(
            {"non_field_errors": [f"At most {settings.INGEST_MAX_BATCH} samples per request, got {len(items)}."]}
        )
    clean = [_clean(item) for item in items]
    if None in clean:  # the detailed messages only once something is wrong
        errors = [_item_errors(item) for item in items]
        _fail(errors, single)
    errors = [{}] * len(clean)
    seen: dict[tuple[str, int], int] = {}
    for index, item in enumerate(clean):
        first = seen.setdefault((item["domain"], item["timestamp"] // 60), index)
        if first != index:
            errors[index] = {"timestamp": [f"Item {first} already holds this domain and minute; send one sample each."]}
    known = set(Domain.objects.filter(name__in={item["domain"] for item in clean}).values_list("name", flat=True))
    for index, item in enumerate(clean):
        if item["domain"] not in known:
            errors[index] = {"domain": [f"Unknown domain {item['domain']!r}; create it under /api/v1/cdn/domains/."]}
    if any(errors):
        _fail(errors, single)
    return clean


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a batch is parsed and written.

    A 10,000-sample batch allocates some 50,000 dicts and tuples, none in a cycle (reference counting
    frees them); their count alone sets off full collections that scan every object of the process,
    30-60 ms each, in most requests. Left on if something else turned it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class OriginSampleSerializer(serializers.ModelSerializer):
    """One minute of origin traffic of one domain, as stored: the posted fields plus the row's `id`
    (a re-post may carry it; it is ignored)."""

    domain = serializers.SlugRelatedField(slug_field="name", read_only=True)
    timestamp = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = OriginSample
        fields = ["id", "domain", "timestamp", "flux", "pv", "status"]

    def get_timestamp(self, sample) -> int:
        return int(sample.minute.timestamp())

    def get_status(self, sample) -> dict[str, int]:
        return {str(code): count for code, count in sorted(sample.status.items(), key=lambda item: int(item[0]))}


class InstantField(AwareDateTimeField):
    """Unix seconds, or ISO 8601 with an offset."""

    def to_python(self, value):
        text = str(value).strip() if value not in self.empty_values else ""
        if text.isdigit():
            seconds = int(text)
            if seconds >= MAX_TIMESTAMP:
                raise forms.ValidationError(f"Unix seconds must be below {MAX_TIMESTAMP}.", code="invalid")
            return datetime.fromtimestamp(seconds, UTC)
        return super().to_python(value)


class InstantFilter(django_filters.Filter):
    field_class = InstantField


class OriginSampleFilter(django_filters.FilterSet):
    """`?domain=a.com,b.com`; `?start=`/`?end=`: minutes from the one holding `start` through the one
    holding `end` (both inclusive), as Unix seconds or ISO 8601 with an offset."""

    domain = django_filters.CharFilter(method="filter_domain")
    start = InstantFilter(method="filter_start")
    end = InstantFilter(method="filter_end")

    class Meta:
        model = OriginSample
        fields = []

    def filter_domain(self, queryset, name, value):
        return queryset.filter(domain__name__in=[part.strip().lower() for part in value.split(",") if part.strip()])

    def filter_start(self, queryset, name, value):
        return queryset.filter(minute__gte=minute_of(int(value.timestamp())))

    def filter_end(self, queryset, name, value):
        return queryset.filter(minute__lte=value)


class OriginSampleViewSet(
    IngestCountingMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    ingest_kind = "origin_samples"
    serializer_class = OriginSampleSerializer
    filterset_class = OriginSampleFilter
    ordering_fields = ["minute"]
    ordering = ["domain_id", "minute"]

    def get_queryset(self):
        return OriginSample.objects.select_related("domain").defer(*CLASS_FIELDS)

    def create(self, request, *args, **kwargs):
        with _cyclic_gc_paused():
            items = parse_origin_samples(request.data)
            try:
                count = replace_origin_samples(items)
            except UnknownDomainsError as exc:  # a domain deleted since validation
                raise ValidationError({"domain": [str(exc)]}) from exc
        return Response({"count": count}, status=status.HTTP_201_CREATED)
