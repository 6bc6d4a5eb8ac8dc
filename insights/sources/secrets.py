"""How a source's secret is kept: encrypted when the service must use it in clear (GitHub's HMAC key, the
token sent to Zadig), only hashed when it is merely compared (GitLab's X-Gitlab-Token).

The encryption key is INSIGHTS_SOURCE_KEY when set (a Fernet key: `python -c "from cryptography.fernet
import Fernet; print(Fernet.generate_key().decode())"`), else one derived from SECRET_KEY; changing the one
in use makes the stored secrets unreadable, and those sources answer 401 until `add_source --rotate`.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

HASH_PREFIX = "sha256:"
ENCRYPTED_PREFIX = "fernet:"


def _fernet() -> Fernet:
    key = settings.INSIGHTS_SOURCE_KEY
    if not key:
        digest = hashlib.sha256(b"insights.sources:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def new_secret() -> str:
    """A webhook secret: 32 random bytes, URL-safe (what GitHub and GitLab forms accept as is)."""
    return secrets.token_urlsafe(32)


def encrypt(clear: str) -> str:
    return ENCRYPTED_PREFIX + _fernet().encrypt(clear.encode()).decode()


def decrypt(stored: str) -> str | None:
    """The clear secret, or None when there is none or it cannot be read (another key)."""
    if not stored.startswith(ENCRYPTED_PREFIX):
        return None
    try:
        return _fernet().decrypt(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()
    except (InvalidToken, ValueError):
        return None


def hashed(clear: str) -> str:
    return HASH_PREFIX + hashlib.sha256(clear.encode()).hexdigest()


def matches_hash(stored: str, given: str) -> bool:
    """Constant time in the given token (both sides are digests of one length)."""
    if not stored.startswith(HASH_PREFIX):
        return False
    return hmac.compare_digest(stored, hashed(given))


def keep(kind: str, clear: str) -> str:
    """The stored form of a kind's secret."""
    return hashed(clear) if kind == "gitlab" else encrypt(clear)
