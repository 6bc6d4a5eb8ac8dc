"""Helpers of test_structural.py: the OpenAPI schema walked into operations, fields and plausible
values; the hostile payloads; the error envelope of each URL family; row counts.

Everything here is plain data and functions: the cases are built at collection time from the schema
that /api/schema/ serves, the requests at run time from the rows a test created.
"""

import copy
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from django.apps import apps
from django.test import Client

DEPTH = 1500
# A lone UTF-16 surrogate as a JSON escape (valid JSON text) and as the raw UTF-8-style bytes of a
# query string (no valid UTF-8 can hold it, so the bytes are sent as they are).
SURROGATE = "\ud800"
SURROGATE_QUERY = "%ED%A0%80"
NUL = "a\x00b"
NUL_QUERY = "a%00b"
HUGE_INTEGERS = {"2**63": 2**63, "-2**63-1": -(2**63) - 1, "10**30": 10**30, "1e308": 1e308}
HUGE_QUERY_INTEGER = "99999999999999999999"
MANY_PARAMETERS = "&".join(f"a{index}=1" for index in range(1001))
UPLOAD_LIMIT = 1024

# A placeholder swapped for the 1,500-deep JSON text after encoding (json.dumps would recurse too deep).
_NESTED_MARK = "\x01structural-nested\x01"
NESTED = object()

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
TIME = "2022-08-01T10:00:00+08:00"
UNIX_TIME = 1659319200  # TIME as Unix seconds
START_DAY, END_DAY = 1659283200, 1659888000


def nested_array_text(depth: int = DEPTH) -> str:
    return "[" * depth + "]" * depth


def nested_object_text(depth: int = DEPTH) -> str:
    return '{"a":' * depth + "{}" + "}" * depth


# --------------------------------------------------------------------------------------------------
# The schema


def load_schema() -> dict:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "query" or "path"
    schema: dict = field(hash=False, compare=False)
    required: bool = False

    @property
    def kind(self) -> str:
        """integer, string, boolean or array-of-<item kind> reduced to the item kind."""
        schema = self.schema
        if schema.get("type") == "array":
            schema = schema.get("items", {})
        kind = schema.get("type", "string")
        # django-filter's boolean choices are documented as enums of strings.
        if "enum" in schema and kind == "integer" and not all(str(v).isdigit() for v in schema["enum"]):
            return "string"
        return kind


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the template, e.g. /api/v1/projects/{key}/
    params: tuple[Param, ...] = ()
    body_schema: dict | None = field(default=None, hash=False, compare=False)
    component: str = ""  # the request body's component name, for value hints

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "query")

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "path")

    @property
    def family(self) -> str:
        return family(self.path)


def family(path: str) -> str:
    if path.startswith("/openapi/"):
        return "zadig"
    if path.startswith("/api/"):
        return "drf"
    return "volc"


def resolve(schema: dict, node: dict) -> dict:
    """`$ref` followed; of `oneOf`/`anyOf` the first alternative that is not a list; `allOf` merged."""
    while True:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**schema["components"]["schemas"][name], **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        for combinator in ("oneOf", "anyOf"):
            if combinator in node:
                options = [resolve(schema, option) for option in node[combinator]]
                chosen = next((o for o in options if o.get("type") != "array"), options[0])
                rest = {k: v for k, v in node.items() if k != combinator}
                node = {**chosen, **rest}
                break
        else:
            if "allOf" in node:
                merged = {k: v for k, v in node.items() if k != "allOf"}
                for part in node["allOf"]:
                    merged = {**resolve(schema, part), **merged}
                node = merged
                continue
            return node


def operations(schema: dict) -> list[Operation]:
    found = []
    for path, item in sorted(schema["paths"].items()):
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method not in item:
                continue
            spec = item[method]
            params = tuple(
                Param(p["name"], p["in"], p.get("schema", {}), bool(p.get("required")))
                for p in [*shared, *spec.get("parameters", [])]
                if p.get("in") in ("query", "path")
            )
            body_schema, component = None, ""
            content = spec.get("requestBody", {}).get("content", {})
            media = content.get("application/json") or next(iter(content.values()), None)
            if media is not None:
                body_schema = media["schema"]
                component = body_schema.get("$ref", "").rsplit("/", 1)[-1]
            found.append(Operation(method.upper(), path, params, body_schema, component))
    return found


# --------------------------------------------------------------------------------------------------
# Plausible values: rows the test created are named by these keys.

STRING_HINTS = {
    "project": "shop",
    "project_key": "shop",
    "domain": "www.example.com",
    "cluster": "prod-bj-1",
    "environment": "prod",
    "env_name": "prod",
    "service": "web",
    "service_name": "web",
    "workflow": "build",
    "uri": "registry.example.com/web:1",
    "image": "registry.example.com/web:1",
    "id": "structural-1",
    "key": "structural",
    "name": "structural",
    "sha": "5e1f" * 10,
    "repo": "shop/web",
}
# Names that must be unique or shaped, per request component.
COMPONENT_HINTS = {"DomainOneOrListRequest": {"name": "structural.example.com"}}


def example(schema: dict, node: dict, name: str = "", hints: dict | None = None) -> Any:
    """A valid value for `node` (as far as the schema and the fixture rows tell)."""
    hints = hints or {}
    node = resolve(schema, node)
    if "oneOf" in node and "type" not in node:  # e.g. a time as ISO text or Unix seconds: the first form
        return example(schema, node["oneOf"][0], name, hints)
    if "enum" in node:
        return next((v for v in node["enum"] if v not in ("", None)), node["enum"][0])
    kind = node.get("type")
    if kind is None and "properties" in node:
        kind = "object"
    if kind == "object":
        properties = node.get("properties", {})
        if properties:
            return {
                key: example(schema, sub, key, hints)
                for key, sub in properties.items()
                if not sub.get("readOnly") and not resolve(schema, sub).get("readOnly")
            }
        if isinstance(node.get("additionalProperties"), dict):
            return {"200": example(schema, node["additionalProperties"], "200", hints)}
        return {}
    if kind == "array":
        return [example(schema, node.get("items", {}), name, hints)]
    if kind == "string":
        if node.get("format") == "date-time":
            return TIME
        return hints.get(name, STRING_HINTS.get(name, "x"))
    if kind == "integer":
        low, high = node.get("minimum", 0), node.get("maximum", 2**31 - 1)
        wanted = UNIX_TIME if ("time" in name or "timestamp" in name) else 1
        return max(low, min(high, wanted))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    return "x"


def body_example(schema: dict, op: Operation) -> Any:
    return example(schema, op.body_schema, hints=COMPONENT_HINTS.get(op.component, {}))


def leaves(schema: dict, node: dict, value: Any, where: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, kind) of every string and integer in the example `value` of `node` (kind: string/integer)."""
    node = resolve(schema, node)
    found = []
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for key, item in value.items():
            sub = properties.get(key) or node.get("additionalProperties") or {}
            found.extend(leaves(schema, sub if isinstance(sub, dict) else {}, item, (*where, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(leaves(schema, node.get("items", {}), item, (*where, index)))
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        found.append((where, "integer"))
    elif isinstance(value, str):
        found.append((where, "string"))
    return found


def show(where: tuple) -> str:
    text = ""
    for step in where:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "body"


def replaced(value: Any, where: tuple, new: Any) -> Any:
    result = copy.deepcopy(value)
    if not where:
        return new
    target = result
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = new
    return result


def object_paths(value: Any, where: tuple = ()) -> list[tuple]:
    """The path of every JSON object in `value`, the body itself first."""
    found = []
    if isinstance(value, dict):
        found.append(where)
        for key, item in value.items():
            found.extend(object_paths(item, (*where, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(object_paths(item, (*where, index)))
    return found


def with_key(value: Any, where: tuple, key: str) -> Any:
    """`value` with one more member, named `key`, in the object at `where` (holding a copy of its
    first member's value, so that only the name is wrong in a map such as `status`)."""
    result = copy.deepcopy(value)
    target = result
    for step in where:
        target = target[step]
    target[key] = copy.deepcopy(next(iter(target.values()), "x"))
    return result


def encode(value: Any) -> bytes:
    """JSON text, ASCII only (so a lone surrogate or NUL travels as its escape), big ints exact;
    NESTED stands for the 1,500-deep object."""
    text = json.dumps(value, ensure_ascii=True, default=_nested_default)
    return text.replace(json.dumps(_NESTED_MARK), nested_object_text()).encode()


def _nested_default(value):
    if value is NESTED:
        return _NESTED_MARK
    raise TypeError(value)


def plausible_query(op: Operation) -> dict[str, str]:
    """Values for the required query parameters (and a day range where the range is optional)."""
    values = {}
    required = [p for p in op.query_params if p.required]
    chosen = required or [
        p for p in op.query_params if p.kind == "integer" and p.name.lower().startswith(("start", "end"))
    ]
    for param in chosen:
        values[param.name] = plausible_query_value(param)
    return values


def plausible_query_value(param: Param) -> str:
    name = param.name.lower()
    if param.kind == "integer":
        if name.startswith("start"):
            return str(START_DAY)
        if name.startswith("end"):
            return str(END_DAY)
        if name == "pagesize":
            return "10"
        return "1"
    if param.schema.get("format") == "date-time":
        return TIME
    if param.schema.get("enum"):  # a required choice, e.g. the DORA metric
        return str(param.schema["enum"][0])
    return STRING_HINTS.get(param.name, "x")


def query_string(values: dict[str, object], raw: dict[str, str] | None = None) -> str:
    """`values` percent-encoded, then `raw` appended exactly as given (already encoded)."""
    parts = [f"{quote(name, safe='')}={quote(str(value), safe='')}" for name, value in values.items()]
    parts += [f"{quote(name, safe='')}={value}" for name, value in (raw or {}).items()]
    return "&".join(parts)


# --------------------------------------------------------------------------------------------------
# What every answer must look like


def _is_json(response) -> bool:
    media = response.get("Content-Type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _drf_messages(value) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, list):
        return all(_drf_messages(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _drf_messages(item) for key, item in value.items())
    return False


def envelope_problems(path: str, response) -> list[str]:
    """Every way `response` departs from its family's documented envelope (API.md); [] when none."""
    status = response.status_code
    content = response.content
    problems = []
    if not _is_json(response):
        problems.append(f"Content-Type {response.get('Content-Type')!r}, not JSON")
    try:
        data = json.loads(content)
    except ValueError:
        return [*problems, f"body is not JSON: {content[:120]!r}"]
    kind = family(path)
    if kind == "volc":
        metadata = data.get("ResponseMetadata") if isinstance(data, dict) else None
        if not isinstance(metadata, dict):
            return [*problems, f"no ResponseMetadata: {content[:200]!r}"]
        if metadata.get("Service") != "CDN" or metadata.get("Region") != "cn-north-1":
            problems.append(f"ResponseMetadata Service/Region wrong: {metadata!r:.200}")
        if not {"RequestId", "Action", "Version"} <= set(metadata):
            problems.append(f"ResponseMetadata lacks RequestId/Action/Version: {metadata!r:.200}")
        if status == 200:
            if "Result" not in data or "Error" in metadata:
                problems.append(f"200 without Result: {content[:200]!r}")
        else:
            error = metadata.get("Error")
            if (
                set(data) != {"ResponseMetadata"}
                or not isinstance(error, dict)
                or set(error) != {"CodeN", "Code", "Message"}
                or not isinstance(error["CodeN"], int)
                or not isinstance(error["Code"], str)
                or not isinstance(error["Message"], str)
            ):
                problems.append(f"not a Volcengine error envelope: {content[:200]!r}")
        return problems
    if status < 400:
        return problems
    if kind == "zadig":
        expected = {
            "type": "error",
            "message": HTTPStatus(status).phrase,
            "code": status,
            "extra": {},
        }
        if (
            not isinstance(data, dict)
            or set(data) != {"type", "message", "code", "description", "extra"}
            or any(data[key] != value for key, value in expected.items())
            or not isinstance(data["description"], str)
            or not data["description"]
        ):
            problems.append(f"not the Zadig error envelope: {content[:200]!r}")
        return problems
    # DRF: {"detail": "..."}, field -> messages, or for a batch a list with one entry per item.
    if isinstance(data, dict) and "detail" in data:
        if set(data) != {"detail"} or not isinstance(data["detail"], str):
            problems.append(f"not DRF's {{'detail': ...}}: {content[:200]!r}")
    elif isinstance(data, dict):
        if not data or not _drf_messages(data):
            problems.append(f"not DRF's field -> messages: {content[:200]!r}")
    elif isinstance(data, list):
        if not data or not all(isinstance(item, dict) and _drf_messages(item) for item in data):
            problems.append(f"not DRF's per-item errors: {content[:200]!r}")
    else:
        problems.append(f"not a DRF error body: {content[:200]!r}")
    return problems


def assert_envelope(path: str, response) -> None:
    """The answer is JSON in the documented envelope of `path`'s family (API.md):
    /openapi/ errors Zadig's `{"type","message","code","description","extra"}`, /api/v1/ errors DRF's
    shape, Volcengine answers `ResponseMetadata` (with `Error` = {CodeN, Code, Message} unless 200)."""
    problems = envelope_problems(path, response)
    assert not problems, f"{path}: HTTP {response.status_code}: " + "; ".join(problems)


# --------------------------------------------------------------------------------------------------
# Rows


def stored_models():
    return [
        model
        for label in ("insights", "cdnorigin")
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy
    ]


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in stored_models()}


def count_changes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {label: after[label] - before[label] for label in before if after[label] != before[label]}
