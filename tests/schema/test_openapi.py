"""The OpenAPI schema at /api/schema/ and Swagger UI at /api/docs/: public, offline, complete, warning-free."""

from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

ZADIG = ("overview", "build", "deploy", "test", "v2/release", "v2/rollback/detail")


@pytest.fixture
def schema(anonymous_client):
    response = anonymous_client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_generation_has_no_warnings(tmp_path):
    """`spectacular --validate --fail-on-warn` raises on any warning or an invalid OpenAPI document."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["openapi"].startswith("3.")


def test_the_committed_reference_is_the_schema_the_code_generates(tmp_path):
    """docs/api/openapi.yaml is the API as built, readable without a running server: it must not drift."""
    call_command("spectacular", "--file", str(tmp_path / "schema.yaml"))
    committed = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"
    assert (tmp_path / "schema.yaml").read_text() == committed.read_text(), (
        "docs/api/openapi.yaml is stale: run `python manage.py spectacular --file docs/api/openapi.yaml`"
    )


def test_schema_is_public_even_with_a_bad_token(anonymous_client):
    assert anonymous_client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 200
    assert anonymous_client.get("/api/schema/?format=json").json()["info"]["title"] == "Insights service API"


def test_schema_covers_the_ingest_api_and_the_zadig_endpoints(schema):
    paths = schema["paths"]
    for resource in ("projects", "workflow-runs", "rollbacks", "cdn/domains", "cdn/origin-samples"):
        assert set(paths[f"/api/v1/{resource}/"]) == {"get", "post"}
    for endpoint in ZADIG:
        assert set(paths[f"/openapi/statistics/{endpoint}"]) == {"get"}
        assert paths[f"/openapi/statistics/{endpoint}"]["get"]["responses"]["401"]["content"]["application/json"][
            "schema"
        ] == {"$ref": "#/components/schemas/ZadigError"}


def test_every_operation_takes_the_token_as_bearer_header_or_query(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert (schemes["tokenQuery"]["in"], schemes["tokenQuery"]["name"]) == ("query", "token")
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert {"bearerAuth": []} in operation["security"] and {"tokenQuery": []} in operation["security"]


def test_ingest_bodies_are_one_object_or_a_list(schema):
    body = schema["paths"]["/api/v1/projects/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    item = {"$ref": "#/components/schemas/ProjectRequest"}
    assert component == {"oneOf": [item, {"type": "array", "items": item}]}
    responses = schema["paths"]["/api/v1/workflow-runs/"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403"} <= set(responses)


def test_zadig_parameters_are_documented_with_their_aliases(schema):
    def names(endpoint):
        return {p["name"]: p for p in schema["paths"][f"/openapi/statistics/{endpoint}"]["get"]["parameters"]}

    assert {"productNames", "projectKey", "startDate", "endDate"} == set(names("build"))
    release = names("v2/release")
    assert {"start_time", "end_time", "project_name", "startTime", "endTime", "projectKey"} == set(release)
    assert release["start_time"]["required"] is True
    rollback = names("v2/rollback/detail")
    assert rollback["pageSize"]["schema"]["maximum"] == 1000 and rollback["pageSize"]["required"] is True


def test_swagger_ui_is_public_and_served_from_our_own_static_files(anonymous_client):
    response = anonymous_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "//cdn." not in html and "jsdelivr" not in html and "unpkg" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}")


# Words that belong to the code, not to a description an API user reads in Swagger UI.
CODE_WORDS = ("Serializer", "batch_key", "INGEST_MAX_BATCH", "Base of", "`write`", "team's", "seed", "API.md", "DRF")


def _descriptions(node, path="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield path, value
            else:
                yield from _descriptions(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _descriptions(value, f"{path}/{index}")


def test_descriptions_speak_to_api_users_not_about_the_code(schema):
    leaks = [
        (path, text)
        for path, text in _descriptions(schema)
        if any(word in text for word in CODE_WORDS)
        or any(part in text for part in ("insights.", "cdnorigin.", "common."))
    ]
    assert leaks == []


def test_every_component_and_operation_is_described(schema):
    undescribed = [
        name for name, component in schema["components"]["schemas"].items() if "description" not in component
    ]
    # drf-spectacular's own components: enums, pages, and the one-object-or-a-list bodies.
    generated = ("Enum", "OneOrList", "Paginated")
    assert [name for name in undescribed if not any(part in name for part in generated)] == []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description"), f"{method.upper()} {path}"
