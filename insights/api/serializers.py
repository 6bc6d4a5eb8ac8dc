"""Serializers of the `/api/v1/` catalogue resources and rollback records.

Input is strict, because it is machine-written and a silent coercion hides a client bug: strings
must be JSON strings, booleans JSON booleans, times Unix seconds as JSON integers, and a field the
resource does not have is a 400 (a typo would otherwise be dropped without notice). Foreign keys
are written and read as the target's natural key: a project as its `key`, a cluster as its `name`.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from rest_framework import serializers
from rest_framework.settings import api_settings

from common.api.filters import MAX_UNIX_SECONDS
from common.api.serializers import PositionalListSerializer, RejectUnknownFieldsMixin
from insights.models import (
    Artifact,
    Cluster,
    Environment,
    Project,
    Rollback,
    Service,
    ServiceSnapshot,
    Workflow,
    key_validator,
)


class StrictCharField(serializers.CharField):
    default_error_messages = {"surrogate": "Not valid Unicode text (a lone UTF-16 surrogate such as \\ud800)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            # JSON may escape a lone surrogate ("\\ud800"): no database text, and no JSON answer, can hold it.
            data.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("surrogate")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class UnixSecondsField(serializers.Field):
    """An instant as Unix seconds: a JSON integer >= 0 in, an aware datetime inside, an integer out."""

    default_error_messages = {
        "invalid": "Unix seconds as a JSON integer are required.",
        "range": f"Unix seconds between 0 and {MAX_UNIX_SECONDS} are required.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if not 0 <= data <= MAX_UNIX_SECONDS:
            self.fail("range")
        return datetime.fromtimestamp(data, UTC)

    def to_representation(self, value):
        return int(value.timestamp())


class NaturalKeyField(serializers.SlugRelatedField):
    """A foreign key by the target's natural key. Lookups are cached for the request, so a batch
    of 10,000 items naming three projects costs three queries."""

    default_error_messages = {
        "does_not_exist": 'Unknown {model} "{value}".',
        "invalid": "A {model} {slug_name} (a string) is required.",
    }

    def to_internal_value(self, data):
        model = self.get_queryset().model
        if not isinstance(data, str):
            self.fail("invalid", model=model._meta.verbose_name, slug_name=self.slug_field)
        cache = self.context.setdefault("natural_keys", {})
        if (model, data) not in cache:
            # NUL is in no stored key, and PostgreSQL refuses it in a query.
            found = None if "\x00" in data else self.get_queryset().filter(**{self.slug_field: data}).first()
            cache[model, data] = found
        if cache[model, data] is None:
            self.fail("does_not_exist", model=model._meta.verbose_name, value=data)
        return cache[model, data]


class BatchListSerializer(PositionalListSerializer):
    """A JSON list of items: at most INGEST_MAX_BATCH (checked before any item is validated), and
    no natural key twice (the second would silently override the first)."""

    def to_internal_value(self, data):
        limit = settings.INGEST_MAX_BATCH
        if isinstance(data, list) and len(data) > limit:
            message = f"A request may carry at most {limit} items; this one has {len(data)}."
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [message]}, code="max_length")
        items = super().to_internal_value(data)
        batch_key = getattr(self.child, "batch_key", None)
        if batch_key is not None:
            self._reject_duplicates(items, batch_key)
        return items

    @staticmethod
    def _reject_duplicates(items, batch_key):
        first_seen, errors = {}, []
        for index, item in enumerate(items):
            key = tuple(getattr(item[name], "pk", item[name]) for name in batch_key)
            if key in first_seen:
                names = ", ".join(batch_key)
                errors.append({batch_key[-1]: [f"Same {names} as item {first_seen[key]} of this request."]})
            else:
                first_seen[key] = index
                errors.append({})
        if any(errors):
            raise serializers.ValidationError(errors)


# Base of the catalogue serializers: strict scalar fields, batches through BatchListSerializer.
# `batch_key` names the natural key (None: every item is a new row). No docstring on purpose: the
# OpenAPI schema shows a serializer's docstring as its description, so each resource states its own.
class IngestSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
    }
    serializer_choice_field = StrictChoiceField
    batch_key: tuple[str, ...] | None = None

    class Meta:
        list_serializer_class = BatchListSerializer


def project_field(**kwargs):
    return NaturalKeyField(slug_field="key", queryset=Project.objects.all(), **kwargs)


class ProjectSerializer(IngestSerializer):
    """A project, keyed by `key`: posting a known key updates its `name`. Projects are what the Zadig
    statistics filter by (`productNames`, `projectKey`)."""

    batch_key = ("key",)

    class Meta(IngestSerializer.Meta):
        model = Project
        fields = ["id", "key", "name", "created_at"]
        # Without DRF's UniqueValidator: a known key is an upsert, not an error.
        extra_kwargs = {"key": {"validators": [key_validator]}}


class ClusterSerializer(IngestSerializer):
    """A cluster environments run on, keyed by `name`."""

    batch_key = ("name",)

    class Meta(IngestSerializer.Meta):
        model = Cluster
        fields = ["id", "name", "created_at"]
        extra_kwargs = {"name": {"validators": []}}


class EnvironmentSerializer(IngestSerializer):
    """An environment of a project, keyed by `project` + `name`. Deploy jobs to an environment with
    `production: true` count as production releases. Posting a known key updates the fields sent."""

    batch_key = ("project", "name")
    project = project_field()
    cluster = NaturalKeyField(slug_field="name", queryset=Cluster.objects.all(), allow_null=True, required=False)

    class Meta(IngestSerializer.Meta):
        model = Environment
        fields = ["id", "project", "name", "production", "cluster", "created_at"]
        validators = []  # project+name is an upsert key, not a uniqueness error


class ServiceSerializer(IngestSerializer):
    """A service of a project, keyed by `project` + `name`; posting a known key updates its type."""

    batch_key = ("project", "name")
    project = project_field()

    class Meta(IngestSerializer.Meta):
        model = Service
        fields = ["id", "project", "name", "service_type", "created_at"]
        validators = []


class WorkflowSerializer(IngestSerializer):
    """A workflow of a project, keyed by `project` + `name`. Posting a workflow run creates its
    workflow when the name is unknown."""

    batch_key = ("project", "name")
    project = project_field()

    class Meta(IngestSerializer.Meta):
        model = Workflow
        fields = ["id", "project", "name", "created_at"]
        validators = []


class ArtifactSerializer(IngestSerializer):
    """A delivered artifact (an image or a file) of a project. Every posted item is a new row."""

    project = project_field()

    class Meta(IngestSerializer.Meta):
        model = Artifact
        fields = ["id", "project", "name", "type", "uri", "created_at"]


# --- rollback records (the seed's shape, field names exact) ---------------------------------


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    pass


# Zadig's ContainerType: "" for an ordinary container, "init" for an initContainer.
CONTAINER_TYPES = ["", "init"]
ROLLBACK_SERVICE_TYPES = ["", *Service.Type.values]


# A rendered manifest or values file of a real service is tens of kilobytes; 1 MiB leaves a wide
# margin while keeping a snapshot small enough to store, serve and diff on the Delivery page.
MAX_YAML_CHARS = 1_048_576
MAX_CONTAINERS = 1_000
MAX_IMAGE_CHARS = 1_024


class ContainerSerializer(StrictSerializer):
    """A container of the service: its name, `type` (`""`, or `init` for an init container), full image
    address and image name."""

    name = StrictCharField(max_length=MAX_IMAGE_CHARS)
    type = StrictChoiceField(choices=CONTAINER_TYPES, default="")
    image = StrictCharField(max_length=MAX_IMAGE_CHARS)
    image_name = StrictCharField(allow_blank=True, default="", max_length=MAX_IMAGE_CHARS)

    class Meta:
        list_serializer_class = PositionalListSerializer


def _text(max_length=MAX_YAML_CHARS):
    return StrictCharField(allow_blank=True, default="", trim_whitespace=False, max_length=max_length)


class ServiceSnapshotSerializer(StrictSerializer):
    """The service as it was before (`origin_service`) or after (`update_service`) the rollback."""

    service_name = _text(200)
    release_name = _text(200)
    containers = ContainerSerializer(many=True, default=list, max_length=MAX_CONTAINERS)
    rendered_yaml = _text()
    values_yaml = _text()
    override_values = _text()
    update_time = UnixSecondsField(allow_null=True, default=None)

    def to_representation(self, instance: ServiceSnapshot | None):
        if instance is None:
            return None
        return {
            "service_name": instance.service_name,
            "release_name": instance.release_name,
            "containers": instance.containers,
            "rendered_yaml": instance.rendered_yaml,
            "values_yaml": instance.values_yaml,
            "override_values": instance.override_values,
            "update_time": int(instance.update_time.timestamp()) if instance.update_time else None,
        }


class CreateBySerializer(StrictSerializer):
    """Who ran the rollback; every field defaults to `""`."""

    uid = _text(200)
    account = _text(200)
    name = _text(200)
    identity_type = _text(64)


class RollbackSerializer(StrictSerializer):
    """A rollback record, with the fields Zadig's rollback detail returns plus `id`. Required:
    `project_key` (an existing project), `env_name`, `service_name`, `origin_service`, `update_service`
    and `create_time`; the other fields default to `""` or `false`. Every posted record is a new row."""

    id = serializers.IntegerField(read_only=True)
    project_key = project_field(source="project")
    env_name = StrictCharField(max_length=200)
    env_type = _text(64)
    production = StrictBooleanField(default=False)
    operation_type = _text(64)
    service_name = StrictCharField(max_length=200)
    service_type = StrictChoiceField(choices=ROLLBACK_SERVICE_TYPES, default="")
    origin_service = ServiceSnapshotSerializer()
    update_service = ServiceSnapshotSerializer()
    create_by = CreateBySerializer(default=dict)
    create_time = UnixSecondsField()

    class Meta:
        list_serializer_class = BatchListSerializer

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        values["create_by"] = {name: values["create_by"].get(name, "") for name in CreateBySerializer().fields}
        return values

    def to_representation(self, instance: Rollback):
        snapshots = {snapshot.role: snapshot for snapshot in instance.snapshots.all()}
        snapshot = ServiceSnapshotSerializer()
        return {
            "id": instance.id,
            "project_key": instance.project.key,
            "env_name": instance.env_name,
            "env_type": instance.env_type,
            "production": instance.production,
            "operation_type": instance.operation_type,
            "service_name": instance.service_name,
            "service_type": instance.service_type,
            "origin_service": snapshot.to_representation(snapshots.get(ServiceSnapshot.Role.ORIGIN)),
            "update_service": snapshot.to_representation(snapshots.get(ServiceSnapshot.Role.UPDATE)),
            "create_by": {
                "uid": instance.create_by_uid,
                "account": instance.create_by_account,
                "name": instance.create_by_name,
                "identity_type": instance.create_by_identity_type,
            },
            "create_time": int(instance.create_time.timestamp()),
        }
