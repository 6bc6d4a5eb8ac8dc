"""`create_access_key`: AK/SK pairs, main accounts and sub-accounts limited to granted domains."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from cdnorigin.access_keys import create_access_key
from cdnorigin.models import AccessKey, CdnAccount, Domain

pytestmark = pytest.mark.django_db
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def run(*args) -> str:
    out = io.StringIO()
    call_command("create_access_key", *args, stdout=out)
    return out.getvalue()


def grants(username: str) -> list[str]:
    account = CdnAccount.objects.get(user__username=username)
    return sorted(account.domains.values_list("name", flat=True))


@pytest.fixture
def domains(db):
    return [Domain.objects.create(name=name) for name in ("a.example.com", "b.example.com", "c.example.com")]


def test_command_prints_ak_and_sk_on_one_line_and_stores_them():
    output = run("alice")
    assert output.endswith("\n") and output.count("\n") == 1
    ak, sk = output.split()
    assert ak.startswith("AKLT") and len(ak) >= 40 and URL_SAFE.match(ak)
    assert len(sk) >= 40 and URL_SAFE.match(sk)
    key = AccessKey.objects.get(access_key_id=ak)
    assert key.secret == sk and key.active
    assert key.account.user.username == "alice"
    assert key.account.is_sub_account is False


def test_domains_make_a_sub_account_limited_to_them(domains):
    ak, _ = run("bob", "--domains", "A.example.com, b.example.com,a.example.com").split()
    account = AccessKey.objects.get(access_key_id=ak).account
    assert account.is_sub_account
    assert grants("bob") == ["a.example.com", "b.example.com"]


def test_unknown_domains_are_named_and_nothing_is_written(domains):
    with pytest.raises(CommandError) as excinfo:
        run("carol", "--domains", "a.example.com,nope.example.com,zz.example.org")
    assert "nope.example.com" in str(excinfo.value) and "zz.example.org" in str(excinfo.value)
    assert "a.example.com" not in str(excinfo.value)
    assert not get_user_model().objects.filter(username="carol").exists()
    assert not AccessKey.objects.exists()


def test_unknown_domains_leave_an_existing_sub_account_untouched(domains):
    run("dave", "--domains", "a.example.com")
    with pytest.raises(CommandError):
        run("dave", "--domains", "b.example.com,missing.example.com")
    assert grants("dave") == ["a.example.com"]
    assert AccessKey.objects.count() == 1


def test_an_empty_domain_list_is_refused():
    with pytest.raises(CommandError):
        run("erin", "--domains", " , ")
    assert not get_user_model().objects.filter(username="erin").exists()


def test_an_empty_user_name_is_refused():
    with pytest.raises(CommandError):
        run("  ")
    assert not AccessKey.objects.exists()


def test_running_again_adds_a_second_pair_and_keeps_the_first(domains):
    first = run("frank").split()
    second = run("frank").split()
    assert first != second
    keys = AccessKey.objects.filter(account__user__username="frank")
    assert sorted(keys.values_list("access_key_id", flat=True)) == sorted([first[0], second[0]])
    assert all(key.active for key in keys)
    assert CdnAccount.objects.count() == 1


def test_running_again_with_domains_replaces_the_grant_set(domains):
    run("gina", "--domains", "a.example.com,b.example.com")
    run("gina", "--domains", "c.example.com,b.example.com")
    assert grants("gina") == ["b.example.com", "c.example.com"]


def test_running_again_without_domains_never_widens_a_sub_account(domains):
    run("hank", "--domains", "a.example.com")
    run("hank")
    account = CdnAccount.objects.get(user__username="hank")
    assert account.is_sub_account
    assert grants("hank") == ["a.example.com"]


def test_a_main_account_given_domains_becomes_a_sub_account(domains):
    run("ivy")
    run("ivy", "--domains", "c.example.com")
    assert CdnAccount.objects.get(user__username="ivy").is_sub_account
    assert grants("ivy") == ["c.example.com"]


def test_an_existing_user_without_account_gets_one():
    get_user_model().objects.create(username="jack")
    ak, sk = create_access_key("jack", None)
    assert AccessKey.objects.get(access_key_id=ak).account.user.username == "jack"


def test_issued_keys_are_distinct():
    pairs = [create_access_key(f"user{i % 3}") for i in range(30)]
    assert len({ak for ak, _ in pairs}) == 30
    assert len({sk for _, sk in pairs}) == 30
