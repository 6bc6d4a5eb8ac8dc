"""At most CDN_RATE_LIMIT_PER_SECOND requests per account in any second, across every server process.

A sliding window over Django's cache (Redis when CACHE_URL is set): each account counts its
accepted requests in 100 ms slots, one key per slot (`add` creates it at 1, `incr` bumps it
atomically, it expires on its own), and a request passes when the last ten slots, its own included,
hold at most the limit. A refused request takes its count back, so a client sending a little too
fast still gets the limit through rather than nothing. Counting per calendar second let a burst at
the end of one second and another at the start of the next both pass (twice the limit in 0.4 s);
here any ten consecutive slots hold at most the limit. A process-local counter would let N
processes each allow the limit.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches

from cdnorigin.errors import VolcError
from common import metrics

logger = logging.getLogger(__name__)

SLOTS_PER_SECOND = 10
# Long enough to outlive the window (Redis timeouts are whole seconds), short enough to vanish soon.
KEY_LIFETIME_SECONDS = 2


class RateLimiter:
    """Counts requests per account in a sliding one-second window; `clock` (Unix seconds) is injectable."""

    def __init__(self, clock: Callable[[], float] = time.time, cache_alias: str = "default"):
        self.clock = clock
        self.cache_alias = cache_alias

    def _key(self, account_id: int, slot: int) -> str:
        return f"cdnorigin:throttle:{account_id}:{slot}"

    def hits_in_window(self, account_id: int) -> tuple[int, str]:
        """Requests of the account in the last second, this one counted, and this request's slot key."""
        cache = caches[self.cache_alias]
        slot = int(self.clock() * SLOTS_PER_SECOND)
        key = self._key(account_id, slot)
        if not cache.add(key, 1, timeout=KEY_LIFETIME_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr: this request opens a new count
                cache.add(key, 1, timeout=KEY_LIFETIME_SECONDS)
        window = [self._key(account_id, earlier) for earlier in range(slot - SLOTS_PER_SECOND + 1, slot + 1)]
        return sum(cache.get_many(window).values()), key

    def consume(self, account_id: int) -> None:
        """Count one request of the account; 429 FlowLimitExceeded over the limit.

        If the cache itself fails, the request is let through (and logged): an outage of the
        counter should not take the statistics API down with it.
        """
        limit = settings.CDN_RATE_LIMIT_PER_SECOND
        try:
            hits, key = self.hits_in_window(account_id)
            if hits > limit:
                caches[self.cache_alias].decr(key)
        except Exception:
            logger.exception("request throttle unavailable; letting the request through")
            return
        if hits > limit:
            metrics.THROTTLED.inc()
            raise VolcError(
                429, "FlowLimitExceeded", f"Request was denied due to request throttling: at most {limit} per second."
            )


limiter = RateLimiter()
