"""Schemathesis fuzzes every operation of /api/schema/ against the WSGI app: whatever it sends, valid or
not, the answer is never a 5xx.

Requests carry a write token, so the authenticated code paths (validation, writes, selectors) are
exercised, not just the 401. A few catalogue rows exist so that generated keys sometimes hit data.
Deterministic (fixed seed, derandomized) and bounded (max-examples per operation), so it is fast.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from cdnorigin.models import Domain
from common.tokens import create_api_token
from config.wsgi import application
from insights.models import Cluster, Environment, Project, Service

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260901,
        "generation": {"mode": "all", "max-examples": 20, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


@pytest.fixture
def test_connection_kept():
    """Requests go straight to the WSGI app, not through Django's test client, so do what that client
    does: keep Django from closing the connection (and with it the test's transaction) per request."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def write_token(db, test_connection_kept):
    project = Project.objects.create(key="shop", name="Shop")
    cluster = Cluster.objects.create(name="prod-bj-1")
    Environment.objects.create(project=project, name="prod", production=True, cluster=cluster)
    Service.objects.create(project=project, name="web", service_type="k8s")
    Domain.objects.create(name="www.example.com")
    return create_api_token("fuzzer")


# Loaded at collection: generating the schema reads no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


@schema.parametrize()
# The fixture's rows and token are meant to be shared by every generated request of an operation.
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_request_makes_the_server_fail(case, write_token):
    response = case.call(headers={"Authorization": f"Bearer {write_token}"})
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
