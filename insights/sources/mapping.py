"""What a kind's mapper provides, and the registry of them.

A mapper is pure: `read` looks at one payload (no database) and says what it is about; `fold` turns
every stored delivery about one run, oldest event first, into that run in the ingest API's shape
(`POST /api/v1/workflow-runs/`, without `id`: the run's id is `<source name>:<run key>`). Folding from
all deliveries, not applying each to the stored run, is what makes the result independent of arrival
order and redelivery.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from insights.sources.models import Delivery, Source


class Malformed(Exception):
    """A payload a mapper cannot read; the message says what is missing, for the 400 answer."""


@dataclass(frozen=True)
class Reading:
    """What one delivery is about."""

    subject: str  # Delivery.Subject
    run_key: str = ""  # the run it describes (subject run), unique within the source
    head_sha: str = ""  # the commit the run builds, or the push's head
    occurred_at: datetime | None = None  # the event's own time


@dataclass(frozen=True)
class Received:
    """A stored delivery as a fold sees it."""

    event: str
    payload: Any
    occurred_at: datetime | None
    received_at: datetime


class Mapper(Protocol):
    events: frozenset[str]  # the events it reads; any other is recorded and ignored

    def read(self, event: str, payload: Any) -> Reading: ...

    def fold(self, source: Source, run_key: str, deliveries: list[Received], pushes: list[Received]) -> dict | None:
        """The run (ingest shape, no `id`), or None when the deliveries do not make one yet. Jobs may carry
        `production: bool` beside the API's fields: what an environment they create first is flagged as
        (else the source's environment pattern decides)."""


MAPPERS: dict[str, Mapper] = {}


def register(kind: str, mapper: Mapper) -> None:
    MAPPERS[kind] = mapper


def mapper_for(kind: str) -> Mapper | None:
    return MAPPERS.get(kind)


def received(delivery: Delivery, payload: Any) -> Received:
    return Received(delivery.event, payload, delivery.occurred_at, delivery.received_at)


_KEY_CHARACTERS = re.compile(r"[^a-z0-9_-]+")


def project_key(source: Source, repository: str) -> str:
    """The project a source's run goes to: the source's own, else one named after the repository's last
    part (`acme/web-shop` -> `web-shop`), created when first seen."""
    if source.project_id:
        return source.project.key
    name = repository.rsplit("/", 1)[-1].lower()
    return _KEY_CHARACTERS.sub("-", name).strip("-_")[:64] or "unnamed"
