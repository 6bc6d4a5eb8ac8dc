"""Who is calling the Volcengine-compatible action: the signed request -> access key -> account.

The checks run cheapest first and each failure is the documented error value (API.md section 4).
`InvalidAuthorization` (401) is our choice for a header that is present but not parseable, or that
signs a header the request lacks: Volcengine's gateway uses that code for such headers.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from cdnorigin import signing
from cdnorigin.errors import VolcError, invalid_parameter
from cdnorigin.models import AccessKey, CdnAccount, Domain

# last_used_at is a hint for operators, not an audit log: one write a minute per key is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_ACCESS_KEY_MAX_LENGTH = AccessKey._meta.get_field("access_key_id").max_length


def missing_token() -> VolcError:
    return VolcError(401, "MissingAuthenticationToken", "Request is missing Authentication Token.")


def signature_mismatch(reason: str) -> VolcError:
    return VolcError(
        401,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        f"Check your Secret Access Key and signing method. ({reason})",
    )


def invalid_timestamp(reason: str) -> VolcError:
    return VolcError(403, "InvalidTimestamp", f"The signature of the request is expired. ({reason})")


def active_access_key(access_key_id: str) -> AccessKey:
    """The active key with this id, of an active user; else 401 InvalidAccessKey."""
    key = None
    if len(access_key_id) <= _ACCESS_KEY_MAX_LENGTH:
        key = (
            AccessKey.objects.select_related("account__user")
            .filter(access_key_id=access_key_id, active=True, account__user__is_active=True)
            .first()
        )
    if key is None:
        shown = access_key_id[:_ACCESS_KEY_MAX_LENGTH]
        raise VolcError(401, "InvalidAccessKey", f"The accesskey [{shown}] included in the request is invalid.")
    return key


def allowed_domains(account: CdnAccount) -> set[str] | None:
    """None for a main account (sees every domain); the granted domain names for a sub-account."""
    if not account.is_sub_account:
        return None
    return set(Domain.objects.filter(grants__account=account).values_list("name", flat=True))


def request_body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig as exc:
        raise invalid_parameter(
            "Body", f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"
        ) from exc


def authenticate(request: HttpRequest, now: datetime | None = None) -> AccessKey:
    """Verify the request's HMAC-SHA256 signature and return the access key that made it."""
    now = now or timezone.now()
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise missing_token()
    try:
        authorization = signing.parse_authorization(header)
    except signing.MalformedAuthorization as exc:
        raise VolcError(401, "InvalidAuthorization", f"Invalid Authorization header: {exc}.") from exc

    x_date = request.headers.get("X-Date", "").strip()
    try:
        signed_at = signing.parse_x_date(x_date)
    except ValueError as exc:
        raise invalid_timestamp("X-Date must be present as YYYYMMDD'T'HHMMSS'Z' (UTC)") from exc
    skew = abs((now - signed_at).total_seconds())
    if skew > settings.CDN_MAX_CLOCK_SKEW_SECONDS:
        raise invalid_timestamp(
            f"X-Date is {int(skew)} s from the server's time, more than {settings.CDN_MAX_CLOCK_SKEW_SECONDS} s"
        )
    if authorization.date != x_date[:8]:
        raise signature_mismatch("the credential scope date differs from the date of X-Date")

    missing = [name for name in authorization.signed_headers if name not in request.headers]
    if missing:
        raise VolcError(
            401,
            "InvalidAuthorization",
            f"Invalid Authorization header: signed header(s) missing: {', '.join(missing)}.",
        )

    key = active_access_key(authorization.access_key_id)

    body_hash = signing.body_sha256(request_body(request))
    declared_hash = request.headers.get("X-Content-Sha256")
    if declared_hash is not None and not signing.body_hash_matches(declared_hash, body_hash):
        raise signature_mismatch("X-Content-Sha256 is not the SHA-256 of the body")

    canonical = signing.canonical_request(
        request.method,
        request.path,
        ((name, value) for name, values in request.GET.lists() for value in values),
        {name: request.headers[name] for name in authorization.signed_headers},
        authorization.signed_headers,
        body_hash,
    )
    if not signing.verify(key.secret, authorization, x_date, canonical):
        raise signature_mismatch("signature differs")

    touch_last_used(key, now)
    return key


def touch_last_used(key: AccessKey, now: datetime) -> None:
    """Record use at most once a minute; the conditional UPDATE keeps concurrent requests to one write."""
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    recent = Q(last_used_at__gte=now - LAST_USED_RESOLUTION)
    AccessKey.objects.filter(pk=key.pk).exclude(recent).update(last_used_at=now)
    key.last_used_at = now
