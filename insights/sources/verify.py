"""Who sent a delivery, by kind: the headers naming its event and id, and the check of its secret.

GitHub signs the body with HMAC-SHA256 under the secret (X-Hub-Signature-256: sha256=<hex>); GitLab sends
the token itself (X-Gitlab-Token). Both comparisons take constant time in the given value.
"""

import hashlib
import hmac

from insights.sources import secrets
from insights.sources.models import Source

# kind -> (event header, delivery id headers in order of preference)
HEADERS = {
    Source.Kind.GITHUB: ("X-GitHub-Event", ("X-GitHub-Delivery",)),
    Source.Kind.GITLAB: ("X-Gitlab-Event", ("Idempotency-Key", "X-Gitlab-Event-UUID")),
}


def github_signature_ok(source: Source, headers, body: bytes) -> bool:
    given = headers.get("X-Hub-Signature-256", "")
    key = secrets.decrypt(source.secret)
    if not key or not given.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def gitlab_token_ok(source: Source, headers, body: bytes) -> bool:
    given = headers.get("X-Gitlab-Token", "")
    return bool(given) and secrets.matches_hash(source.secret, given)


CHECKS = {Source.Kind.GITHUB: github_signature_ok, Source.Kind.GITLAB: gitlab_token_ok}


def authentic(source: Source, headers, body: bytes) -> bool:
    check = CHECKS.get(source.kind)
    return check is not None and check(source, headers, body)


def event_and_id(source: Source, headers, body: bytes) -> tuple[str, str]:
    """The event's name and the delivery's id; with no id header, the body's digest (so a resend of the
    same bytes is still recognised)."""
    event_header, id_headers = HEADERS[source.kind]
    event = headers.get(event_header, "").strip()
    for name in id_headers:
        if value := headers.get(name, "").strip():
            return event, value[:200]
    return event, "sha256:" + hashlib.sha256(body).hexdigest()
