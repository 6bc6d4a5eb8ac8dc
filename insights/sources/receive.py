"""A webhook delivery from its arrival to its acknowledgement: which source, is it authentic, is it new,
can it be read; then stored raw and queued for `apply`. Nothing is written for a refused delivery but the
source's refusal count and last error; a redelivery (same id) is acknowledged and changes nothing.
"""

import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from common import metrics
from insights.sources import verify
from insights.sources.mapping import Malformed, mapper_for
from insights.sources.models import Delivery, Source

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    label: str  # the metric's outcome
    headers: dict = field(default_factory=dict)


NOT_FOUND = Outcome(404, {"detail": "Not found."}, "not_found")


def _refuse(source: Source, status: int, message: str, label: str, **headers) -> Outcome:
    source.record_error(message, refused_count=F("refused_count") + 1)
    logger.warning("webhook delivery refused", extra={"source": source.name, "status": status, "reason": label})
    return Outcome(status, {"detail": message}, label, headers)


def _payload(body: bytes, content_type: str):
    """The JSON document of a body, sent as JSON or (GitHub's other choice) as a form's `payload` field."""
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("utf-8"), strict_parsing=False).get("payload")
        if not values:
            raise ValueError("a form body must carry the JSON document in its payload field")
        body = values[0].encode("utf-8")
    return orjson.loads(body), body.decode("utf-8")


def receive(name: str, headers, body: bytes, content_type: str = "application/json") -> Outcome:
    source = Source.objects.filter(name=name, enabled=True).first()
    mapper = source and mapper_for(source.kind)
    if source is None or source.kind not in verify.HEADERS or mapper is None:
        return NOT_FOUND
    limit = settings.INSIGHTS_HOOK_MAX_BYTES
    if len(body) > limit:
        return _refuse(source, 413, f"The body is larger than {limit} bytes.", "too_large")
    if not verify.authentic(source, headers, body):
        secret_header = "X-Hub-Signature-256" if source.kind == Source.Kind.GITHUB else "X-Gitlab-Token"
        return _refuse(source, 401, f"The {secret_header} header does not match this source's secret.", "unauthorized")
    event, delivery_id = verify.event_and_id(source, headers, body)
    if not event:
        return _refuse(source, 400, f"The {verify.HEADERS[source.kind][0]} header is missing.", "malformed")
    if Delivery.objects.filter(source=source, delivery_id=delivery_id).exists():
        return Outcome(200, {"status": "duplicate", "delivery": delivery_id}, "duplicate")
    try:
        payload, text = _payload(body, content_type)
    except (ValueError, UnicodeDecodeError) as exc:
        return _refuse(source, 400, f"The body is not a JSON document: {str(exc)[:200]}", "malformed")
    if event not in mapper.events:
        return _store(source, delivery_id, event, text, None)
    try:
        reading = mapper.read(event, payload)
    except Malformed as exc:
        return _refuse(source, 400, f"The {event} payload cannot be read: {exc}", "malformed")
    return _store(source, delivery_id, event, text, reading)


def _store(source: Source, delivery_id: str, event: str, text: str, reading) -> Outcome:
    delivery = Delivery(source=source, delivery_id=delivery_id, event=event, body=text)
    if reading is None:
        delivery.state = Delivery.State.IGNORED
    else:
        delivery.subject, delivery.run_key = reading.subject, reading.run_key[:300]
        delivery.head_sha, delivery.occurred_at = reading.head_sha[:64], reading.occurred_at
    try:
        with transaction.atomic():
            delivery.save(force_insert=True)
            Source.objects.filter(pk=source.pk).update(
                accepted_count=F("accepted_count") + 1, last_delivery_at=delivery.received_at
            )
            if reading is not None:
                transaction.on_commit(lambda: enqueue_apply(delivery.pk))
    except IntegrityError:  # the same delivery, stored by a concurrent request a moment ago
        return Outcome(200, {"status": "duplicate", "delivery": delivery_id}, "duplicate")
    if reading is None:
        return Outcome(202, {"status": "ignored", "event": event, "delivery": delivery_id}, "ignored")
    return Outcome(202, {"status": "queued", "event": event, "delivery": delivery_id}, "accepted")


def enqueue_apply(pk: int) -> None:
    """Queue the apply; when the broker is down the delivery stays pending and the beat sweep applies it."""
    from insights.tasks import apply_delivery  # the tasks module imports this one

    try:
        apply_delivery.delay(pk)
    except Exception:  # stored and acknowledged: the sweep will take it
        logger.warning("webhook apply not queued; the sweep will apply it", extra={"delivery": pk}, exc_info=True)


def count(source_name: str, outcome: Outcome) -> None:
    metrics.webhook_delivery(source_name if outcome is not NOT_FOUND else "unknown", outcome.label)
