"""Commits on runs: posted with the run, stored in their own table, echoed and listed, replaced whole by a
re-post, and refused all-or-nothing like every other part of a batch."""

from datetime import UTC, datetime

import pytest

from insights.models import MAX_COMMITS, Commit, Project, WorkflowRun

pytestmark = pytest.mark.django_db
URL = "/api/v1/workflow-runs/"
SHA1, SHA2 = "a1" * 20, "B2" * 32


@pytest.fixture(autouse=True)
def project(db):
    Project.objects.create(key="shop", name="Shop")


def run(run_id="r-1", commits=None, **extra):
    body = {"id": run_id, "project": "shop", "workflow": "ci", "status": "passed", "created_at": "2024-05-01T09:00:00Z"}
    if commits is not None:
        body["commits"] = commits
    return {**body, **extra}


def commit(sha=SHA1, repo="shop/web", committed_at="2024-05-01T08:30:00+08:00", **extra):
    return {"sha": sha, "repo": repo, "committed_at": committed_at, **extra}


def test_commits_are_stored_echoed_and_listed_with_their_times(api_client):
    body = run(commits=[commit(author="Ada", message="fix: checkout"), commit(SHA2, committed_at=1714521600)])
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    echoed = response.json()["commits"]
    assert echoed == [
        {"sha": SHA1, "repo": "shop/web", "committed_at": "2024-05-01T08:30:00+08:00", "author": "Ada",
         "message": "fix: checkout"},
        {"sha": SHA2.lower(), "repo": "shop/web", "committed_at": "2024-05-01T08:00:00+08:00", "author": "",
         "message": ""},
    ]  # fmt: skip
    assert api_client.get(f"{URL}r-1/").json()["commits"] == echoed
    stored = Commit.objects.order_by("id")
    assert [(c.sha, c.committed_at) for c in stored] == [
        (SHA1, datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        (SHA2.lower(), datetime(2024, 5, 1, 0, 0, tzinfo=UTC)),
    ]


def test_a_re_post_replaces_the_commits_whole(api_client):
    api_client.post(URL, run(commits=[commit(), commit(SHA2)]), format="json")
    assert api_client.post(URL, run(commits=[commit(SHA2)]), format="json").status_code == 200
    assert list(Commit.objects.values_list("sha", flat=True)) == [SHA2.lower()]
    assert api_client.post(URL, run(), format="json").status_code == 200
    assert not Commit.objects.exists(), "a run re-posted without commits carries none"


def test_the_same_sha_may_be_built_by_two_runs_and_live_in_two_repos(api_client):
    batch = [run("r-1", [commit(), commit(repo="shop/api")]), run("r-2", [commit()])]
    assert api_client.post(URL, batch, format="json").status_code == 201
    assert Commit.objects.filter(sha=SHA1).count() == 3


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (commit(sha="a" * 39), "sha"),
        (commit(sha="z" * 40), "sha"),
        ({"sha": SHA1, "committed_at": "2024-05-01T08:30:00Z"}, "repo"),
        (commit(committed_at="2024-05-01T08:30:00"), "committed_at"),
        (commit(committed_at=4102444801), "committed_at"),
        (commit(committed_at=True), "committed_at"),
        (commit(committed_at="1714521600"), "committed_at"),
        (commit(url="https://example.com"), "url"),
        (commit(message="\x00"), "message"),
    ],
)
def test_a_bad_commit_refuses_the_whole_batch_naming_its_place(api_client, bad, field):
    batch = [run("r-1", [commit()]), run("r-2", [commit(SHA2), bad])]
    response = api_client.post(URL, batch, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors[0] == {} and field in errors[1]["commits"][1], errors
    assert not WorkflowRun.objects.exists() and not Commit.objects.exists()


def test_a_commit_twice_in_one_run_is_refused(api_client):
    response = api_client.post(URL, run(commits=[commit(), commit(SHA1.upper())]), format="json")
    assert response.status_code == 400
    assert response.json() == {"commits": [{}, {"sha": ["Same repo and sha as commit 0 of this run."]}]}


def test_at_most_a_thousand_commits_per_run(api_client):
    many = [commit(f"{n:040x}") for n in range(MAX_COMMITS + 1)]
    response = api_client.post(URL, run(commits=many), format="json")
    assert response.status_code == 400
    assert response.json()["commits"] == {
        "non_field_errors": [f"Ensure this field has no more than {MAX_COMMITS} elements."]
    }
    assert api_client.post(URL, run(commits=many[:MAX_COMMITS]), format="json").status_code == 201
    assert Commit.objects.count() == MAX_COMMITS


def test_patching_a_run_can_replace_its_commits(api_client):
    api_client.post(URL, run(commits=[commit()]), format="json")
    response = api_client.patch(f"{URL}r-1/", {"commits": [commit(SHA2)]}, format="json")
    assert response.status_code == 200, response.json()
    assert [c["sha"] for c in response.json()["commits"]] == [SHA2.lower()]
    assert (
        api_client.patch(f"{URL}r-1/", {"status": "failed"}, format="json").json()["commits"][0]["sha"] == SHA2.lower()
    )
