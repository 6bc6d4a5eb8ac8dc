"""Serializer behaviour both apps' ingest APIs promise: unknown fields refused, list errors by position,
and PATCH bodies merged into the stored record before it is checked as a POST would be."""

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.exceptions import ValidationError


class RejectUnknownFieldsMixin:
    """A field this resource does not have is a 400 naming it, not silently dropped."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors = {name: ["Unknown field."] for name in unknown}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError({**exc.detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return values


class PositionalListSerializer(serializers.ListSerializer):
    """Errors of a list as a list with one entry per item (`{}` for a valid one), so an error's
    index is the item's position, as API.md promises (DRF 3.18 would send only the failing
    indices as dictionary keys)."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict) and detail and all(isinstance(key, int) for key in detail):
                raise serializers.ValidationError([detail.get(index, {}) for index in range(len(data))]) from None
            raise


def merged_patch(current: Mapping, patch, fixed: tuple[str, ...] = ()):
    """`current` with the keys of a PATCH body replaced, one level deep into objects; a body that is not
    an object is handed on as it is, for the serializer to refuse. Keys in `fixed` cannot be patched."""
    if not isinstance(patch, Mapping):
        return patch
    refused = {key: ["This field cannot be changed."] for key in fixed if key in patch}
    if refused:
        raise ValidationError(refused)
    merged = {key: value for key, value in current.items() if key not in fixed}
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
