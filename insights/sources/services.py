"""Creating a source, or giving an existing one a new secret: what `add_source` and the admin call."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from insights.models import Project
from insights.sources import secrets
from insights.sources.models import Source


def hook_url(source: Source) -> str:
    """Where the source's webhooks post: INSIGHTS_PUBLIC_URL (the address the sender reaches) + the path."""
    return settings.INSIGHTS_PUBLIC_URL.rstrip("/") + reverse("source-hook", args=[source.name])


@transaction.atomic
def add_source(
    kind: str, name: str, project: str | None = None, url: str = "", token: str = "", rotate: bool = False
) -> tuple[Source, str]:
    """The source and its clear secret (generated for a webhook, the given token for Zadig). An existing
    name is refused unless `rotate`, which keeps its settings and replaces only the secret."""
    if kind not in Source.Kind.values:
        raise ValidationError(f"The kind must be one of {', '.join(Source.Kind.values)}, not {kind!r}.")
    if kind == Source.Kind.ZADIG and not (url and token):
        raise ValidationError("A zadig source needs --url (the Zadig server) and --token (its API token).")
    if kind != Source.Kind.ZADIG and token:
        raise ValidationError("Webhook sources get a generated secret; --token is for zadig only.")
    clear = token or secrets.new_secret()
    source = Source.objects.select_for_update().filter(name=name).first()
    if source is not None:
        if not rotate:
            raise ValidationError(f"There is already a source named {name!r}; use --rotate for a new secret.")
        if source.kind != kind:
            raise ValidationError(f"The source {name!r} is of kind {source.kind}, not {kind}.")
        source.secret = secrets.keep(kind, clear)
        if url:
            source.url = url
        source.save(update_fields=["secret", "url"])
        return source, clear
    source = Source(name=name, kind=kind, url=url, secret=secrets.keep(kind, clear))
    if project:
        source.project, _ = Project.objects.get_or_create(key=project, defaults={"name": project})
    source.full_clean(exclude=["secret", "cursor"])
    source.save()
    return source, clear
