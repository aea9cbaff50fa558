"""Refused attempts are evidence: who tried what, and why it was refused.

A refused sign-off, assignment or download writes an audit event of its own. It is written
after the refused service's transaction has rolled back, in a transaction of its own, so the
refusal cannot take its record with it. (A caller that wraps the service in a transaction of
its own and rolls that back loses the record too; no view, admin action, task or command
does: `ATOMIC_REQUESTS` is off and each service is its own unit of work.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import RuleViolation

Actor = AbstractBaseUser | AnonymousUser | None


def refusal_record(
    *,
    actor: Actor,
    action: str,
    reason: str,
    code: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    matter_id: int | None = None,
    attempt: dict[str, Any] | None = None,
) -> None:
    """Append the refusal to the audit trail in its own transaction (a savepoint when the
    caller already holds one)."""
    with transaction.atomic():
        audit_record(
            actor=actor, action=action, obj=obj, object_type=object_type,
            object_id=object_id, matter_id=matter_id,
            after={"refused": True, "reason": reason, "code": code, **(attempt or {})},
        )


@contextmanager
def refusals_recorded(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    matter_id: int | None = None,
    attempt: dict[str, Any] | None = None,
) -> Iterator[None]:
    """Around a call to a service that runs in its own transaction: a `RuleViolation` it
    raises is recorded as `action` once that transaction has rolled back, then re-raised."""
    try:
        yield
    except RuleViolation as refusal:
        refusal_record(actor=actor, action=action, reason=refusal.message, code=refusal.code,
                       obj=obj, matter_id=matter_id, attempt=attempt)
        raise
