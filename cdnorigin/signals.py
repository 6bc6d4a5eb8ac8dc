"""Keep the rollups following edits made one model at a time (the admin, a shell, fixtures).

Bulk ingest writes with bulk statements that send no signals and marks its buckets itself
(`cdnorigin.ingest`). Here, a saved or deleted sample (its status counts are part of it) marks the
bucket(s) it was in before and after the change; the recompute is scheduled on commit by
`mark_pairs_dirty`. Deletes cascading from a domain are skipped row by row (its rollups cascade too).
"""

from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from cdnorigin.dirty import mark_pairs_dirty
from cdnorigin.models import DirtyOriginBucket, Domain, OriginSample


def _origin_model(origin):
    if isinstance(origin, Model):
        return type(origin)
    if isinstance(origin, QuerySet):
        return origin.model
    return None


def _sample_bucket(sample_id: int) -> list[tuple[int, object]]:
    return list(OriginSample.objects.filter(pk=sample_id).values_list("domain_id", "minute"))


@receiver(pre_save, sender=OriginSample, dispatch_uid="cdnorigin_sample_pre_save")
def sample_pre_save(sender, instance: OriginSample, **kwargs):
    """A sample is one minute: an edited time is floored to its minute; remember where it was."""
    if instance.minute is not None and hasattr(instance.minute, "replace"):
        instance.minute = instance.minute.replace(second=0, microsecond=0)
    instance._previous_bucket = (
        list(OriginSample.objects.filter(pk=instance.pk).values_list("domain_id", "minute")) if instance.pk else []
    )


@receiver(post_save, sender=OriginSample, dispatch_uid="cdnorigin_sample_post_save")
def sample_post_save(sender, instance: OriginSample, **kwargs):
    mark_pairs_dirty([(instance.domain_id, instance.minute), *getattr(instance, "_previous_bucket", [])])


@receiver(post_delete, sender=OriginSample, dispatch_uid="cdnorigin_sample_post_delete")
def sample_post_delete(sender, instance: OriginSample, origin=None, **kwargs):
    if _origin_model(origin) is not Domain:
        mark_pairs_dirty([(instance.domain_id, instance.minute)])


@receiver(post_delete, sender=Domain, dispatch_uid="cdnorigin_domain_post_delete")
def domain_post_delete(sender, instance: Domain, **kwargs):
    """The domain's rollups cascade; its marks (no foreign key) would only be swept later."""
    DirtyOriginBucket.objects.filter(domain_pk=instance.pk).delete()
