"""Reads scoped to the asking user: object permissions (django-guardian, direct foreign-key
tables) and ethical walls. A wall beats every grant. An object the user may not see is a 404
for them, indistinguishable from one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from lpo_tracker.errors import NotEligible
from matters.models import (
    EthicalWall,
    Matter,
    MatterGroupObjectPermission,
    MatterMembership,
    MatterStatus,
    MatterUserObjectPermission,
    Task,
    TaskStatus,
)
from vendors.selectors import is_vendor_user, vendor_of

AnyUser = User | AnonymousUser

VIEW = "view_matter"
CHANGE = "change_matter"
SUPERVISE = "supervise_matter"
# Model permissions of firm-wide roles (docs/rules.md, roles): intake opens matters and keeps
# clients and their parties.
OPEN_MATTERS = "matters.add_matter"
MANAGE_CLIENTS = "matters.change_client"
MANAGE_TASK_TEMPLATES = "matters.manage_task_templates"

# Why each supervising attorney cannot sign off today: the sign-off rule itself
# (supervision.services.supervisors_standing), registered by supervision at start-up because
# this app may not import it.
SIGNOFF_STANDING: list[Callable[[Matter, list[User], dt.date], dict[int, list[str]]]] = []


def _uid(user: AnyUser) -> int:
    return int(user.pk or 0)  # anonymous users have no pk and match nothing


def _granted_ids(user_id: int, codename: str) -> QuerySet[Any]:
    """Ids of the matters on which the user holds `codename`, directly or through a group.

    One UNION ALL subquery, so `pk IN (…)` plans as a semi-join with an honest row estimate;
    `EXISTS … OR EXISTS …` made PostgreSQL read every awaiting task of the firm
    (docs/performance.md, fix 1).
    """
    direct = MatterUserObjectPermission.objects.filter(
        user_id=user_id, permission__codename=codename
    ).values("content_object_id")
    via_group = MatterGroupObjectPermission.objects.filter(
        group__user__id=user_id, permission__codename=codename
    ).values("content_object_id")
    return direct.union(via_group, all=True)


def task_count(condition: Q) -> Coalesce:
    """How many of a matter's tasks meet `condition`, as a correlated subquery: evaluated for
    the rows a page shows only, after its LIMIT (docs/performance.md, fix 2)."""
    # COUNT(matter_id) (never null), not COUNT(id): the per-matter indexes carry matter_id,
    # so a count by matter and status is an index-only scan, without a heap visit per task.
    counted = (
        Task.objects.filter(condition, matter_id=OuterRef("pk"))
        .order_by()
        .values("matter_id")
        .annotate(n=Count("matter_id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _walled(user_id: int) -> Exists:
    return Exists(EthicalWall.objects.filter(matter_id=OuterRef("pk"), user_id=user_id))


def _granted_matters(user_id: int, codename: str) -> QuerySet[Matter]:
    """The rule: a grant of `codename` (direct or through a group), and no wall."""
    return Matter.objects.filter(pk__in=_granted_ids(user_id, codename)).exclude(
        _walled(user_id)
    )


def matters_with_perm(user: AnyUser, codename: str = VIEW) -> QuerySet[Matter]:
    """Matters where the user holds `codename` and is not screened.

    Vendor users never hold matter permissions: they reach tasks, not matters.
    """
    if not user.is_authenticated or not user.is_active:
        return Matter.objects.none()
    return _granted_matters(_uid(user), codename)


# User ids no account has (ids are positive), inside the 32-bit range of auth_user.id: Django
# compiles a lookup with an out-of-range integer as "matches nothing" and drops it.
_PLACEHOLDER_UIDS = (-2_000_000_011, -2_000_000_017)
_COMPILED: dict[tuple[str, str], tuple[str, tuple[Any, ...]]] = {}


def matter_ids_with_perm_sql(user: AnyUser, codename: str) -> tuple[str, list[Any]]:
    """`matters_with_perm(user, codename).values("pk")` as SQL and its parameters, for a
    hand-written query on a hot path (the review queue).

    The same queryset, compiled once per process, database and codename with a placeholder
    user id that the parameters then carry: building and compiling it cost ~2 ms of CPU a
    request, and its text never changes (docs/performance.md). It is compiled for two
    placeholders and must come out the same but for them, or it is refused. An inactive or
    anonymous user gets a subquery that matches nothing, as `matters_with_perm` gives them
    nothing.
    """
    if not user.is_authenticated or not user.is_active:
        return "SELECT 0 WHERE 1 = 0", []
    from django.db import connection

    key = (connection.vendor, codename)
    if key not in _COMPILED:
        first, second = (
            _granted_matters(uid, codename).order_by().values("pk").query.sql_with_params()
            for uid in _PLACEHOLDER_UIDS
        )
        marked = tuple(None if value == _PLACEHOLDER_UIDS[0] else value for value in first[1])
        if (first[0] != second[0] or None not in marked
                or marked != tuple(None if v == _PLACEHOLDER_UIDS[1] else v for v in second[1])):
            raise RuntimeError("matter_ids_with_perm_sql: the SQL depends on more than the "
                               "user id parameter")
        _COMPILED[key] = (first[0], marked)
    sql, params = _COMPILED[key]
    uid = _uid(user)
    return sql, [uid if value is None else value for value in params]


def matters_visible_to(user: AnyUser) -> QuerySet[Matter]:
    return matters_with_perm(user, VIEW).select_related("client", "responsible_attorney")


def user_has_matter_perm(user: AnyUser, matter: Matter, codename: str) -> bool:
    return matters_with_perm(user, codename).filter(pk=matter.pk).exists()


def is_screened(user: AnyUser, matter: Matter) -> bool:
    return EthicalWall.objects.filter(matter=matter, user_id=_uid(user)).exists()


def task_work_refusal(user: AnyUser, task: Task, doing: str = "work on tasks"
                      ) -> NotEligible | None:
    """Why `user` may not work on `task` (start it, upload a version); None when they may.

    The vendor the task is with (an active member, not screened from the matter), or firm
    staff who may change the matter. The services raise the refusal; the pages show the
    button only when there is none. `task.engagement` should be loaded.
    """
    membership = vendor_of(user)
    if membership is not None:
        if task.engagement is None or membership.vendor_id != task.engagement.vendor_id:
            return NotEligible("This task is not with your organisation.", code="forbidden")
        if is_screened(user, task.matter):
            return NotEligible("You are screened from this matter.", code="screened")
        return None
    if not user_has_matter_perm(user, task.matter, CHANGE):
        return NotEligible(f"You are not allowed to {doing} on matter {task.matter.number}.",
                           code="forbidden")
    return None


def get_matter_for(user: AnyUser, pk: int, *, perm: str = VIEW) -> Matter:
    """The matter if the user may see it (404 otherwise) and holds `perm` (403 otherwise)."""
    matter = matters_visible_to(user).filter(pk=pk).first()
    if matter is None:
        raise Http404("No such matter.")
    if perm != VIEW and not user_has_matter_perm(user, matter, perm):
        raise PermissionDenied("You may see this matter but not do that.")
    return matter


# What every task list shows with a task: its matter, the matter's client, the vendor.
TASK_LIST_RELATED = ("matter", "matter__client", "engagement__vendor")


def tasks_visible_to(user: AnyUser) -> QuerySet[Task]:
    """Firm staff: tasks of matters they may see. Vendor users: their own vendor's tasks once
    assigned (a draft is internal to the firm). Everyone else: nothing."""
    base = Task.objects.select_related(*TASK_LIST_RELATED)
    membership = vendor_of(user)
    if membership is not None:
        # A wall binds a provider's staff member too: screened, they see nothing of the matter.
        return (
            base.filter(engagement__vendor_id=membership.vendor_id)
            .exclude(status=TaskStatus.DRAFT)
            .exclude(Exists(EthicalWall.objects.filter(
                matter_id=OuterRef("matter_id"), user_id=_uid(user))))
        )
    if is_vendor_user(user):  # an inactive vendor membership sees nothing
        return Task.objects.none()
    return base.filter(matter__in=matters_with_perm(user, VIEW).values("pk"))


def on_my_matters(user: AnyUser) -> Q:
    """On `Task`: the task's matter is one of the user's own: they are on its team or among
    its supervising attorneys, or they are its responsible attorney. A narrowing of
    `tasks_visible_to` (the task list's "My matters", the calendar feed's SLA deadlines),
    never a grant by itself."""
    user_id = _uid(user)
    member = MatterMembership.objects.filter(matter_id=OuterRef("matter_id"), user_id=user_id)
    return Q(Exists(member)) | Q(matter__responsible_attorney_id=user_id)


def get_task_for(user: AnyUser, pk: int) -> Task:
    # Who set the vendor deadline is shown on the task's pages: joined, not a second query.
    task = tasks_visible_to(user).select_related("sla_due_set_by").filter(pk=pk).first()
    if task is None:
        raise Http404("No such task.")
    return task


def users_with_matter_perm(matter: Matter, codename: str) -> QuerySet[User]:
    """Users (not screened, active) who hold `codename` on the matter."""
    direct = MatterUserObjectPermission.objects.filter(
        content_object=matter, permission__codename=codename, user_id=OuterRef("pk")
    )
    via_group = MatterGroupObjectPermission.objects.filter(
        content_object=matter, permission__codename=codename, group__user=OuterRef("pk")
    )
    walled = EthicalWall.objects.filter(matter=matter, user_id=OuterRef("pk"))
    return (
        User.objects.filter(is_active=True)
        .filter(Q(Exists(direct)) | Q(Exists(via_group)))
        .exclude(Exists(walled))
        .order_by("last_name", "first_name", "username")
    )


def supervisors_by_matter(matter_ids: Iterable[int]) -> dict[int, list[int]]:
    """The set-based twin of `users_with_matter_perm(matter, SUPERVISE)` for many matters:
    active users holding supervise directly or through a group, minus the screened ones.
    Two queries per 2,000 matters instead of one per matter (docs/performance.md, fix 5)."""
    ids = sorted(set(matter_ids))
    found: dict[int, list[int]] = {matter_id: [] for matter_id in ids}
    for start in range(0, len(ids), 2000):
        chunk = ids[start:start + 2000]
        direct = (
            MatterUserObjectPermission.objects.filter(
                content_object_id__in=chunk, permission__codename=SUPERVISE,
                user__is_active=True,
            )
            .exclude(Exists(EthicalWall.objects.filter(
                matter_id=OuterRef("content_object_id"), user_id=OuterRef("user_id"))))
            .values_list("content_object_id", "user_id")
        )
        via_group = (
            MatterGroupObjectPermission.objects.filter(
                content_object_id__in=chunk, permission__codename=SUPERVISE,
                group__user__is_active=True,
            )
            .exclude(Exists(EthicalWall.objects.filter(
                matter_id=OuterRef("content_object_id"), user_id=OuterRef("group__user"))))
            .values_list("content_object_id", "group__user")
        )
        for matter_id, user_id in (*direct, *via_group):
            if user_id not in found[matter_id]:
                found[matter_id].append(user_id)
    return found


def vendor_submission_filter(user: AnyUser) -> Q:
    """For a vendor user, only versions submitted by their own organisation: after a
    reassignment the new provider never sees the previous provider's work product. Firm staff
    see every version (an empty Q)."""
    membership = vendor_of(user)
    if membership is None:
        return Q()
    return Q(submitted_by__vendor_membership__vendor_id=membership.vendor_id)


def _firm_user(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active and not is_vendor_user(user))


def is_firm_admin(user: AnyUser) -> bool:
    """The firm's risk/IT administrators: grants and walls on any matter (Django's model
    permission `matters.change_matter`, not an object grant)."""
    return bool(user.is_authenticated and user.is_active and user.has_perm("matters.change_matter"))


def may_compile_supervision_file(user: AnyUser, matter: Matter, *,
                                 supervises: bool | None = None,
                                 screened: bool | None = None) -> bool:
    """Generate and download the matter's supervision file: its responsible and supervising
    attorneys (the supervise grant, which the responsible attorney always holds) and the
    firm's risk role (`is_firm_admin`); never a vendor user, never anyone screened from it.
    A page that already knows whether the user supervises or is screened passes it."""
    if not _firm_user(user):
        return False
    if screened if screened is not None else is_screened(user, matter):
        return False
    if supervises if supervises is not None else user_has_matter_perm(user, matter, SUPERVISE):
        return True
    return is_firm_admin(user)


def get_matter_for_supervision_file(user: AnyUser, pk: int) -> Matter:
    """The matter of a supervision-file page: 404 for anyone who may not see the matter (the
    risk role sees every matter here) or is screened from it, 403 for those who may see it
    but not compile its file (a team member without the supervise grant)."""
    matter = Matter.objects.select_related("client", "responsible_attorney").filter(pk=pk).first()
    if matter is None or not _firm_user(user) or is_screened(user, matter):
        raise Http404("No such matter.")
    if not (is_firm_admin(user) or matters_with_perm(user, VIEW).filter(pk=pk).exists()):
        raise Http404("No such matter.")
    if not may_compile_supervision_file(user, matter):
        raise PermissionDenied("The supervision file is for the matter's attorneys and risk.")
    return matter


def may_see_walls(user: AnyUser, matter: Matter) -> bool:
    """Who is screened, and why: those who may change the matter and the firm's admins (the
    matter page and the audit export show walls to them only)."""
    return is_firm_admin(user) or user_has_matter_perm(user, matter, CHANGE)


def may_manage_team(user: AnyUser, matter: Matter) -> bool:
    """Add or remove the matter's people: its team (change_matter on it) or a firm admin."""
    return user_has_matter_perm(user, matter, CHANGE) or is_firm_admin(user)


def may_open_matters(user: AnyUser) -> bool:
    """Intake: open a matter (the "New matter" page, its link and `matter_intake`)."""
    return _firm_user(user) and user.has_perm(OPEN_MATTERS)


def may_manage_clients(user: AnyUser) -> bool:
    """Intake: list, create and edit clients and their parties."""
    return _firm_user(user) and user.has_perm(MANAGE_CLIENTS)


def may_manage_task_templates(user: AnyUser) -> bool:
    """Edit the firm's task templates (the staff page, its link, `task_template_save`)."""
    return _firm_user(user) and user.has_perm(MANAGE_TASK_TEMPLATES)


def may_engage_on(user: AnyUser, matter: Matter) -> bool:
    """Engage a vendor on this matter: its team (change_matter on it), while it is open.
    `engagement_create` enforces the same two conditions."""
    return matter.status == MatterStatus.OPEN and user_has_matter_perm(user, matter, CHANGE)


def matters_open_for_engagement(user: AnyUser) -> QuerySet[Matter]:
    """The matters on which `user` may engage a vendor (the navigation's "Engage a vendor")."""
    return matters_with_perm(user, CHANGE).filter(status=MatterStatus.OPEN).select_related(
        "client")


def supervisor_standing(matter: Matter, users: Sequence[User], day: dt.date
                        ) -> dict[int, list[str]]:
    """Why each user cannot sign off on the matter on `day` (empty list: they can)."""
    standing: dict[int, list[str]] = {user.pk: [] for user in users}
    for check in SIGNOFF_STANDING:
        for user_id, blockers in check(matter, list(users), day).items():
            standing[user_id].extend(blockers)
    return standing
