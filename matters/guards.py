"""Who may do what on a matter, checked by every write of matters' services.

Each raises the domain error a view turns into a message (`lpo_tracker.errors`)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from lpo_tracker.errors import NotEligible, RuleViolation
from matters.models import (
    Matter,
    MatterStatus,
)
from matters.selectors import (
    is_firm_admin,
    may_manage_team,
    user_has_matter_perm,
)

AnyUser = User | AnonymousUser


def require_matter_open(matter: Matter, doing: str, *, lock: bool = False) -> None:
    """A closed (or on-hold) matter takes no new work: no task, engagement or upload.

    With `lock`, the status is re-read under FOR NO KEY UPDATE, which waits for a
    `matter_close` in progress (FOR UPDATE): new work either lands before the close checks
    (and blocks it) or sees the matter closed.
    """
    status = matter.status
    if lock:
        status = (Matter.objects.select_for_update(no_key=True).filter(pk=matter.pk)
                  .values_list("status", flat=True).get())
    if status != MatterStatus.OPEN:
        raise RuleViolation(
            f"Matter {matter.number} is {MatterStatus(status).label.lower()}; it cannot "
            f"{doing}.", code="matter_not_open",
        )


def require_matter_perm(actor: AnyUser, matter: Matter, codename: str, doing: str) -> None:
    if not user_has_matter_perm(actor, matter, codename):
        raise NotEligible(f"You are not allowed to {doing} on matter {matter.number}.",
                          code="forbidden")


def require_firm_admin(actor: AnyUser, doing: str) -> None:
    """Grants and walls are for the firm's risk/IT administrators (Django's model perms)."""
    if not is_firm_admin(actor):
        raise NotEligible(f"Only a firm administrator may {doing}.", code="forbidden")


def require_team_manager(actor: AnyUser | None, matter: Matter, doing: str) -> None:
    """The matter's team (change_matter on it) or a firm administrator; None is the system."""
    if actor is not None and not may_manage_team(actor, matter):
        raise NotEligible(f"Only a firm administrator may {doing}.", code="forbidden")
