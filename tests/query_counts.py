"""Query counts that do not depend on how fast the machine is (issue 14).

The sign-in middleware rewrites the session's last-seen stamp at most once a minute
(`lpo_tracker.signin.middleware.LAST_SEEN_GRANULARITY`): whichever request comes a minute
after the last stamp saves the session, three queries in a test (SAVEPOINT, UPDATE,
RELEASE). On a loaded machine a minute easily passes between two measurements of one test
(building 50 matters took over a minute at load 15), so a page seemed to cost three more
queries with more rows. That write is the session's, not the page's: stamp the session now,
outside the count, before each measured request.
"""

from __future__ import annotations

import time

from django.test import Client

from lpo_tracker.signin.middleware import LAST_SEEN_AT


def fresh_last_seen(client: Client) -> None:
    """Stamp the client's session as seen now (no-op before sign-in), so the next request
    does not rewrite it."""
    session = client.session
    if LAST_SEEN_AT in session:
        session[LAST_SEEN_AT] = time.time()
        session.save()
