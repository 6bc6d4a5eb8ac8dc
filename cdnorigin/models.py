"""Tables of the Volcengine-compatible origin statistics.

`OriginSample` rows (one per domain and minute, with their per-status counts) are the truth; the
`OriginRollup` rows at 5 minutes, hours and days are derived and can be rebuilt from them.
`DirtyOriginBucket` lists the 5-minute buckets whose rollups (and their hour and day) are stale.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


class Domain(models.Model):
    name = models.CharField(max_length=253, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


STATUS_CLASSES = (1, 2, 3, 4, 5)
CLASS_FIELDS = tuple(f"status_{klass}xx" for klass in STATUS_CLASSES)
MAX_STATUS_COUNT = 2**48 - 1


def status_code_error(code) -> str | None:
    """Why `code` cannot key a status object (three ASCII digits, 100..599), or None; the admin and the
    ingest API say it alike."""
    if not (isinstance(code, str) and len(code) == 3 and code.isascii() and code.isdigit()):
        return f"Status code {code!r} is not three digits."
    if not 100 <= int(code) <= 599:
        return f"Status code {code!r} is outside 100..599."
    return None


def validate_status_counts(value) -> None:
    """A sample's `status`: an object of three-digit codes (100..599, as strings) to whole counts >= 0."""
    if not isinstance(value, dict):
        raise ValidationError('Enter an object of three-digit status codes to counts, e.g. {"200": 10}.')
    errors = []
    for code, count in value.items():
        if message := status_code_error(code):
            errors.append(message)
        elif isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_STATUS_COUNT:
            errors.append(f"Count of {code} must be a whole number from 0 to {MAX_STATUS_COUNT}, not {count!r}.")
    if errors:
        raise ValidationError(errors)


def status_class_sums(status) -> tuple[int, int, int, int, int]:
    """The 1xx..5xx sums of a {code: count} mapping (codes as int or string)."""
    sums = [0, 0, 0, 0, 0]
    for code, count in status.items():
        sums[int(code) // 100 - 1] += count
    return tuple(sums)


class OriginSampleQuerySet(models.QuerySet):
    """`bulk_create`/`bulk_update` fill the class sums too (no `save()` runs there); `update()` does not."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.sync_status()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.sync_status()
        if "status" in fields:
            fields = [*fields, *(name for name in CLASS_FIELDS if name not in fields)]
        return super().bulk_update(objs, fields, *args, **kwargs)


class OriginSample(models.Model):
    """All origin traffic of one domain in one minute (`minute` is the minute's start, UTC).

    `status` maps each three-digit code (a string) to its count, as posted (zeros included).
    `status_1xx`..`status_5xx` are its per-class sums, kept with it by every writer (`save()` here,
    the bulk statements in `cdnorigin.ingest`): `status_all` answers read them on the (domain, minute)
    index without decoding any JSON. One row per minute instead of a row per code makes the writes
    one upsert and the reads an index range.
    """

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="samples", db_index=False)
    minute = models.DateTimeField()
    flux = models.BigIntegerField(validators=[MinValueValidator(0)], help_text="bytes")
    pv = models.BigIntegerField(validators=[MinValueValidator(0)], help_text="requests")
    status = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_status_counts],
        help_text='Requests per three-digit status code, e.g. {"200": 10, "404": 2}.',
    )
    status_1xx = models.BigIntegerField(default=0, editable=False)
    status_2xx = models.BigIntegerField(default=0, editable=False)
    status_3xx = models.BigIntegerField(default=0, editable=False)
    status_4xx = models.BigIntegerField(default=0, editable=False)
    status_5xx = models.BigIntegerField(default=0, editable=False)

    objects = OriginSampleQuerySet.as_manager()

    class Meta:
        ordering = ["domain_id", "minute"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "minute"], name="origin_sample_per_minute"),
            models.CheckConstraint(condition=models.Q(flux__gte=0, pv__gte=0), name="origin_sample_non_negative"),
        ]
        indexes = [models.Index(fields=["minute"], name="origin_sample_minute")]

    def __str__(self):
        return f"{self.domain} @ {self.minute:%Y-%m-%d %H:%M}"

    def save(self, *args, update_fields=None, **kwargs):
        self.sync_status()
        if update_fields is not None and "status" in update_fields:
            update_fields = {*update_fields, *CLASS_FIELDS}
        super().save(*args, update_fields=update_fields, **kwargs)

    def sync_status(self) -> None:
        """Codes as sorted strings, and the class sums equal to `status`."""
        status = self.status or {}
        if isinstance(status, dict):
            self.status = {str(code): count for code, count in sorted(status.items(), key=lambda item: int(item[0]))}
            for name, total in zip(CLASS_FIELDS, status_class_sums(self.status), strict=True):
                setattr(self, name, total)


class Interval(models.TextChoices):
    FIVE_MINUTES = "5min"
    HOUR = "hour"
    DAY = "day"


class OriginRollup(models.Model):
    """Sums of one domain over one period, with the largest 5-minute sums inside it.

    `status` maps a three-digit code (as a string) to its count. Hour and day periods start at
    local clock boundaries in INSIGHTS_TIME_ZONE. An hour row also carries the flux and pv of its twelve
    5-minute buckets, so the peak of a sum over domains is read from hour rows, not 5-minute ones.
    They are packed as 12 little-endian int8 (96 bytes, `cdnorigin.rollup_rows.pack_slots`): a fixed-width
    blob decodes with one `struct` call and is stored alike on SQLite and PostgreSQL, where JSON lists
    would cost a parse per row. Empty on 5-minute and day rows. A 5-minute row carries its five minutes
    the same way (`minutes`, see `cdnorigin.minute_blocks`), so 1-minute answers read 288 rows a domain
    and day instead of 1,440 samples. Every row carries what its interval carries (migration 0007 saw
    to rows rolled before): readers keep no fallback.
    """

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="+", db_index=False)
    interval = models.CharField(max_length=8, choices=Interval.choices)
    start = models.DateTimeField()
    flux = models.BigIntegerField(default=0)
    pv = models.BigIntegerField(default=0)
    peak_flux_5m = models.BigIntegerField(default=0)
    peak_pv_5m = models.BigIntegerField(default=0)
    five_minute_flux = models.BinaryField(default=b"", help_text="hour rows: 12 x int8 little-endian")
    five_minute_pv = models.BinaryField(default=b"", help_text="hour rows: 12 x int8 little-endian")
    minutes = models.BinaryField(
        default=b"", editable=False, help_text="5-minute rows: 5 minutes x 7 int8 big-endian (cdnorigin.minute_blocks)"
    )
    status = models.JSONField(default=dict)

    class Meta:
        ordering = ["domain_id", "interval", "start"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "interval", "start"], name="origin_rollup_bucket"),
        ]
        indexes = [models.Index(fields=["interval", "start"], name="origin_rollup_interval_start")]

    def __str__(self):
        return f"{self.domain_id} {self.interval} @ {self.start:%Y-%m-%d %H:%M}"


class DirtyOriginBucket(models.Model):
    """A domain's 5-minute bucket (UTC start) whose rollups, and its hour's and day's, are stale."""

    domain_pk = models.BigIntegerField()  # no FK: the domain may be deleted meanwhile
    start = models.DateTimeField()
    marked_at = models.DateTimeField(auto_now=True)
    # Set when a recompute of this bucket failed (common.rollup_failures); cleared by a new write.
    attempts = models.PositiveIntegerField(db_default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, db_default="")

    class Meta:
        ordering = ["marked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["domain_pk", "start"], name="dirty_origin_bucket"),
        ]

    def __str__(self):
        return f"domain {self.domain_pk} @ {self.start:%Y-%m-%d %H:%M}"


class CdnAccount(models.Model):
    """A CDN API account. A main account sees every domain; a sub-account only its grants."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cdn_account")
    is_sub_account = models.BooleanField(default=False)
    domains = models.ManyToManyField(Domain, through="DomainGrant", related_name="accounts", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        verbose_name = "CDN account"

    def __str__(self):
        kind = "sub-account" if self.is_sub_account else "main account"
        return f"{self.user} ({kind})"


class DomainGrant(models.Model):
    account = models.ForeignKey(CdnAccount, on_delete=models.CASCADE, related_name="grants")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="grants")

    class Meta:
        ordering = ["account_id", "domain__name"]
        constraints = [models.UniqueConstraint(fields=["account", "domain"], name="domain_grant_once")]

    def __str__(self):
        return f"{self.account.user} -> {self.domain}"


class AccessKey(models.Model):
    """An AK/SK pair. The SK must stay readable to verify HMAC signatures, so it is stored as
    issued; it is never shown again after `create_access_key` prints it (not in the admin either)."""

    account = models.ForeignKey(CdnAccount, on_delete=models.CASCADE, related_name="access_keys")
    access_key_id = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=128, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "access key"

    def __str__(self):
        return self.access_key_id


class ImportedLog(models.Model):
    """A log file already turned into samples, known by its content hash so it is not counted twice."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="imported_logs")
    sha256 = models.CharField(max_length=64, unique=True)
    file_name = models.CharField(max_length=1000)
    lines = models.BigIntegerField(default=0)
    samples = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.sha256[:12]})"
