"""`/api/v1/` catalogue resources: projects, clusters, environments, services, workflows, artifacts."""

from datetime import UTC, datetime

import pytest
from django.test import override_settings

from insights.models import Artifact, Cluster, Environment, Project, Service, Workflow

pytestmark = pytest.mark.django_db

# One valid item per resource; `update` changes a non-key field; `lookup` retrieves the created row.
RESOURCES = {
    "projects": {
        "model": Project,
        "item": {"key": "yaml", "name": "YAML demo"},
        "update": {"name": "Renamed"},
    },
    "clusters": {"model": Cluster, "item": {"name": "prod-cluster"}, "update": {}},
    "environments": {
        "model": Environment,
        "item": {"project": "demo", "name": "prod", "production": True, "cluster": "c1"},
        "update": {"production": False, "cluster": None},
    },
    "services": {
        "model": Service,
        "item": {"project": "demo", "name": "svc", "service_type": "k8s"},
        "update": {"service_type": "helm_chart"},
    },
    "workflows": {"model": Workflow, "item": {"project": "demo", "name": "build-deploy"}, "update": {}},
    "artifacts": {
        "model": Artifact,
        "item": {"project": "demo", "name": "svc", "type": "image", "uri": "registry.example.com/svc:1"},
        "update": None,
    },
}
KEYED = [name for name, spec in RESOURCES.items() if spec["update"] is not None]


def url(resource: str) -> str:
    return f"/api/v1/{resource}/"


@pytest.fixture(autouse=True)
def catalogue(db):
    project = Project.objects.create(key="demo", name="Demo")
    cluster = Cluster.objects.create(name="c1")
    return project, cluster


def lookup_of(resource: str, body: dict) -> str:
    return {"projects": body.get("key"), "clusters": body.get("name")}.get(resource, body["id"])


def without_generated(body: dict) -> dict:
    return {name: value for name, value in body.items() if name not in ("id", "created_at")}


@pytest.mark.parametrize("resource", RESOURCES)
def test_posting_one_object_creates_it_and_it_can_be_listed_and_retrieved(api_client, resource):
    item = RESOURCES[resource]["item"]
    created = api_client.post(url(resource), item, format="json")
    assert created.status_code == 201, created.json()
    assert without_generated(created.json()) == item
    assert datetime.fromisoformat(created.json()["created_at"]).tzinfo is not None

    listed = api_client.get(url(resource), {"id": created.json()["id"]})
    assert listed.status_code == 200
    assert listed.json()["results"] == [created.json()]

    retrieved = api_client.get(f"{url(resource)}{lookup_of(resource, created.json())}/")
    assert retrieved.status_code == 200
    assert retrieved.json() == created.json()


@pytest.mark.parametrize("resource", KEYED)
def test_posting_a_known_key_updates_the_row_and_answers_200(api_client, resource):
    spec = RESOURCES[resource]
    first = api_client.post(url(resource), spec["item"], format="json")
    count = spec["model"].objects.count()
    again = api_client.post(url(resource), {**spec["item"], **spec["update"]}, format="json")
    assert again.status_code == 200, again.json()
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["created_at"] == first.json()["created_at"]
    assert without_generated(again.json()) == {**spec["item"], **spec["update"]}
    assert spec["model"].objects.count() == count
    assert api_client.get(f"{url(resource)}{lookup_of(resource, first.json())}/").json() == again.json()


@pytest.mark.parametrize("resource", KEYED)
def test_reposting_the_same_batch_is_idempotent(api_client, resource):
    spec = RESOURCES[resource]
    key_name = "key" if resource == "projects" else "name"
    batch = [{**spec["item"], key_name: f"item-{index}"} for index in range(3)]
    first = api_client.post(url(resource), batch, format="json")
    second = api_client.post(url(resource), batch, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert spec["model"].objects.filter(**{f"{key_name}__startswith": "item-"}).count() == 3


def test_a_batch_answers_its_items_in_input_order_and_201_when_any_was_created(api_client):
    api_client.post(url("projects"), {"key": "old", "name": "Old"}, format="json")
    answer = api_client.post(
        url("projects"),
        [{"key": "zeta", "name": "Z"}, {"key": "old", "name": "Old 2"}, {"key": "alpha", "name": "A"}],
        format="json",
    )
    assert answer.status_code == 201
    assert [row["key"] for row in answer.json()] == ["zeta", "old", "alpha"]
    assert Project.objects.get(key="old").name == "Old 2"


def test_an_empty_batch_writes_nothing_and_answers_an_empty_list(api_client):
    answer = api_client.post(url("projects"), [], format="json")
    assert (answer.status_code, answer.json()) == (200, [])
    assert Project.objects.count() == 1


def test_artifacts_have_no_key_so_every_post_adds_a_row(api_client):
    item = RESOURCES["artifacts"]["item"]
    statuses = [api_client.post(url("artifacts"), item, format="json").status_code for _ in range(2)]
    assert statuses == [201, 201]
    assert Artifact.objects.count() == 2


def test_artifacts_list_newest_first(api_client):
    item = RESOURCES["artifacts"]["item"]
    ids = [row["id"] for row in api_client.post(url("artifacts"), [item, item, item], format="json").json()]
    Artifact.objects.filter(id=ids[0]).update(created_at=datetime(2030, 1, 1, tzinfo=UTC))
    listed = [row["id"] for row in api_client.get(url("artifacts")).json()["results"]]
    assert listed == [ids[0], ids[2], ids[1]]


def test_an_environment_keeps_its_cluster_when_a_repost_omits_it_and_loses_it_on_explicit_null(api_client):
    api_client.post(url("environments"), {"project": "demo", "name": "prod", "cluster": "c1"}, format="json")
    kept = api_client.post(url("environments"), {"project": "demo", "name": "prod", "production": True}, format="json")
    assert (kept.json()["cluster"], kept.json()["production"]) == ("c1", True)
    cleared = api_client.post(url("environments"), {"project": "demo", "name": "prod", "cluster": None}, format="json")
    assert (cleared.json()["cluster"], cleared.json()["production"]) == (None, True)


def test_an_environment_created_without_cluster_or_production_gets_null_and_false(api_client):
    answer = api_client.post(url("environments"), {"project": "demo", "name": "dev"}, format="json")
    assert (answer.json()["cluster"], answer.json()["production"]) == (None, False)


def test_same_name_in_two_projects_is_two_rows(api_client):
    Project.objects.create(key="other", name="Other")
    batch = [
        {"project": "demo", "name": "svc", "service_type": "vm"},
        {"project": "other", "name": "svc", "service_type": "vm"},
    ]
    assert api_client.post(url("services"), batch, format="json").status_code == 201
    assert Service.objects.filter(name="svc").count() == 2


def test_a_project_key_with_dots_is_retrievable(api_client):
    api_client.post(url("projects"), {"key": "team.app-1", "name": "T"}, format="json")
    assert api_client.get("/api/v1/projects/team.app-1/").json()["key"] == "team.app-1"


def test_retrieving_an_unknown_key_is_404(api_client):
    assert api_client.get("/api/v1/projects/nope/").status_code == 404
    assert api_client.get("/api/v1/clusters/nope/").status_code == 404
    assert api_client.get("/api/v1/environments/999999/").status_code == 404


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_rows_cannot_be_changed_or_deleted_other_than_by_post(api_client, method):
    answer = getattr(api_client, method)("/api/v1/projects/demo/", {"key": "demo", "name": "x"}, format="json")
    assert answer.status_code == 405
    assert Project.objects.get(key="demo").name == "Demo"


# --- bad input: 400 naming the field, nothing written -------------------------------------------

BAD_ITEMS = [
    ("projects", {"key": "has space", "name": "x"}, "key"),
    ("projects", {"key": "k" * 65, "name": "x"}, "key"),
    ("projects", {"key": "ok", "name": 5}, "name"),
    ("projects", {"key": "ok"}, "name"),
    ("projects", {"key": "ok", "name": "x", "colour": "red"}, "colour"),
    ("clusters", {"name": ["c2"]}, "name"),
    ("clusters", {"name": ""}, "name"),
    ("environments", {"project": "nope", "name": "prod"}, "project"),
    ("environments", {"project": "demo", "name": "prod", "cluster": "nope"}, "cluster"),
    ("environments", {"project": "demo", "name": "prod", "production": "yes"}, "production"),
    ("environments", {"project": "demo", "name": "prod", "production": 1}, "production"),
    ("environments", {"project": 7, "name": "prod"}, "project"),
    ("services", {"project": "demo", "name": "svc", "service_type": "docker"}, "service_type"),
    ("services", {"project": "demo", "name": "svc", "service_type": 1}, "service_type"),
    ("services", {"project": "demo", "name": "svc"}, "service_type"),
    ("workflows", {"project": "demo", "name": None}, "name"),
    ("workflows", {"name": "wf"}, "project"),
    ("artifacts", {"project": "demo", "name": "a", "type": "tarball", "uri": "x"}, "type"),
    ("artifacts", {"project": "demo", "name": "a", "type": "file"}, "uri"),
]


@pytest.mark.parametrize(("resource", "item", "field"), BAD_ITEMS)
def test_a_bad_object_is_400_naming_the_field_and_writes_nothing(api_client, resource, item, field):
    model = RESOURCES[resource]["model"]
    before = model.objects.count()
    answer = api_client.post(url(resource), item, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert model.objects.count() == before


@pytest.mark.parametrize(("resource", "item", "field"), BAD_ITEMS)
def test_one_bad_item_fails_the_whole_batch_with_an_entry_per_item(api_client, resource, item, field):
    model = RESOURCES[resource]["model"]
    good = RESOURCES[resource]["item"]
    key_name = "key" if resource == "projects" else "name"
    batch = [{**good, key_name: "first"}, item, {**good, key_name: "third"}]
    before = model.objects.count()
    answer = api_client.post(url(resource), batch, format="json")
    assert answer.status_code == 400
    errors = answer.json()
    assert isinstance(errors, list) and len(errors) == 3
    assert errors[0] == {} and errors[2] == {}
    assert field in errors[1]
    assert model.objects.count() == before


def test_an_unknown_project_is_named_in_the_message(api_client):
    answer = api_client.post(url("workflows"), {"project": "ghost", "name": "wf"}, format="json")
    assert "ghost" in answer.json()["project"][0]


@pytest.mark.parametrize("resource", KEYED)
def test_a_key_twice_in_one_batch_is_400_at_the_second_position(api_client, resource):
    item = RESOURCES[resource]["item"]
    before = RESOURCES[resource]["model"].objects.count()
    answer = api_client.post(url(resource), [item, item], format="json")
    assert answer.status_code == 400
    assert answer.json()[0] == {} and "item 0" in str(answer.json()[1])
    assert RESOURCES[resource]["model"].objects.count() == before


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain"])
@pytest.mark.parametrize("body", ['{"key": "x", "name": ', "key=x&name=y"])
def test_a_body_that_is_not_json_is_400_whatever_its_content_type(api_client, body, content_type):
    answer = api_client.post(url("projects"), body, content_type=content_type)
    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]
    assert Project.objects.count() == 1


def test_an_empty_body_is_400_naming_the_required_fields(api_client):
    answer = api_client.post(url("projects"), "", content_type="application/json")
    assert answer.status_code == 400
    assert {"key", "name"} <= set(answer.json())


@pytest.mark.parametrize("body", ['"demo"', "42", "null", "[1, 2]"])
def test_json_that_is_not_an_object_or_a_list_of_objects_is_400(api_client, body):
    answer = api_client.post(url("projects"), body, content_type="application/json")
    assert answer.status_code == 400
    assert Project.objects.count() == 1


def test_a_batch_over_the_limit_is_400_with_the_limit_in_the_message_and_writes_nothing(api_client, settings):
    batch = [{"key": f"p{index}", "name": "x"} for index in range(settings.INGEST_MAX_BATCH + 1)]
    answer = api_client.post(url("projects"), batch, format="json")
    assert answer.status_code == 400
    assert str(settings.INGEST_MAX_BATCH) in answer.json()["non_field_errors"][0]
    assert Project.objects.count() == 1


def test_a_batch_of_exactly_the_limit_is_written_whole(api_client, settings):
    batch = [{"key": f"p{index}", "name": "x"} for index in range(settings.INGEST_MAX_BATCH)]
    answer = api_client.post(url("projects"), batch, format="json")
    assert answer.status_code == 201
    assert len(answer.json()) == settings.INGEST_MAX_BATCH
    assert Project.objects.count() == settings.INGEST_MAX_BATCH + 1


@override_settings(INGEST_MAX_BATCH=2)
def test_the_batch_limit_follows_the_setting(api_client):
    items = [{"name": f"c{index}"} for index in range(3)]
    assert api_client.post(url("clusters"), items, format="json").status_code == 400
    assert api_client.post(url("clusters"), items[:2], format="json").status_code == 201


# --- paging --------------------------------------------------------------------------------------


def test_lists_are_paged_by_page_and_page_size(api_client):
    api_client.post(url("clusters"), [{"name": f"c{index:02}"} for index in range(2, 7)], format="json")
    first = api_client.get(url("clusters"), {"page_size": 2}).json()
    assert first["count"] == 6
    assert [row["name"] for row in first["results"]] == ["c02", "c03"]
    assert first["next"] and first["previous"] is None
    last = api_client.get(url("clusters"), {"page_size": 2, "page": 3}).json()
    assert [row["name"] for row in last["results"]] == ["c06", "c1"]
    assert last["next"] is None


def test_page_size_is_capped_at_1000(api_client):
    api_client.post(url("clusters"), [{"name": f"n{index:04}"} for index in range(1001)], format="json")
    page = api_client.get(url("clusters"), {"page_size": 5000}).json()
    assert page["count"] == 1002
    assert len(page["results"]) == 1000


def test_a_page_past_the_end_is_404(api_client):
    assert api_client.get(url("clusters"), {"page": 9}).status_code == 404


def test_lists_can_be_ordered(api_client):
    api_client.post(url("projects"), [{"key": "b", "name": "Zed"}, {"key": "a", "name": "Yo"}], format="json")
    names = [row["name"] for row in api_client.get(url("projects"), {"ordering": "-name"}).json()["results"]]
    assert names == ["Zed", "Yo", "Demo"]


# --- filtering -----------------------------------------------------------------------------------


def listed(api_client, resource, params, field="name"):
    answer = api_client.get(url(resource), params)
    assert answer.status_code == 200, answer.json()
    return sorted(row[field] for row in answer.json()["results"])


@pytest.fixture
def populated(api_client):
    api_client.post(url("projects"), {"key": "other", "name": "Other"}, format="json")
    api_client.post(url("clusters"), {"name": "c2"}, format="json")
    api_client.post(
        url("environments"),
        [
            {"project": "demo", "name": "prod", "production": True, "cluster": "c1"},
            {"project": "demo", "name": "dev", "cluster": "c2"},
            {"project": "other", "name": "staging"},
        ],
        format="json",
    )
    api_client.post(
        url("services"),
        [
            {"project": "demo", "name": "api", "service_type": "k8s"},
            {"project": "demo", "name": "chart", "service_type": "helm"},
            {"project": "other", "name": "box", "service_type": "vm"},
        ],
        format="json",
    )
    api_client.post(
        url("workflows"), [{"project": "demo", "name": "wf1"}, {"project": "other", "name": "wf2"}], format="json"
    )
    api_client.post(
        url("artifacts"),
        [
            {"project": "demo", "name": "api", "type": "image", "uri": "reg/api:1"},
            {"project": "other", "name": "bundle", "type": "file", "uri": "s3://b/bundle.tgz"},
        ],
        format="json",
    )


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize(
    ("resource", "params", "expected"),
    [
        ("projects", {"key": ["demo", "other"]}, ["Demo", "Other"]),
        ("projects", {"key": "ghost"}, []),
        ("projects", {"name": "Other"}, ["Other"]),
        ("clusters", {"name": "c2"}, ["c2"]),
        ("environments", {"project": "demo"}, ["dev", "prod"]),
        ("environments", {"production": "true"}, ["prod"]),
        ("environments", {"production": "false"}, ["dev", "staging"]),
        ("environments", {"cluster": "c2"}, ["dev"]),
        ("environments", {"cluster": ["c1", "c2"]}, ["dev", "prod"]),
        ("environments", {"cluster__isnull": "true"}, ["staging"]),
        ("environments", {"project": "demo", "name": "prod"}, ["prod"]),
        ("services", {"service_type": "vm"}, ["box"]),
        ("services", {"service_type": ["k8s", "helm"]}, ["api", "chart"]),
        ("services", {"project": "other"}, ["box"]),
        ("workflows", {"project": "demo"}, ["wf1"]),
        ("workflows", {"name": "wf2"}, ["wf2"]),
        ("artifacts", {"type": "file"}, ["bundle"]),
        ("artifacts", {"uri": "reg/api:1"}, ["api"]),
        ("artifacts", {"project": "demo", "name": "api"}, ["api"]),
    ],
)
def test_lists_filter_by_their_fields(api_client, resource, params, expected):
    assert listed(api_client, resource, params) == expected


@pytest.mark.usefixtures("populated")
@pytest.mark.parametrize(
    ("resource", "params"),
    [
        ("services", {"service_type": "docker"}),
        ("artifacts", {"type": "tarball"}),
        ("environments", {"production": "maybe"}),
        ("projects", {"id": "one"}),
        ("projects", {"created_at__gte": "2024-01-01T00:00:00"}),
        ("projects", {"created_at__lt": "yesterday"}),
    ],
)
def test_a_malformed_filter_value_is_400_naming_it(api_client, resource, params):
    answer = api_client.get(url(resource), params)
    assert answer.status_code == 400
    assert set(params) <= set(answer.json())


def test_created_at_ranges_take_iso_8601_with_an_offset(api_client):
    api_client.post(url("workflows"), [{"project": "demo", "name": f"wf{day}"} for day in (1, 2, 3)], format="json")
    for day in (1, 2, 3):
        Workflow.objects.filter(name=f"wf{day}").update(created_at=datetime(2024, 5, day, 4, tzinfo=UTC))
    # 2024-05-02T12:00+08:00 is 04:00 UTC on the 2nd: inclusive bounds include it.
    between = {"created_at__gte": "2024-05-02T12:00:00+08:00", "created_at__lte": "2024-05-03T04:00:00Z"}
    assert listed(api_client, "workflows", between) == ["wf2", "wf3"]
    assert listed(api_client, "workflows", {"created_at__gt": "2024-05-02T04:00:00Z"}) == ["wf3"]
    assert listed(api_client, "workflows", {"created_at__lt": "2024-05-02T04:00:00Z"}) == ["wf1"]
    # An unencoded "+" arrives as a space; it is read as the offset's sign.
    assert listed(api_client, "workflows", {"created_at__gte": "2024-05-02T12:00:00 08:00"}) == ["wf2", "wf3"]


# --- values no database can hold are a 400/404, never a 500 -------------------------------------


def test_a_nul_character_in_a_key_or_filter_is_refused(api_client):
    answer = api_client.post(url("environments"), {"project": "de\x00mo", "name": "prod"}, format="json")
    assert (answer.status_code, list(answer.json())) == (400, ["project"])
    assert api_client.get(url("projects"), {"key": "de\x00mo"}).status_code == 400
    assert api_client.get("/api/v1/projects/de%00mo/").status_code == 404
    assert api_client.get("/api/v1/environments/1%00/").status_code == 404


def test_an_id_beyond_any_integer_column_matches_nothing(api_client):
    huge = str(10**30)
    assert api_client.get(url("environments"), {"id": huge}).json()["count"] == 0
    assert api_client.get(f"{url('environments')}{huge}/").status_code == 404


def test_a_lone_surrogate_anywhere_in_a_body_is_400_naming_its_place(api_client):
    """No text can hold a lone surrogate, so the body is refused as malformed before any field is read:
    as a value, as a field name, and where the database would be asked about it (a project key)."""
    for resource, body in (
        ("projects", '{"key": "x", "name": "\\ud800"}'),
        ("projects", '{"key": "x", "name": "X", "\\ud800": 1}'),
        ("environments", '{"project": "\\ud800", "name": "prod", "production": true}'),
    ):
        answer = api_client.post(url(resource), body, content_type="application/json")
        assert answer.status_code == 400
        assert "surrogate" in answer.json()["detail"] and "column" in answer.json()["detail"]
    assert not Project.objects.filter(key="x").exists()


def test_a_key_written_concurrently_by_another_request_is_409_not_500(api_client, monkeypatch):
    """Two requests creating the same new key at once: the database's unique constraint stops the
    second; it is told to retry instead of getting a server error."""
    from django.db import IntegrityError

    from insights.api import views

    def collide(items):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(views.ProjectViewSet, "write", staticmethod(collide))
    answer = api_client.post(url("projects"), {"key": "race", "name": "R"}, format="json")
    assert answer.status_code == 409
    assert "retry" in answer.json()["detail"]


def test_an_offset_postgresql_cannot_store_still_filters(api_client):
    """ISO 8601 allows offsets up to +-23:59, PostgreSQL only +-15:59: the bound is compared as UTC
    (found by the schemathesis fuzz: it was a 500 on PostgreSQL)."""
    api_client.post(url("workflows"), [{"project": "demo", "name": f"wf{day}"} for day in (1, 2)], format="json")
    for day in (1, 2):
        Workflow.objects.filter(name=f"wf{day}").update(created_at=datetime(2024, 5, day, 4, tzinfo=UTC))
    # 2024-05-02T02:00-22:00 is 2024-05-03T00:00Z.
    assert listed(api_client, "workflows", {"created_at__lt": "2024-05-02T02:00:00-22:00"}) == ["wf1", "wf2"]
    assert listed(api_client, "workflows", {"created_at__gte": "2024-05-02T02:00:00-22:00"}) == []
    # An instant before year 1 in UTC is no instant at all: 400, not an overflow.
    assert api_client.get(url("workflows"), {"created_at__gte": "0001-01-01T00:00:00+23:00"}).status_code == 400
