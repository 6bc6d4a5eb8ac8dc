"""Static files as production serves them: collectstatic builds the manifest of hashed, gzipped files,
whitenoise serves them with a year's Cache-Control, and /favicon.ico exists (no 404 warning per page)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture
def collected(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=PRODUCTION_STORAGES):
        call_command("collectstatic", "--noinput", stdout=StringIO(), stderr=StringIO())
        yield tmp_path


def test_collectstatic_hashes_and_compresses_every_page_asset(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    for name in ("vendor/chartjs/chart.umd.min.js", "pages/charts.js", "admin/css/base.css"):
        hashed = manifest[name]
        assert hashed != name and (collected / hashed).exists() and (collected / f"{hashed}.gz").exists()


@pytest.mark.django_db
def test_hashed_files_are_served_compressed_with_a_year_of_cache(collected):
    hashed = json.loads((collected / "staticfiles.json").read_text())["paths"]["pages/charts.js"]
    response = Client().get(f"/static/{hashed}", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_favicon_is_served_at_the_root():
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
