"""At most CDN_RATE_LIMIT_PER_SECOND requests per account and second, across every server process.

The count lives in Django's cache (Redis when CACHE_URL is set), one key per account and
wall-clock second: `add` creates it at 1, `incr` bumps it atomically, and it expires on its own.
A process-local counter would let N processes each allow the limit.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches

from cdnorigin.errors import VolcError

logger = logging.getLogger(__name__)

# Long enough to outlive its second (Redis timeouts are whole seconds), short enough to vanish soon.
KEY_LIFETIME_SECONDS = 2


class RateLimiter:
    """Counts requests per account and second; `clock` (Unix seconds) is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.time, cache_alias: str = "default"):
        self.clock = clock
        self.cache_alias = cache_alias

    def hits_this_second(self, account_id: int) -> int:
        """This request's number within the current second, counting it."""
        cache = caches[self.cache_alias]
        key = f"cdnorigin:throttle:{account_id}:{int(self.clock())}"
        if cache.add(key, 1, timeout=KEY_LIFETIME_SECONDS):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: this request opens a new count
            cache.add(key, 1, timeout=KEY_LIFETIME_SECONDS)
            return 1

    def consume(self, account_id: int) -> None:
        """Count one request of the account; 429 FlowLimitExceeded over the limit.

        If the cache itself fails, the request is let through (and logged): an outage of the
        counter should not take the statistics API down with it.
        """
        limit = settings.CDN_RATE_LIMIT_PER_SECOND
        try:
            hits = self.hits_this_second(account_id)
        except Exception:
            logger.exception("request throttle unavailable; letting the request through")
            return
        if hits > limit:
            raise VolcError(
                429, "FlowLimitExceeded", f"Request was denied due to request throttling: at most {limit} per second."
            )


limiter = RateLimiter()
