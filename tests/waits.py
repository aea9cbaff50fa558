"""Waiting in tests: on an event, never for a fixed time (issue 14).

Every wait polls for the condition and returns as soon as it holds; the timeout is only the
bound that turns a broken test into a failure instead of a hang, so it is generous: a busy
machine (load 10-25 on two cores) must slow a test down, never fail it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# The bound of every event wait in the suite (a healthy run never gets near it).
EVENT_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.05


def wait_for(
    condition: Callable[[], object], what: str, timeout: float = EVENT_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)
