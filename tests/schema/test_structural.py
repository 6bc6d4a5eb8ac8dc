"""The structural inputs schemathesis does not generate, sent to every operation of /api/schema/ and
to the Volcengine action (POST with a JSON body and GET with query parameters, signed by the SDK's
signer):

1. JSON nested 1,500 levels deep, as the whole body and as the value of each top-level field;
2. a lone surrogate (`"\\ud800"` in JSON, raw `%ED%A0%80` in a query string) as every string field's
   value, as an unknown field name, as every query and path parameter, and as `?token=`;
3. NUL (`"a\\u0000b"` in JSON, `a%00b` in a URL) in the same places;
4. huge numbers in every integer field (2**63, -2**63-1, 10**30, 1e308) and integer parameter;
5. 1,001 query parameters, without a token (401: authentication comes first) and with one (400);
6. a body just over DATA_UPLOAD_MAX_MEMORY_SIZE (made 1 KB here): 400 or 413.

Whatever the input, the answer is below 500, JSON (never an HTML page) in the documented envelope of
its family (API.md: Zadig's under /openapi/, DRF's under /api/v1/, Volcengine's for the action), and
a refused request stores nothing: the row count of every insights/cdnorigin table is unchanged.

Each operation's baseline (plausible parameters, a valid body) is sent too, and must succeed, so a
hostile case differs from an accepted request only in the one place it names.
"""

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.db import DatabaseError, transaction
from django.test import Client, override_settings

from cdnorigin import throttle
from cdnorigin.access_keys import create_access_key
from cdnorigin.models import Domain, OriginSample
from common.tokens import create_api_token
from insights.models import (
    Artifact,
    Cluster,
    Environment,
    Job,
    Project,
    Rollback,
    Service,
    ServiceSnapshot,
    Workflow,
    WorkflowRun,
)
from tests.cdnorigin.volc_client import ACTION_QUERY, sign
from tests.schema import structural as s

SCHEMA = s.load_schema()
OPERATIONS = s.operations(SCHEMA)
VOLC_PATH = "/?Action=DescribeCdnOriginData&Version=2021-03-01"
VOLC_POST = s.Operation("POST", VOLC_PATH)
VOLC_GET = s.Operation("GET", VOLC_PATH)
VOLC_STRINGS = ("Metric", "Domain", "Interval", "Aggregate")
VOLC_INTEGERS = ("StartTime", "EndTime")
# What Django makes of the raw surrogate bytes of a query string (one U+FFFD per byte): the
# signature covers that, so the signed request reaches parameter validation.
REPLACEMENT = bytes.fromhex("eda080").decode("utf-8", "replace")

# What a case accepts.
SUCCESS = "success"  # the baseline: 2xx
BELOW_500 = "below 500"
REFUSED = "refused (4xx)"
UNAUTHORIZED = "401"
BAD_REQUEST = "400"
TOO_LARGE = "400 or 413"


@dataclass
class Request:
    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    upload_limit: int | None = None


@dataclass
class World:
    token: str
    access_key: tuple[str, str]
    path_values: dict[str, str]

    def volc_params(self) -> dict:
        return volc_params()


def volc_params() -> dict:
    """Valid DescribeCdnOriginData parameters: the last hour of the fixture's domain."""
    end = int(datetime.now(UTC).timestamp()) // 300 * 300
    return {
        "Metric": "pv",
        "Domain": "www.example.com",
        "Interval": "5min",
        "Aggregate": "disaggregate",
        "StartTime": end - 3600,
        "EndTime": end,
    }


@dataclass(frozen=True)
class Case:
    op: s.Operation
    name: str
    build: Callable[[World], Request] = field(compare=False, hash=False)
    target: str = ""
    expect: str = BELOW_500

    @property
    def id(self) -> str:
        return f"{self.op} {self.name}" + (f"@{self.target}" if self.target else "")


# --------------------------------------------------------------------------------------------------
# Requests to the REST operations


def api_url(op: s.Operation, world: World, query: dict | None = None, raw: dict | None = None, path=None) -> str:
    """op's path with its path parameters filled (an existing row's key, or `path`'s raw values)."""
    url = op.path
    for index, param in enumerate(op.path_params):
        value = (path or {}).get(param.name)
        if value is None:
            # The stored row's key names the first parameter; a nested one (a job's position) takes 0.
            default = ("0" if index else "1") if param.kind == "integer" else "x"
            known = world.path_values.get(op.path) if index == 0 else None
            value = quote(str(known if known is not None else default), safe="")
        url = url.replace("{" + param.name + "}", value)
    text = s.query_string(query or {}, raw)
    return f"{url}?{text}" if text else url


def bearer(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token}"}


def api_request(op, world, *, query=None, raw=None, path=None, body=None, anonymous=False, limit=None) -> Request:
    if body is None and op.method != "GET" and op.body_schema is not None:
        body = s.encode(s.body_example(SCHEMA, op))
    return Request(
        op.method,
        api_url(op, world, query, raw, path),
        body,
        {} if anonymous else bearer(world),
        upload_limit=limit,
    )


# --------------------------------------------------------------------------------------------------
# Requests to the Volcengine action, signed as the SDK signs them


def signed(world: World, method: str, *, params=None, query=None, body=None, raw_surrogate=None) -> Request:
    """A request signed by the SDK's signer. `raw_surrogate` names a query parameter signed as
    REPLACEMENT (what the server decodes) and sent as the raw bytes of a lone surrogate."""
    signed_request = sign(*world.access_key, method=method, params=params, query=query, body=body)
    parts = []
    for name, value in signed_request.query:
        text = s.SURROGATE_QUERY if name == raw_surrogate else quote(str(value), safe="")
        parts.append(f"{quote(name, safe='')}={text}")
    headers = {k: v for k, v in signed_request.headers.items() if k.lower() != "content-type"}
    return Request(method, "/?" + "&".join(parts), signed_request.body, headers, signed_request.content_type)


def volc_body_request(world: World, body: bytes, limit: int | None = None) -> Request:
    request = signed(world, "POST", body=body)
    request.upload_limit = limit
    return request


# --------------------------------------------------------------------------------------------------
# The cases


def body_cases(op: s.Operation, base_of: Callable[[World], object], send_body) -> list[Case]:
    """Cases 1-4 and 6 in a JSON body: `base_of(world)` is a valid body, `send_body(world, bytes, limit)`
    the request carrying it."""
    example = base_of(None)
    volc = op.family == "volc"
    cases = []

    def add(name, make_body, target="", expect=REFUSED, limit=None):
        cases.append(Case(op, name, lambda world: send_body(world, make_body(base_of(world)), limit), target, expect))

    add("baseline", s.encode, expect=SUCCESS)
    add("nested-body-array", lambda base: s.nested_array_text().encode())
    add("nested-body-object", lambda base: s.nested_object_text().encode())
    top = example if isinstance(example, dict) else {}
    for key in top:
        add("nested-field", lambda base, key=key: s.encode(s.replaced(base, (key,), s.NESTED)), key)
    fields = s.leaves(SCHEMA, op.body_schema, example) if op.body_schema else volc_leaves(example)
    for where, kind in fields:
        if kind == "string":
            for name, value in (("surrogate-value", s.SURROGATE), ("nul-value", s.NUL)):
                add(name, lambda base, w=where, v=value: s.encode(s.replaced(base, w, v)), s.show(where))
        else:
            for label, value in s.HUGE_INTEGERS.items():
                add(
                    "huge-int",
                    lambda base, w=where, v=value: s.encode(s.replaced(base, w, v)),
                    f"{s.show(where)}={label}",
                )
    # Unknown field names in every object: the REST serializers refuse them (and `status` maps take
    # only status codes); the action ignores unknown parameters, but no parser may let a lone
    # surrogate through.
    for where in s.object_paths(example):
        add("surrogate-key", lambda base, w=where: s.encode(s.with_key(base, w, s.SURROGATE)), s.show(where))
        add(
            "nul-key",
            lambda base, w=where: s.encode(s.with_key(base, w, s.NUL)),
            s.show(where),
            BELOW_500 if volc else REFUSED,
        )
    add(
        "oversize-body",
        lambda base: s.encode(base).ljust(max(s.UPLOAD_LIMIT, len(s.encode(base))) + 1),
        f"limit={s.UPLOAD_LIMIT}",
        TOO_LARGE,
        s.UPLOAD_LIMIT,
    )
    return cases


def volc_leaves(example: dict) -> list[tuple[tuple, str]]:
    return [((name,), "integer" if name in VOLC_INTEGERS else "string") for name in example]


def query_cases(op: s.Operation) -> list[Case]:
    """Cases 1-4 in the query string and path of a GET of the REST API."""
    cases = [Case(op, "baseline", lambda world: api_request(op, world, query=s.plausible_query(op)), "", SUCCESS)]
    params = op.query_params or (s.Param("q", "query", {"type": "string"}),)
    for param in params:

        def query(world, value=None, raw=None, param=param):
            values = {k: v for k, v in s.plausible_query(op).items() if k != param.name}
            return api_request(op, world, query={**values, **({param.name: value} if value else {})}, raw=raw)

        cases += [
            Case(op, "nested-json-query", lambda w, q=query: q(w, value=s.nested_array_text()), param.name),
            Case(op, "surrogate-query", lambda w, q=query, n=param.name: q(w, raw={n: s.SURROGATE_QUERY}), param.name),
            Case(op, "nul-query", lambda w, q=query, n=param.name: q(w, raw={n: s.NUL_QUERY}), param.name),
        ]
        if param.kind == "integer":
            cases.append(
                Case(
                    op,
                    "huge-int-query",
                    lambda w, q=query, n=param.name: q(w, raw={n: s.HUGE_QUERY_INTEGER}),
                    f"{param.name}={s.HUGE_QUERY_INTEGER}",
                )
            )
    for param in op.path_params:
        bad = {"nul-path": s.NUL_QUERY, "surrogate-path": s.SURROGATE_QUERY}
        if param.kind == "integer":
            bad["huge-int-path"] = s.HUGE_QUERY_INTEGER
        for name, value in bad.items():
            cases.append(
                Case(
                    op,
                    name,
                    lambda w, n=param.name, v=value: api_request(op, w, query=s.plausible_query(op), path={n: v}),
                    param.name,
                )
            )
    return cases


def auth_cases(op: s.Operation) -> list[Case]:
    """?token= holding a surrogate or NUL, no header: 401. Case 5: 1,001 parameters."""
    base = s.plausible_query(op) if op.method == "GET" else {}
    return [
        Case(
            op,
            "surrogate-token-query",
            lambda w: api_request(op, w, query=base, raw={"token": s.SURROGATE_QUERY}, anonymous=True),
            "token",
            UNAUTHORIZED,
        ),
        Case(
            op,
            "nul-token-query",
            lambda w: api_request(op, w, query=base, raw={"token": s.NUL_QUERY}, anonymous=True),
            "token",
            UNAUTHORIZED,
        ),
        Case(
            op,
            "many-params-anonymous",
            lambda w: api_request(op, w, query=base, raw=many_parameters(), anonymous=True),
            "1001",
            UNAUTHORIZED,
        ),
        Case(
            op,
            "many-params-token",
            lambda w: api_request(op, w, query=base, raw=many_parameters()),
            "1001",
            BAD_REQUEST,
        ),
    ]


def many_parameters() -> dict[str, str]:
    return {f"a{index}": "1" for index in range(1001)}


def volc_cases() -> list[Case]:
    cases = body_cases(VOLC_POST, lambda world: volc_params(), volc_body_request)
    many = {**ACTION_QUERY, **many_parameters()}
    cases += [
        Case(
            VOLC_POST,
            "many-params-anonymous",
            lambda w: Request("POST", "/?" + s.query_string(many), s.encode(w.volc_params())),
            "1001",
            # The action is named in the query string, so an unreadable one is refused before the
            # signature (which covers that query) can be checked: 400 InvalidParameter.Query.
            BAD_REQUEST,
        ),
        Case(
            VOLC_POST,
            "many-params-signed",
            lambda w: signed(w, "POST", params=w.volc_params(), query=many),
            "1001",
            BAD_REQUEST,
        ),
        Case(VOLC_GET, "baseline", lambda w: signed(w, "GET", params=w.volc_params()), "", SUCCESS),
        Case(
            VOLC_GET,
            "many-params-anonymous",
            lambda w: Request("GET", "/?" + s.query_string({**many, **w.volc_params()}), b"{}"),
            "1001",
            BAD_REQUEST,
        ),
        Case(
            VOLC_GET,
            "many-params-signed",
            lambda w: signed(w, "GET", params=w.volc_params(), query=many),
            "1001",
            BAD_REQUEST,
        ),
    ]
    for name in (*VOLC_STRINGS, *VOLC_INTEGERS):

        def get(world, value, name=name, raw=False):
            params = {**world.volc_params(), name: REPLACEMENT if raw else value}
            return signed(world, "GET", params=params, raw_surrogate=name if raw else None)

        cases += [
            Case(VOLC_GET, "nested-json-query", lambda w, g=get: g(w, s.nested_array_text()), name, REFUSED),
            Case(VOLC_GET, "surrogate-query", lambda w, g=get: g(w, None, raw=True), name, REFUSED),
            Case(VOLC_GET, "nul-query", lambda w, g=get: g(w, s.NUL), name, REFUSED),
        ]
        if name in VOLC_INTEGERS:
            cases.append(
                Case(
                    VOLC_GET,
                    "huge-int-query",
                    lambda w, g=get: g(w, s.HUGE_QUERY_INTEGER),
                    f"{name}={s.HUGE_QUERY_INTEGER}",
                    REFUSED,
                )
            )
    return cases


def all_cases() -> list[Case]:
    cases = []
    for op in OPERATIONS:
        if op.method == "GET":
            cases += query_cases(op)
        elif op.method in ("PATCH", "DELETE"):
            pass  # edits of one stored row: their bodies are fuzzed by tests/schema/test_fuzz_api.py
        else:

            def base_of(world, op=op):
                return s.body_example(SCHEMA, op)

            def send_body(world, body, limit, op=op):
                return api_request(op, world, query=s.plausible_query(op), body=body, limit=limit)

            cases += body_cases(op, base_of, send_body)
        cases += auth_cases(op)
    return cases + volc_cases()


CASES = all_cases()


# --------------------------------------------------------------------------------------------------
# Fixtures

TICKS = itertools.count(start=random.randrange(3 * 10**9, 4 * 10**9, 10**6))


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch):
    """Every action request in a second of its own: the throttle is not what is tested here."""
    monkeypatch.setattr(throttle, "limiter", throttle.RateLimiter(clock=lambda: next(TICKS)))


@pytest.fixture
def world(db) -> World:
    """One row of every kind the operations address, a write token and an access key."""
    project = Project.objects.create(key="shop", name="Shop")
    cluster = Cluster.objects.create(name="prod-bj-1")
    environment = Environment.objects.create(project=project, name="prod", production=True, cluster=cluster)
    service = Service.objects.create(project=project, name="web", service_type="k8s")
    workflow = Workflow.objects.create(project=project, name="build")
    artifact = Artifact.objects.create(project=project, name="web", type="image", uri="registry.example.com/web:1")
    at = datetime(2022, 8, 1, 2, tzinfo=UTC)
    run = WorkflowRun.objects.create(id="ci-1", project=project, workflow=workflow, status="passed", created_at=at)
    Job.objects.create(
        run=run, project=project, name="build-web", type="build", status="passed", started_at=at, finished_at=at
    )
    rollback = Rollback.objects.create(project=project, env_name="prod", service_name="web", create_time=at)
    for role in ("origin", "update"):
        ServiceSnapshot.objects.create(rollback=rollback, role=role, service_name="web")
    domain = Domain.objects.create(name="www.example.com")
    sample = OriginSample.objects.create(
        domain=domain, minute=datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30), flux=1, pv=1
    )
    by_collection = {
        "/api/v1/artifacts/": artifact.pk,
        "/api/v1/cdn/domains/": domain.name,
        "/api/v1/cdn/origin-samples/": sample.pk,
        "/api/v1/clusters/": cluster.name,
        "/api/v1/environments/": environment.pk,
        "/api/v1/projects/": project.key,
        "/api/v1/rollbacks/": rollback.pk,
        "/api/v1/services/": service.pk,
        "/api/v1/workflow-runs/": run.pk,
        "/api/v1/workflows/": workflow.pk,
    }
    path_values = {}
    for op in OPERATIONS:
        collection = op.path.split("{")[0]
        if op.path_params and collection in by_collection:
            path_values[op.path] = str(by_collection[collection])
    return World(create_api_token("structural"), create_access_key("structural"), path_values)


# --------------------------------------------------------------------------------------------------
# The test


def send(request: Request):
    """The request through Django's test client; an exception the view let escape becomes its 500
    (with `exc_info`). The request runs in a savepoint so that a statement PostgreSQL refused cannot
    poison the test's transaction (and the row counts after it)."""
    client = Client(raise_request_exception=False)
    settings = override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=request.upload_limit) if request.upload_limit else None
    if settings:
        settings.enable()
    response = None
    try:
        with transaction.atomic():
            response = client.generic(
                request.method,
                request.url,
                data=request.body or b"",
                content_type=request.content_type,
                headers=request.headers,
            )
    except DatabaseError:
        if response is None:
            raise
    finally:
        if settings:
            settings.disable()
    return response


def status_problem(expect: str, status: int) -> str | None:
    ok = {
        SUCCESS: 200 <= status < 300,
        BELOW_500: status < 500,
        REFUSED: 400 <= status < 500,
        UNAUTHORIZED: status == 401,
        BAD_REQUEST: status == 400,
        TOO_LARGE: status in (400, 413),
    }[expect]
    return None if ok else f"expected {expect}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_structural_input_is_answered_in_the_envelope_and_stores_nothing(case, world):
    request = case.build(world)
    before = s.row_counts()
    response = send(request)
    changes = s.count_changes(before, s.row_counts())

    problems = []
    if problem := status_problem(case.expect, response.status_code):
        problems.append(problem)
    if case.expect != UNAUTHORIZED and response.status_code in (401, 403):
        problems.append("the authenticated (signed) request was refused as unauthenticated: the case tests nothing")
    problems += s.envelope_problems(case.op.path, response)
    if changes and case.expect != SUCCESS:
        problems.append(f"stored {changes}")
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        problems.append(f"raised {exc_info[0].__module__}.{exc_info[0].__qualname__}: {str(exc_info[1])[:160]}")
    assert not problems, (
        f"HTTP {response.status_code} {response.get('Content-Type')!r}: "
        + "; ".join(problems)
        + f" | body {response.content[:160]!r}"
    )
