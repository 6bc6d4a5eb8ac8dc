"""The operators' admin for the CDN origin tables: every page renders, search finds rows, samples
can be corrected, derived tables stay read-only, and an access key's secret never reaches a page."""

import json
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cdnorigin.access_keys import create_access_key
from cdnorigin.models import (
    AccessKey,
    CdnAccount,
    DirtyOriginBucket,
    Domain,
    DomainGrant,
    ImportedLog,
    OriginRollup,
    OriginSample,
)

DERIVED = (OriginRollup, DirtyOriginBucket, ImportedLog)
MINUTE = datetime(2024, 9, 14, 16, 0, tzinfo=UTC)


@pytest.fixture
def admin_client(client, django_user_model):
    """A logged-in superuser, without the deliberate slowness of hashing a password."""
    client.force_login(django_user_model.objects.create(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def rows(db):
    """A few rows of every cdnorigin table, written with the ORM; two AK/SK pairs issued."""
    www = Domain.objects.create(name="www.example.com")
    img = Domain.objects.create(name="img.example.cn")
    for domain, pv in ((www, 12), (img, 7)):
        OriginSample.objects.create(domain=domain, minute=MINUTE, flux=pv * 1000, pv=pv, status={200: pv - 2, 404: 2})
    OriginRollup.objects.create(
        domain=www, interval="5min", start=MINUTE, flux=12000, pv=12, peak_flux_5m=12000, peak_pv_5m=12,
        status={"200": 10, "404": 2},
    )  # fmt: skip
    DirtyOriginBucket.objects.update_or_create(domain_pk=www.pk, start=MINUTE)  # the signals may have marked it
    ImportedLog.objects.create(domain=www, sha256="ab" * 32, file_name="access.log", lines=12, samples=1)
    keys = [create_access_key("cdn-main"), create_access_key("cdn-sub", domains=["img.example.cn"])]
    return {"www": www, "img": img, "keys": keys}


def registered(app_label: str):
    return [model for model in admin.site._registry if model._meta.app_label == app_label]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_cdnorigin_model_is_in_the_admin():
    expected = {
        Domain, OriginSample, OriginRollup, DirtyOriginBucket, CdnAccount, DomainGrant,
        AccessKey, ImportedLog,
    }  # fmt: skip
    assert set(registered("cdnorigin")) == expected


@pytest.mark.parametrize("model", registered("cdnorigin"), ids=lambda m: m.__name__)
def test_changelist_and_change_form_render_for_a_superuser(admin_client, rows, model):
    changelist = admin_client.get(url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    obj = model.objects.order_by("pk").first()
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", registered("cdnorigin"), ids=lambda m: m.__name__)
def test_add_form_renders_unless_rows_come_from_elsewhere(admin_client, rows, model):
    response = admin_client.get(url(model, "add"))
    # Derived rows are computed; key pairs are issued by create_access_key (the secret is printed there).
    assert response.status_code == (403 if model in (*DERIVED, AccessKey) else 200)


@pytest.mark.parametrize(
    ("model", "term", "found", "missing"),
    [
        (Domain, "img", "img.example.cn", "www.example.com"),
        (OriginSample, "www", "www.example.com @ 2024-09-14 16:00", "img.example.cn @ 2024-09-14 16:00"),
        (CdnAccount, "cdn-sub", "cdn-sub (sub-account)", "cdn-main (main account)"),
        (DomainGrant, "img", "cdn-sub -> img.example.cn", None),
        (OriginRollup, "www", f"{MINUTE:%Y}", None),
    ],
)
def test_search_finds_matching_rows_only(admin_client, rows, model, term, found, missing):
    response = admin_client.get(url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    results = [str(obj) for obj in response.context["cl"].result_list]
    assert any(found in text for text in results), results
    assert missing not in results


def test_access_key_search_by_its_id(admin_client, rows):
    ak = rows["keys"][1][0]
    response = admin_client.get(url(AccessKey, "changelist"), {"q": ak})
    assert [key.access_key_id for key in response.context["cl"].result_list] == [ak]


def test_secrets_never_appear_in_admin_pages(admin_client, rows):
    secrets = [sk for _, sk in rows["keys"]]
    pages = [url(AccessKey, "changelist"), url(CdnAccount, "changelist"), url(DomainGrant, "changelist")]
    for key in AccessKey.objects.all():
        pages += [url(AccessKey, "change", key.pk), url(AccessKey, "delete", key.pk), url(AccessKey, "history", key.pk)]
    for account in CdnAccount.objects.all():
        pages += [url(CdnAccount, "change", account.pk), url(CdnAccount, "delete", account.pk)]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert not [sk for sk in secrets if sk in html], page


def test_access_key_can_be_deactivated_and_keeps_its_secret(admin_client, rows):
    ak, sk = rows["keys"][0]
    key = AccessKey.objects.get(access_key_id=ak)
    response = admin_client.post(url(AccessKey, "change", key.pk), {})  # "active" unticked
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.active is False
    assert key.secret == sk
    html = admin_client.get(url(CdnAccount, "change", key.account_id)).content.decode()
    assert ak in html
    assert sk not in html


@pytest.mark.parametrize("model", DERIVED, ids=lambda m: m.__name__)
def test_derived_tables_refuse_changes(admin_client, rows, model):
    obj = model.objects.order_by("pk").first()
    before = model.objects.filter(pk=obj.pk).values().get()
    response = admin_client.post(url(model, "change", obj.pk), {"flux": 1, "pv": 1, "lines": 1, "file_name": "x"})
    assert response.status_code == 403
    assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before
    assert admin_client.get(url(model, "change", obj.pk)).context["has_change_permission"] is False


def sample_form(domain, status: str, flux: str = "13000", pv: str = "13") -> dict:
    return {
        "domain": domain.pk,
        "minute_0": "2024-09-15",  # 16:00 UTC is midnight in Asia/Shanghai
        "minute_1": "00:00:00",
        "flux": flux,
        "pv": pv,
        "status": status,
    }


def test_sample_page_shows_its_status_counts_and_saves_corrections(
    admin_client, rows, django_capture_on_commit_callbacks
):
    sample = OriginSample.objects.get(domain=rows["www"])
    page = admin_client.get(url(OriginSample, "change", sample.pk))
    assert json.loads(page.context["adminform"].form["status"].value()) == {"200": 10, "404": 2}
    DirtyOriginBucket.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            url(OriginSample, "change", sample.pk), sample_form(rows["www"], '{"200": 11, "404": 2}')
        )
    assert response.status_code == 302
    sample.refresh_from_db()
    assert (sample.minute, sample.flux, sample.pv) == (MINUTE, 13000, 13)
    assert sample.status == {"200": 11, "404": 2}
    assert (sample.status_2xx, sample.status_4xx, sample.status_5xx) == (11, 2, 0)
    assert list(DirtyOriginBucket.objects.values_list("domain_pk", "start")) == [(rows["www"].pk, MINUTE)]
    assert callbacks  # the recompute follows the commit


@pytest.mark.parametrize(
    "status",
    ['{"2000": 1}', '{"099": 1}', '{"600": 1}', '{"200": -1}', '{"200": 1.5}', '{"200": "1"}', "[200]", "{oops"],
)
def test_sample_page_refuses_bad_status_counts(admin_client, rows, status):
    sample = OriginSample.objects.get(domain=rows["www"])
    response = admin_client.post(url(OriginSample, "change", sample.pk), sample_form(rows["www"], status))
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    sample.refresh_from_db()
    assert (sample.flux, sample.status) == (12000, {"200": 10, "404": 2})


def test_account_page_grants_domains_inline(admin_client, rows):
    account = CdnAccount.objects.get(user__username="cdn-sub")
    grant = account.grants.get()
    data = {
        "user": account.user_id,
        "is_sub_account": "on",
        "grants-TOTAL_FORMS": "2",
        "grants-INITIAL_FORMS": "1",
        "grants-MIN_NUM_FORMS": "0",
        "grants-MAX_NUM_FORMS": "1000",
        "grants-0-id": grant.pk,
        "grants-0-account": account.pk,
        "grants-0-domain": rows["img"].pk,
        "grants-1-account": account.pk,
        "grants-1-domain": rows["www"].pk,
        "access_keys-TOTAL_FORMS": "1",
        "access_keys-INITIAL_FORMS": "1",
        "access_keys-MIN_NUM_FORMS": "0",
        "access_keys-MAX_NUM_FORMS": "1000",
        "access_keys-0-id": account.access_keys.get().pk,
        "access_keys-0-account": account.pk,
        "access_keys-0-active": "on",
    }
    response = admin_client.post(url(CdnAccount, "change", account.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert set(account.grants.values_list("domain__name", flat=True)) == {"img.example.cn", "www.example.com"}


def test_big_tables_skip_the_full_count(admin_client, rows):
    for model in (OriginSample, OriginRollup):
        assert admin_client.get(url(model, "changelist")).context["cl"].show_full_result_count is False


def test_sample_date_drill_down_offers_each_month_without_scanning_for_distinct_ones(admin_client, rows):
    for minute in (datetime(2024, 11, 20, 4, 0, tzinfo=UTC), datetime(2025, 1, 3, 4, 0, tzinfo=UTC)):
        OriginSample.objects.create(domain=rows["img"], minute=minute, flux=1, pv=1)
    with CaptureQueriesContext(connection) as queries:
        years = admin_client.get(url(OriginSample, "changelist"))
    assert [choice["title"] for choice in date_choices(years)] == ["2024", "2025"]
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    months = admin_client.get(url(OriginSample, "changelist"), {"minute__year": 2024})
    assert [choice["title"] for choice in date_choices(months)] == ["September 2024", "October 2024", "November 2024"]
    days = admin_client.get(url(OriginSample, "changelist"), {"minute__year": 2024, "minute__month": 11})
    assert [choice["title"] for choice in date_choices(days)] == ["November 20"]
    listed = admin_client.get(
        url(OriginSample, "changelist"), {"minute__year": 2024, "minute__month": 11, "minute__day": 20}
    )
    assert [str(sample) for sample in listed.context["cl"].result_list] == ["img.example.cn @ 2024-11-20 04:00"]


def date_choices(response):
    return date_hierarchy(response.context["cl"])["choices"]


# --- actions and empty states -----------------------------------------------------------------


def run_action(client, model, action: str, pks):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0", "select_across": "0"}
    return client.post(url(model, "changelist"), data)


def test_recompute_action_rebuilds_the_rollups_of_the_selected_samples(
    admin_client, rows, django_capture_on_commit_callbacks
):
    OriginRollup.objects.all().delete()  # a rollup gone wrong
    DirtyOriginBucket.objects.all().delete()
    sample = OriginSample.objects.get(domain=rows["www"])
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, OriginSample, "recompute_sample_rollups", [sample.pk])
    assert response.status_code == 302
    five = OriginRollup.objects.get(domain=rows["www"], interval="5min")
    assert (five.start, five.flux, five.pv, five.status) == (MINUTE, 12000, 12, {"200": 10, "404": 2})
    assert set(OriginRollup.objects.values_list("interval", flat=True)) == {"5min", "hour", "day"}
    assert not OriginRollup.objects.filter(domain=rows["img"]).exists()  # not selected
    assert not DirtyOriginBucket.objects.exists()


def test_export_csv_of_selected_samples(admin_client, rows):
    import csv
    import json

    samples = OriginSample.objects.order_by("pk")
    response = run_action(admin_client, OriginSample, "export_csv", [sample.pk for sample in samples])
    assert response["Content-Disposition"] == 'attachment; filename="origin-samples.csv"'
    header, *lines = list(csv.reader(b"".join(response.streaming_content).decode().splitlines()))
    assert header == ["domain", "timestamp", "flux", "pv", "status"]
    assert [line[:4] for line in lines] == [
        ["www.example.com", str(int(MINUTE.timestamp())), "12000", "12"],
        ["img.example.cn", str(int(MINUTE.timestamp())), "7000", "7"],
    ]
    assert json.loads(lines[0][4]) == {"200": 10, "404": 2}


def test_an_empty_sample_table_says_where_data_comes_from(admin_client):
    response = admin_client.get(url(OriginSample, "changelist"))
    shown = [str(message) for message in response.context["messages"]]
    assert any("import_origin_log" in text and "seed_demo" in text for text in shown), shown
