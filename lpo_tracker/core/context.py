"""Where an action came from (request id, IP), carried to the audit trail without plumbing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip_address: str | None = None
    source: str = "web"


_current: ContextVar[RequestContext | None] = ContextVar("lpo_request_context", default=None)


def current_context() -> RequestContext:
    return _current.get() or RequestContext(source="system")


@contextmanager
def request_context(context: RequestContext) -> Iterator[None]:
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)
