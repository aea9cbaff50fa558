"""A per-user cache of rendered page fragments, keyed by the database's page version.

The review queue is read far more often than it changes. Its rendered content is kept per
user under a key holding `supervision.selectors.review_queue_version()`, which database
triggers bump at the commit of any change a queue depends on: task transitions and edits,
new versions of work product, matters, clients, vendors, engagements, object permissions
(direct or through a group), group membership and ethical walls (migration
`supervision/0005_review_queue_version`). So a cached page can never show a task after its
user lost the grant or was walled off, nor miss a task submitted since: either change
commits a new version, and the next request looks up a key that does not exist yet.

Order matters: the version is read before the data. A change committing in between is then
in the rendered page but filed under the older version, which only makes that entry
short-lived; the reverse order could file old data under the new version.

Not cached: a fragment rendered inside an open transaction (it may hold that
transaction's own uncommitted writes, and the version only moves at commit), and anything
when `REVIEW_QUEUE_CACHE_SECONDS` is 0. Entries expire after that many seconds even if
nothing changed, which bounds how stale the relative clocks ("due in 5 minutes") get.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connection

from supervision.selectors import review_queue_version

CACHE_ALIAS = "default"


def cached_fragment(*, name: str, user_id: int, params: str, render: Callable[[], str]
                    ) -> tuple[str, bool]:
    """`render()`'s result for (`name`, `user_id`, `params`) at the current page version,
    from the cache when an equal request rendered it already. Returns (html, was_cached)."""
    seconds = int(settings.REVIEW_QUEUE_CACHE_SECONDS)
    if seconds <= 0 or connection.in_atomic_block:
        return render(), False
    version = review_queue_version()  # before the data: see the module docstring
    digest = hashlib.blake2b(params.encode(), digest_size=12).hexdigest()
    key = f"lpo:page:{name}:u{user_id}:v{version}:{digest}"
    cache = caches[CACHE_ALIAS]
    html = cache.get(key)
    if isinstance(html, str):
        return html, True
    html = render()
    cache.set(key, html, seconds)
    return html, False
