"""Issuing Volcengine-style AK/SK pairs for CDN accounts.

Running it again for a known user adds another active key pair (the old ones keep working, so a
key can be rotated without downtime). `domains` given: the account becomes a sub-account whose
grants are exactly those domains (replacing earlier grants). `domains` None: the account keeps
what it was; a new user becomes a main account. Access is never widened silently: turning a
sub-account back into a main account is an explicit edit in the admin.
"""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from cdnorigin.models import AccessKey, CdnAccount, Domain, DomainGrant

# Volcengine AKs start with "AKLT"; the rest only needs to be unguessable and header-safe.
ACCESS_KEY_PREFIX = "AKLT"


class UnknownDomains(ValueError):
    """Some requested grant names no domain; nothing was written."""

    def __init__(self, names: list[str]):
        super().__init__(f"unknown domain(s): {', '.join(names)}")
        self.names = names


def new_key_pair() -> tuple[str, str]:
    """A fresh (AK, SK): AKLT + 40 url-safe characters, and a 54-character url-safe secret (320 bits)."""
    while True:
        ak = ACCESS_KEY_PREFIX + secrets.token_urlsafe(30)
        if not AccessKey.objects.filter(access_key_id=ak).exists():
            return ak, secrets.token_urlsafe(40)


def normalise_domain_list(domains: list[str]) -> list[str]:
    """Lowercased, trimmed, de-duplicated names in first-seen order (how they are stored)."""
    return list(dict.fromkeys(name.strip().lower() for name in domains if name.strip()))


@transaction.atomic
def create_access_key(username: str, domains: list[str] | None = None) -> tuple[str, str]:
    """Issue a key pair for `username` (user and CDN account created if missing); return (AK, SK).

    Raises ValueError for an empty username or an empty domain list, UnknownDomains when a
    requested domain does not exist; in both cases nothing is written."""
    username = username.strip()
    if not username:
        raise ValueError("the user name must not be empty")
    granted = None
    if domains is not None:
        names = normalise_domain_list(domains)
        if not names:
            raise ValueError("--domains needs at least one domain name")
        granted = list(Domain.objects.filter(name__in=names))
        unknown = sorted(set(names) - {domain.name for domain in granted})
        if unknown:
            raise UnknownDomains(unknown)

    user, _ = get_user_model().objects.get_or_create(username=username)
    account, _ = CdnAccount.objects.get_or_create(user=user)
    if granted is not None:
        account.is_sub_account = True
        account.save(update_fields=["is_sub_account"])
        DomainGrant.objects.filter(account=account).exclude(domain__in=granted).delete()
        DomainGrant.objects.bulk_create(
            [DomainGrant(account=account, domain=domain) for domain in granted], ignore_conflicts=True
        )
    ak, sk = new_key_pair()
    AccessKey.objects.create(account=account, access_key_id=ak, secret=sk)
    return ak, sk
