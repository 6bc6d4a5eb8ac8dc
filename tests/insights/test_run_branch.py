"""A run's branch: optional, echoed, kept by edits, refused when it is not a short string."""

import pytest

from insights.models import Project, WorkflowRun

pytestmark = pytest.mark.django_db
URL = "/api/v1/workflow-runs/"


@pytest.fixture(autouse=True)
def project(db):
    Project.objects.create(key="shop", name="Shop")


def run(**extra):
    return {
        "id": "r-1",
        "project": "shop",
        "workflow": "ci",
        "status": "passed",
        "created_at": "2024-05-01T09:00:00Z",
    } | extra


def test_a_branch_is_stored_echoed_and_kept_by_a_patch(api_client):
    response = api_client.post(URL, run(branch="hotfix/pay-timeout"), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["branch"] == "hotfix/pay-timeout"
    assert api_client.patch(f"{URL}r-1/", {"status": "failed"}, format="json").status_code == 200
    assert WorkflowRun.objects.get().branch == "hotfix/pay-timeout"
    assert api_client.get(f"{URL}r-1/").json()["branch"] == "hotfix/pay-timeout"


def test_a_run_without_a_branch_has_a_blank_one_and_a_re_post_clears_it(api_client):
    api_client.post(URL, run(branch="main"), format="json")
    response = api_client.post(URL, run(), format="json")
    assert response.status_code == 200
    assert response.json()["branch"] == ""
    assert WorkflowRun.objects.get().branch == ""


@pytest.mark.parametrize("branch", [None, 7, ["main"], "x" * 256])
def test_a_bad_branch_is_refused_and_stores_nothing(api_client, branch):
    response = api_client.post(URL, run(branch=branch), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["branch"], response.json()
    assert not WorkflowRun.objects.exists()
