"""A matter's people: grants, team members and supervising attorneys, ethical walls.

Every change is audited and tells the affected person (`ACCESS_CHANGE_HOOKS`, registered by
supervision, runs inside the change's transaction)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import RuleViolation
from matters.guards import AnyUser, require_firm_admin, require_team_manager
from matters.models import (
    EthicalWall,
    Matter,
    MatterMembership,
    MatterRole,
)
from matters.selectors import (
    CHANGE,
    SUPERVISE,
    VIEW,
    is_screened,
)
from vendors.selectors import is_vendor_user

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    MatterRole.TEAM: (VIEW, CHANGE),
    MatterRole.SUPERVISING_ATTORNEY: (VIEW, SUPERVISE),
}


@dataclass(frozen=True)
class AccessChange:
    """Someone's access to a matter changed: the affected person is told (in-app and by
    e-mail). `change` is one of ACCESS_CHANGES; `event_id` is the audit event of it."""

    matter: Matter
    user: User
    change: str
    actor: AnyUser | None
    event_id: int


ACCESS_CHANGES = ("team_added", "team_removed", "supervising_attorney_added",
                  "supervising_attorney_removed", "wall_added", "wall_removed")
# Run inside the transaction of the change, so the notice is recorded with it or not at all;
# registered by supervision (which owns notifications; this app may not import it).
ACCESS_CHANGE_HOOKS: list[Callable[[AccessChange], None]] = []


def _access_changed(matter: Matter, user: User, change: str, actor: AnyUser | None,
                    event_id: int) -> None:
    for hook in ACCESS_CHANGE_HOOKS:
        hook(AccessChange(matter, user, change, actor, event_id))


@transaction.atomic
def permission_grant(
    *, actor: AnyUser | None, matter: Matter, user: User, codename: str
) -> None:
    """Grant one object permission; audited. Only the matter's team or a firm administrator
    grants, and never to a screened or vendor user."""
    require_team_manager(actor, matter, "grant permissions on the matter")
    _grant(actor=actor, matter=matter, user=user, codename=codename)


def _grant(*, actor: AnyUser | None, matter: Matter, user: User, codename: str) -> None:
    """permission_grant once the caller has checked who is asking."""
    if codename not in (VIEW, CHANGE, SUPERVISE):
        raise RuleViolation(f"Unknown matter permission {codename!r}.", code="invalid")
    if is_screened(user, matter):
        raise RuleViolation(
            f"{user} is screened from {matter.number}; remove the wall first.", code="screened"
        )
    if is_vendor_user(user):
        raise RuleViolation("Vendor users never receive matter permissions.", code="vendor_user")
    if codename == SUPERVISE and not hasattr(user, "attorney_profile"):
        raise RuleViolation(
            f"{user} has no attorney profile, so cannot supervise.", code="not_attorney"
        )
    assign_perm(codename, user, matter)
    audit_record(
        actor=actor,
        action="permission.granted",
        obj=matter,
        matter_id=matter.pk,
        after={"user": user.pk, "username": user.get_username(), "permission": codename},
    )


@transaction.atomic
def permission_revoke(
    *, actor: AnyUser | None, matter: Matter, user: User, codename: str
) -> None:
    require_team_manager(actor, matter, "revoke permissions on the matter")
    _revoke(actor=actor, matter=matter, user=user, codename=codename)


def _revoke(*, actor: AnyUser | None, matter: Matter, user: User, codename: str) -> None:
    remove_perm(codename, user, matter)
    audit_record(
        actor=actor,
        action="permission.revoked",
        obj=matter,
        matter_id=matter.pk,
        before={"user": user.pk, "username": user.get_username(), "permission": codename},
    )


@transaction.atomic
def matter_member_add(
    *,
    actor: User | None,
    matter: Matter,
    user: User,
    role: str,
    _skip_admin_check: bool = False,
) -> MatterMembership:
    """Add a person to the matter in a role and grant the role's permissions."""
    if not _skip_admin_check:
        require_team_manager(actor, matter, "change the matter team")
    membership, created = MatterMembership.objects.get_or_create(
        matter=matter, user=user, role=role, defaults={"added_by": actor}
    )
    for codename in ROLE_PERMISSIONS[role]:
        _grant(actor=actor, matter=matter, user=user, codename=codename)
    if created:
        event = audit_record(actor=actor, action="membership.added", obj=matter,
                             matter_id=matter.pk,
                             after={"user": user.pk, "username": user.get_username(),
                                    "role": role})
        _access_changed(matter, user, f"{role}_added", actor, event.pk)
    return membership


@transaction.atomic
def matter_member_remove(
    *, actor: User, matter: Matter, user: User, role: str
) -> None:
    """Remove a role and revoke the permissions no remaining role of the user needs."""
    require_team_manager(actor, matter, "change the matter team")
    if role == MatterRole.SUPERVISING_ATTORNEY and user.pk == matter.responsible_attorney_id:
        raise RuleViolation(
            "The responsible attorney supervises the matter; name another one first.",
            code="responsible_attorney",
        )
    removed, _ = MatterMembership.objects.filter(matter=matter, user=user, role=role).delete()
    kept = {
        codename
        for other in MatterMembership.objects.filter(matter=matter, user=user)
        .values_list("role", flat=True)
        for codename in ROLE_PERMISSIONS[other]
    }
    for codename in set(ROLE_PERMISSIONS[role]) - kept:
        _revoke(actor=actor, matter=matter, user=user, codename=codename)
    if removed:
        event = audit_record(actor=actor, action="membership.removed", obj=matter,
                             matter_id=matter.pk,
                             before={"user": user.pk, "username": user.get_username(),
                                     "role": role})
        _access_changed(matter, user, f"{role}_removed", actor, event.pk)


@transaction.atomic
def wall_add(
    *, actor: User, matter: Matter, user: User, reason: str
) -> EthicalWall:
    """Screen a user from a matter. The wall beats every grant from this moment on."""
    require_firm_admin(actor, "put up an ethical wall")
    if not reason.strip():
        raise RuleViolation("Say why the user is screened.", code="reason_required")
    if user.pk == matter.responsible_attorney_id:
        raise RuleViolation(
            "The responsible attorney cannot be screened; name another one first.",
            code="responsible_attorney",
        )
    wall, created = EthicalWall.objects.get_or_create(
        matter=matter, user=user, defaults={"reason": reason.strip(), "created_by": actor}
    )
    if created:
        event = audit_record(
            actor=actor,
            action="wall.added",
            obj=matter,
            matter_id=matter.pk,
            after={"user": user.pk, "username": user.get_username(), "reason": wall.reason},
        )
        _access_changed(matter, user, "wall_added", actor, event.pk)
    return wall


@transaction.atomic
def wall_remove(
    *, actor: User, matter: Matter, user: User, reason: str
) -> None:
    require_firm_admin(actor, "take down an ethical wall")
    if not reason.strip():
        raise RuleViolation("Say why the wall comes down.", code="reason_required")
    deleted, _ = EthicalWall.objects.filter(matter=matter, user=user).delete()
    if deleted:
        event = audit_record(
            actor=actor,
            action="wall.removed",
            obj=matter,
            matter_id=matter.pk,
            before={"user": user.pk, "username": user.get_username()},
            after={"reason": reason.strip()},
        )
        _access_changed(matter, user, "wall_removed", actor, event.pk)
