"""GitHub's own example webhook payloads (@octokit/webhooks-examples), from .cache/webhooks-examples/.

`make webhook-examples` (tests/sources/fetch_webhook_examples.py) puts them there. Without them the tests
using them skip, unless INSIGHTS_REQUIRE_WEBHOOK_EXAMPLES=1, when they fail (CI sets it).
"""

import copy
import functools
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / ".cache" / "webhooks-examples"
EVENTS = ("workflow_run", "workflow_job", "deployment_status", "push", "ping")


def required() -> bool:
    return os.environ.get("INSIGHTS_REQUIRE_WEBHOOK_EXAMPLES", "") not in ("", "0")


@functools.cache
def _load() -> dict[str, list[tuple[str, dict]]]:
    """Per event, (id, payload) of every distinct example of every host (api.github.com, ghes-*)."""
    found: dict[str, list[tuple[str, dict]]] = {}
    seen = set()
    for index in sorted(ROOT.glob("*/index.json")):
        host = index.parent.name
        for webhook in json.loads(index.read_text()):
            for number, example in enumerate(webhook.get("examples", [])):
                key = json.dumps(example, sort_keys=True)
                if (webhook["name"], key) in seen:
                    continue
                seen.add((webhook["name"], key))
                found.setdefault(webhook["name"], []).append((f"{host}-{webhook['name']}-{number}", example))
    return found


def available() -> bool:
    return (ROOT / "api.github.com" / "index.json").exists()


def need() -> None:
    """Skip the calling test without the examples (fail instead when they are required)."""
    if available():
        return
    message = f"GitHub's webhook examples are not in {ROOT}: run `make webhook-examples`"
    if required():
        pytest.fail(message)
    pytest.skip(message)


def examples(event: str) -> list[tuple[str, dict]]:
    """Every example of `event`, fresh copies; [] without the examples."""
    if not available():
        return []
    return [(name, copy.deepcopy(payload)) for name, payload in _load().get(event, [])]


def example(event: str, predicate=lambda payload: True) -> dict:
    need()
    for _name, payload in examples(event):
        if predicate(payload):
            return payload
    raise LookupError(f"no {event} example matches")


def params(*events: str) -> list:
    """pytest params over every example of the events; one param that skips (or fails) without them."""
    found = [pytest.param(event, payload, id=name) for event in events for name, payload in examples(event)]
    return found or [pytest.param(None, None, id="webhook-examples-missing")]
