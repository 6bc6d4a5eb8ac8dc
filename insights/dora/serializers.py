"""The rows of `/api/v1/dora/deployments` and `/api/v1/dora/changes` as the API answers them: instants in
the current time zone with their offset, as every `/api/v1/` date-time."""

from rest_framework import serializers


class DoraDeploymentSerializer(serializers.Serializer):
    """One production deployment of the range and how it was classified."""

    project = serializers.CharField(help_text="The project's key.")
    service = serializers.CharField(allow_null=True, help_text="The service's name; null for a job without one.")
    environment = serializers.CharField(help_text="The production environment's name.")
    finished_at = serializers.DateTimeField(help_text="When the deploy job finished: the deployment's instant.")
    run_id = serializers.CharField(help_text="The id of the workflow run the deploy job belongs to.")
    branch = serializers.CharField(allow_blank=True, help_text="The run's branch (empty when not given).")
    failed = serializers.BooleanField(
        help_text="A failed deploy job or a production rollback of the same target followed it before its next "
        "deployment."
    )
    restored_at = serializers.DateTimeField(
        allow_null=True,
        help_text="A failed deployment's restore: the first rollback or next deployment after it. Null when it "
        "did not fail or is still open.",
    )
    rework = serializers.BooleanField(
        help_text="It restored a failed deployment, or its branch matches a rework pattern."
    )


class DoraChangeSerializer(serializers.Serializer):
    """One commit first deployed to production in the range, and its lead time."""

    repo = serializers.CharField(help_text="The commit's repository.")
    sha = serializers.CharField(help_text="The commit's hash.")
    committed_at = serializers.DateTimeField(help_text="The earliest commit time stored for this repo and sha.")
    first_deployed_at = serializers.DateTimeField(
        help_text="Its first production deployment (within the filters): the earliest one of the runs carrying it."
    )
    lead_time_seconds = serializers.FloatField(
        help_text="first_deployed_at minus committed_at in seconds; 0 when the commit time is later (clock skew)."
    )
