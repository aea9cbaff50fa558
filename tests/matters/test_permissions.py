"""Deny by default: every selector and every service, asked by each member of the cast.

One cast per test; each row of a table is a named subtest, so a failure names who asked
what, while the suite builds the cast once per table rather than once per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import NotEligible, RuleViolation
from matters.models import MatterRole, PracticeArea, Task, TaskStatus
from matters.selectors import (
    CHANGE,
    SUPERVISE,
    VIEW,
    get_matter_for,
    get_task_for,
    is_screened,
    matters_visible_to,
    tasks_visible_to,
    user_has_matter_perm,
    users_with_matter_perm,
)
from matters.services import (
    engagement_create,
    engagement_record_conflict_check,
    engagement_record_consent,
    matter_create,
    matter_member_add,
    matter_member_remove,
    permission_grant,
    permission_revoke,
    task_assign,
    task_cancel,
    task_change_due_date,
    task_create,
    task_reassign,
    task_start,
    wall_add,
    wall_remove,
)
from supervision.services import (
    latest_submission,
    review_request_changes,
    review_start,
    signoff_record,
    submission_create,
    task_deliver,
)
from tests import factories as f
from tests.conftest import Cast
from vendors.models import VendorUser
from vendors.selectors import is_vendor_user, vendor_of

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """The cast plus one task in each interesting state and the odd extra user."""

    cast: Cast
    draft: Task
    assigned: Task
    submitted: Task
    in_review: Task
    approved: Task
    other_matter_task: Task
    users: dict[str, User | AnonymousUser]


def build_world(cast: Cast) -> World:
    assigned = cast.advance(cast.task, TaskStatus.ASSIGNED)
    draft = cast.new_task(title="Internal draft")
    submitted = cast.advance(cast.new_task(title="Fresh upload"), TaskStatus.SUBMITTED)
    in_review = cast.advance(cast.new_task(title="Second batch"), TaskStatus.IN_REVIEW)
    approved = cast.advance(cast.new_task(title="Third batch"), TaskStatus.APPROVED)
    other = f.draft_task(actor=cast.staff_off, matter=cast.other_matter, title="10-K tie-out")
    other = task_assign(actor=cast.staff_off, task=other, engagement=cast.engagement_b)

    inactive = f.UserFactory.create(username="left_the_firm")
    matter_member_add(actor=cast.admin, matter=cast.matter, user=inactive, role=MatterRole.TEAM)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    inactive_vendor = f.vendor_user(cast.engagement_a.vendor, "vendor_a_left")
    inactive_vendor.is_active = False
    inactive_vendor.save(update_fields=["is_active"])
    suspended_membership = f.vendor_user(cast.engagement_a.vendor, "vendor_a_suspended")
    VendorUser.objects.filter(user=suspended_membership).update(is_active=False)

    names = ["admin", "staff_on", "staff_off", "screened", "attorney", "attorney2",
             "lapsed_attorney", "vendor_a_user", "vendor_b_user"]
    users: dict[str, User | AnonymousUser] = {
        name: cast.reload(getattr(cast, name)) for name in names
    }
    users["anonymous"] = AnonymousUser()
    users["inactive staff"] = User.objects.get(pk=inactive.pk)
    users["inactive vendor user"] = User.objects.get(pk=inactive_vendor.pk)
    users["vendor user with suspended membership"] = User.objects.get(
        pk=suspended_membership.pk
    )
    return World(cast, draft, assigned, submitted, in_review, approved, other, users)


@pytest.fixture
def world(cast: Cast) -> World:
    return build_world(cast)


# --- Selectors ------------------------------------------------------------------------------


def test_each_cast_member_sees_exactly_their_matters_and_tasks(world: World) -> None:
    cast = world.cast
    matter, other = cast.matter.pk, cast.other_matter.pk
    vendor_a_tasks = {world.assigned.pk, world.submitted.pk, world.in_review.pk,
                      world.approved.pk}
    on_matter = vendor_a_tasks | {world.draft.pk}  # a draft is internal to the firm
    expected: dict[str, tuple[set[int], set[int]]] = {
        # who: (matters visible, tasks visible)
        "admin": (set(), set()),  # model permissions are not object grants
        "staff_on": ({matter}, on_matter),
        "staff_off": ({other}, {world.other_matter_task.pk}),
        "screened": (set(), set()),  # granted view as a team member, but walled
        "attorney": ({matter}, on_matter),
        "attorney2": ({matter, other}, on_matter | {world.other_matter_task.pk}),
        "lapsed_attorney": ({matter}, on_matter),  # a lapse stops sign-off, not reading
        "vendor_a_user": (set(), vendor_a_tasks),
        "vendor_b_user": (set(), {world.other_matter_task.pk}),
        "anonymous": (set(), set()),
        "inactive staff": (set(), set()),
        "inactive vendor user": (set(), set()),
        "vendor user with suspended membership": (set(), set()),
    }
    assert set(expected) == set(world.users)

    seen = {
        who: ({m.pk for m in matters_visible_to(user)}, {t.pk for t in tasks_visible_to(user)})
        for who, user in world.users.items()
    }

    assert seen == expected


def _outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except Http404:
        return "404"
    except PermissionDenied:
        return "403"
    return "ok"


def test_get_matter_for_and_get_task_for_answer_404_to_everyone_who_may_not_see(
    world: World, subtests: pytest.Subtests
) -> None:
    cast = world.cast
    # who: (get_matter_for(matter), get_task_for(assigned task), get_task_for(draft))
    expected = {
        "admin": ("404", "404", "404"),
        "staff_on": ("ok", "ok", "ok"),
        "staff_off": ("404", "404", "404"),
        "screened": ("404", "404", "404"),
        "attorney": ("ok", "ok", "ok"),
        "attorney2": ("ok", "ok", "ok"),
        "lapsed_attorney": ("ok", "ok", "ok"),
        "vendor_a_user": ("404", "ok", "404"),
        "vendor_b_user": ("404", "404", "404"),
        "anonymous": ("404", "404", "404"),
        "inactive staff": ("404", "404", "404"),
        "inactive vendor user": ("404", "404", "404"),
        "vendor user with suspended membership": ("404", "404", "404"),
    }
    for who, user in world.users.items():
        with subtests.test(who):
            assert (
                _outcome(partial(get_matter_for, user, cast.matter.pk)),
                _outcome(partial(get_task_for, user, world.assigned.pk)),
                _outcome(partial(get_task_for, user, world.draft.pk)),
            ) == expected[who]


def test_unknown_pk_is_404_like_a_forbidden_one(world: World) -> None:
    staff_on = world.users["staff_on"]
    with pytest.raises(Http404):
        get_matter_for(staff_on, 10**9)
    with pytest.raises(Http404):
        get_task_for(staff_on, 10**9)


@pytest.mark.parametrize(
    ("who", "perm", "outcome"),
    [
        ("staff_on", CHANGE, "ok"),
        ("staff_on", SUPERVISE, "403"),
        ("attorney", VIEW, "ok"),
        ("attorney", SUPERVISE, "ok"),
        ("attorney", CHANGE, "403"),  # may see and supervise, not change
        ("lapsed_attorney", SUPERVISE, "ok"),  # the grant stands; sign-off checks the bar
        ("staff_off", CHANGE, "404"),
        ("screened", CHANGE, "404"),  # holds change_matter as a team member, but walled
    ],
)
def test_get_matter_for_with_perm_is_403_for_those_who_may_only_see(
    cast: Cast, who: str, perm: str, outcome: str
) -> None:
    user = cast.reload(getattr(cast, who))
    assert _outcome(lambda: get_matter_for(user, cast.matter.pk, perm=perm)) == outcome


def test_user_has_matter_perm_and_is_screened_for_each_cast_member(
    world: World, subtests: pytest.Subtests
) -> None:
    matter = world.cast.matter
    # who: (view, change, supervise) on cast.matter, screened?
    expected = {
        "admin": ((False, False, False), False),
        "staff_on": ((True, True, False), False),
        "staff_off": ((False, False, False), False),
        "screened": ((False, False, False), True),  # holds view+change rows, walled
        "attorney": ((True, False, True), False),
        "attorney2": ((True, False, True), False),
        "lapsed_attorney": ((True, False, True), False),
        "vendor_a_user": ((False, False, False), False),
        "vendor_b_user": ((False, False, False), False),
        "anonymous": ((False, False, False), False),
        "inactive staff": ((False, False, False), False),
        "inactive vendor user": ((False, False, False), False),
        "vendor user with suspended membership": ((False, False, False), False),
    }
    for who, user in world.users.items():
        with subtests.test(who):
            perms = tuple(user_has_matter_perm(user, matter, codename)
                          for codename in (VIEW, CHANGE, SUPERVISE))
            assert (perms, is_screened(user, matter)) == expected[who]


def test_vendor_of_and_is_vendor_user_tell_vendor_users_from_staff(world: World) -> None:
    users = world.users
    vendor_a = world.cast.engagement_a.vendor_id
    membership = vendor_of(users["vendor_a_user"])
    assert membership is not None and membership.vendor_id == vendor_a
    assert vendor_of(users["staff_on"]) is None
    assert vendor_of(users["anonymous"]) is None
    # Deactivated accounts and suspended memberships act for no vendor, yet stay vendor
    # users: they never fall back to being treated as firm staff.
    for who in ("inactive vendor user", "vendor user with suspended membership"):
        assert vendor_of(users[who]) is None
        assert is_vendor_user(users[who])
    assert is_vendor_user(users["vendor_b_user"])
    assert not is_vendor_user(users["attorney"])
    assert not is_vendor_user(users["anonymous"])


def test_users_with_matter_perm_lists_active_unscreened_grantees(world: World) -> None:
    matter = world.cast.matter

    supervisors = {u.username for u in users_with_matter_perm(matter, SUPERVISE)}
    viewers = {u.username for u in users_with_matter_perm(matter, VIEW)}

    assert supervisors == {"attorney", "attorney2", "lapsed"}
    # Not the screened user (walled), not "left_the_firm" (inactive), no vendor users.
    assert viewers == {"attorney", "attorney2", "lapsed", "staff_on"}


# --- Query counts ---------------------------------------------------------------------------


def _more_matters(cast: Cast, count: int) -> None:
    for n in range(count):
        f.matter(actor=cast.admin, responsible=cast.attorney, title=f"Extra matter {n}")


def _more_tasks(cast: Cast, count: int) -> None:
    for n in range(count):
        task = cast.new_task(title=f"Extra task {n}")
        task_assign(actor=cast.staff_on, task=task, engagement=cast.engagement_a)


def _list_matters(user: User) -> list[str]:
    return [f"{m.number} {m.client.name} {m.responsible_attorney.username}"
            for m in matters_visible_to(user)]


def _list_tasks(user: User) -> list[str]:
    return [f"{t.matter.number} {t.matter.client.name} "
            f"{t.engagement.vendor.name if t.engagement else '-'}"
            for t in tasks_visible_to(user)]


def test_matters_visible_to_costs_one_query_for_1_or_10_matters(
    cast: Cast, django_assert_num_queries: Any
) -> None:
    attorney = cast.reload(cast.attorney)
    # 1: matters joined with client and responsible attorney, grants and walls as EXISTS.
    with django_assert_num_queries(1):
        assert len(_list_matters(attorney)) == 1
    _more_matters(cast, 9)
    attorney = cast.reload(cast.attorney)
    with django_assert_num_queries(1):
        assert len(_list_matters(attorney)) == 10


@pytest.mark.parametrize(
    ("who", "queries"),
    [
        # 1 the user's vendor membership (none; cached on the user, so "is a vendor user at
        # all?" asks nothing more), 2 the tasks joined with matter, client, engagement and
        # vendor, filtered by grants and walls.
        ("staff_on", 2),
        # 1 the vendor membership, 2 the vendor's non-draft tasks with the same joins.
        ("vendor_a_user", 2),
    ],
)
def test_tasks_visible_to_costs_the_same_for_1_or_10_tasks(
    cast: Cast, django_assert_num_queries: Any, who: str, queries: int
) -> None:
    cast.advance(cast.task, TaskStatus.ASSIGNED)
    user = cast.reload(getattr(cast, who))  # fresh: nothing cached on the instance
    with django_assert_num_queries(queries):
        assert len(_list_tasks(user)) == 1
    _more_tasks(cast, 9)
    user = cast.reload(getattr(cast, who))
    with django_assert_num_queries(queries):
        assert len(_list_tasks(user)) == 10


# --- Services called by the wrong person ----------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    call: Callable[[World], Any]
    error: type[RuleViolation]
    message: str


def _user(world: World, who: str) -> Any:
    return world.users[who]


def _latest(task: Task) -> Any:
    return latest_submission(task)


REFUSALS: dict[str, Refusal] = {
    "matter_create by staff without add_matter": Refusal(
        lambda w: matter_create(actor=_user(w, "staff_on"), client=w.cast.matter.client,
                                title="Side project", practice_area=PracticeArea.IP,
                                responsible_attorney=w.cast.attorney),
        NotEligible, "Only firm staff allowed to open matters"),
    "task_create by staff off the matter": Refusal(
        lambda w: task_create(actor=_user(w, "staff_off"), matter=w.cast.matter,
                              title="Snoop", task_type="document_review"),
        NotEligible, "not allowed to create tasks"),
    "task_create by the screened user": Refusal(
        lambda w: task_create(actor=_user(w, "screened"), matter=w.cast.matter,
                              title="Snoop", task_type="document_review"),
        NotEligible, "not allowed to create tasks"),
    "task_create by a vendor user": Refusal(
        lambda w: task_create(actor=_user(w, "vendor_a_user"), matter=w.cast.matter,
                              title="Self-assigned", task_type="document_review"),
        NotEligible, "not allowed to create tasks"),
    "task_assign by a vendor user": Refusal(
        lambda w: task_assign(actor=_user(w, "vendor_a_user"), task=w.draft,
                              engagement=w.cast.engagement_a),
        NotEligible, "not allowed to assign tasks"),
    "task_assign by an attorney who may not change the matter": Refusal(
        lambda w: task_assign(actor=_user(w, "attorney"), task=w.draft,
                              engagement=w.cast.engagement_a),
        NotEligible, "not allowed to assign tasks"),
    "task_start by vendor B on vendor A's task": Refusal(
        lambda w: task_start(actor=_user(w, "vendor_b_user"), task=w.assigned),
        NotEligible, "not with your organisation"),
    "task_start by staff off the matter": Refusal(
        lambda w: task_start(actor=_user(w, "staff_off"), task=w.assigned),
        NotEligible, "not allowed to work on tasks"),
    "task_reassign by a vendor user": Refusal(
        lambda w: task_reassign(actor=_user(w, "vendor_a_user"), task=w.assigned,
                                engagement=w.cast.engagement_b, reason="Mine now"),
        NotEligible, "not allowed to reassign tasks"),
    "task_cancel by a vendor user": Refusal(
        lambda w: task_cancel(actor=_user(w, "vendor_a_user"), task=w.assigned,
                              reason="Too hard"),
        NotEligible, "not allowed to cancel tasks"),
    "task_change_due_date by a vendor user": Refusal(
        lambda w: task_change_due_date(actor=_user(w, "vendor_a_user"), task=w.assigned,
                                       kind="sla", new_value=timezone.now(),
                                       reason="Need more time"),
        NotEligible, "not allowed to change due dates"),
    "engagement_create by staff off the matter": Refusal(
        lambda w: engagement_create(actor=_user(w, "staff_off"), matter=w.cast.matter,
                                    vendor=w.cast.engagement_b.vendor, scope="Extra"),
        NotEligible, "not allowed to engage a vendor"),
    "engagement_record_conflict_check by a vendor user": Refusal(
        lambda w: engagement_record_conflict_check(
            actor=_user(w, "vendor_a_user"), engagement=w.cast.engagement_a,
            result="cleared"),
        NotEligible, "not allowed to record a conflict check"),
    "engagement_record_consent by an attorney without change": Refusal(
        lambda w: engagement_record_consent(
            actor=_user(w, "attorney"), engagement=w.cast.engagement_a, given_by="GC",
            given_on=firm_today(), scope="All", evidence=f.pdf_upload()),
        NotEligible, "not allowed to record client consent"),
    "submission_create by staff off the matter": Refusal(
        lambda w: submission_create(actor=_user(w, "staff_off"), task=w.in_review,
                                    upload=f.pdf_upload()),
        NotEligible, "not allowed to upload work product"),
    "submission_create by an inactive vendor user": Refusal(
        lambda w: submission_create(actor=_user(w, "inactive vendor user"), task=w.in_review,
                                    upload=f.pdf_upload()),
        NotEligible, "not allowed to upload work product"),
    "review_start by staff on the matter (not a supervisor)": Refusal(
        lambda w: review_start(actor=_user(w, "staff_on"), task=w.submitted),
        NotEligible, "You do not supervise matter"),
    "review_start by a vendor user": Refusal(
        lambda w: review_start(actor=_user(w, "vendor_a_user"), task=w.submitted),
        NotEligible, "Vendor users cannot review"),
    "review_request_changes by staff on the matter": Refusal(
        lambda w: review_request_changes(actor=_user(w, "staff_on"), task=w.in_review,
                                         submission=_latest(w.in_review), comments="Redo"),
        NotEligible, "You do not supervise matter"),
    "signoff_record by a vendor user": Refusal(
        lambda w: signoff_record(actor=_user(w, "vendor_a_user"), task=w.in_review,
                                 submission=_latest(w.in_review), attestation_accepted=True,
                                 confirmation=f.fresh_confirmation()),
        NotEligible, "Vendor users cannot sign off"),
    "signoff_record by the screened user": Refusal(
        lambda w: signoff_record(actor=_user(w, "screened"), task=w.in_review,
                                 submission=_latest(w.in_review), attestation_accepted=True,
                                 confirmation=f.fresh_confirmation()),
        NotEligible, "screened from matter"),
    "task_deliver by a vendor user": Refusal(
        lambda w: task_deliver(actor=_user(w, "vendor_a_user"), task=w.approved),
        NotEligible, "may not deliver work"),
    "task_deliver by staff off the matter": Refusal(
        lambda w: task_deliver(actor=_user(w, "staff_off"), task=w.approved),
        NotEligible, "may not deliver work"),
    "wall_add by a non-admin": Refusal(
        lambda w: wall_add(actor=_user(w, "staff_on"), matter=w.cast.matter,
                           user=w.cast.attorney2, reason="Dislike"),
        NotEligible, "Only a firm administrator may put up an ethical wall"),
    "wall_remove by a non-admin": Refusal(
        lambda w: wall_remove(actor=_user(w, "staff_on"), matter=w.cast.matter,
                              user=w.cast.screened, reason="Friend of mine"),
        NotEligible, "Only a firm administrator may take down an ethical wall"),
    "wall_add of the responsible attorney": Refusal(
        lambda w: wall_add(actor=_user(w, "admin"), matter=w.cast.matter,
                           user=w.cast.attorney, reason="Conflict"),
        RuleViolation, "responsible attorney cannot be screened"),
    "matter_member_add by staff off the matter": Refusal(
        lambda w: matter_member_add(actor=_user(w, "staff_off"), matter=w.cast.matter,
                                    user=w.cast.staff_off, role=MatterRole.TEAM),
        NotEligible, "Only a firm administrator may change the matter team"),
    "matter_member_add by an attorney without change": Refusal(
        lambda w: matter_member_add(actor=_user(w, "attorney"), matter=w.cast.matter,
                                    user=w.cast.staff_off, role=MatterRole.TEAM),
        NotEligible, "Only a firm administrator may change the matter team"),
    "matter_member_add of the screened user": Refusal(
        lambda w: matter_member_add(actor=_user(w, "admin"), matter=w.cast.matter,
                                    user=w.cast.screened, role=MatterRole.TEAM),
        RuleViolation, "is screened from"),
    "matter_member_remove by staff off the matter": Refusal(
        lambda w: matter_member_remove(actor=_user(w, "staff_off"), matter=w.cast.matter,
                                       user=w.cast.staff_on, role=MatterRole.TEAM),
        NotEligible, "Only a firm administrator may change the matter team"),
    "matter_member_remove of the responsible attorney": Refusal(
        lambda w: matter_member_remove(actor=_user(w, "admin"), matter=w.cast.matter,
                                       user=w.cast.attorney,
                                       role=MatterRole.SUPERVISING_ATTORNEY),
        RuleViolation, "The responsible attorney supervises the matter"),
    "permission_grant to a vendor user": Refusal(
        lambda w: permission_grant(actor=_user(w, "admin"), matter=w.cast.matter,
                                   user=w.cast.vendor_a_user, codename=VIEW),
        RuleViolation, "Vendor users never receive matter permissions"),
    "permission_grant to a screened user": Refusal(
        lambda w: permission_grant(actor=_user(w, "admin"), matter=w.cast.matter,
                                   user=w.cast.screened, codename=VIEW),
        RuleViolation, "is screened from"),
    "permission_grant of supervise to a non-attorney": Refusal(
        lambda w: permission_grant(actor=_user(w, "admin"), matter=w.cast.matter,
                                   user=w.cast.staff_on, codename=SUPERVISE),
        RuleViolation, "has no attorney profile"),
    "permission_grant of an unknown permission": Refusal(
        lambda w: permission_grant(actor=_user(w, "admin"), matter=w.cast.matter,
                                   user=w.cast.staff_on, codename="delete_matter"),
        RuleViolation, "Unknown matter permission"),
    "permission_grant by staff off the matter": Refusal(
        lambda w: permission_grant(actor=_user(w, "staff_off"), matter=w.cast.matter,
                                   user=w.cast.staff_off, codename=VIEW),
        NotEligible, "Only a firm administrator may grant permissions"),
    "permission_grant by a vendor user": Refusal(
        lambda w: permission_grant(actor=_user(w, "vendor_a_user"), matter=w.cast.matter,
                                   user=w.cast.staff_off, codename=VIEW),
        NotEligible, "Only a firm administrator may grant permissions"),
    "permission_revoke by staff off the matter": Refusal(
        lambda w: permission_revoke(actor=_user(w, "staff_off"), matter=w.cast.matter,
                                    user=w.cast.attorney2, codename=SUPERVISE),
        NotEligible, "Only a firm administrator may revoke permissions"),
}


def test_each_service_refuses_the_wrong_person_and_changes_nothing(
    world: World, subtests: pytest.Subtests
) -> None:
    for name, refusal in REFUSALS.items():
        with subtests.test(name):
            events_before = AuditEvent.objects.count()
            with pytest.raises(refusal.error, match=refusal.message), transaction.atomic():
                refusal.call(world)
            assert AuditEvent.objects.count() == events_before


def test_team_member_may_grant_and_revoke_on_their_matter(cast: Cast) -> None:
    """The positive control for the grant rows above: the team manages its own matter."""
    newcomer = f.UserFactory.create(username="newcomer")

    permission_grant(actor=cast.staff_on, matter=cast.matter, user=newcomer, codename=VIEW)
    assert get_matter_for(User.objects.get(pk=newcomer.pk), cast.matter.pk) == cast.matter

    permission_revoke(actor=cast.staff_on, matter=cast.matter, user=newcomer, codename=VIEW)
    with pytest.raises(Http404):
        get_matter_for(User.objects.get(pk=newcomer.pk), cast.matter.pk)


def test_the_compiled_permission_sql_matches_the_queryset_for_every_kind_of_user(
    cast: Cast,
) -> None:
    """`matter_ids_with_perm_sql` (the review queue's hot path) is `matters_with_perm`
    compiled once: the same matters for a direct grant, a group grant, a wall, no grant, a
    vendor user, an inactive and an anonymous user."""
    from django.contrib.auth.models import Group
    from django.db import connection
    from guardian.shortcuts import assign_perm

    from matters.selectors import SUPERVISE, VIEW, matter_ids_with_perm_sql, matters_with_perm

    reviewers = Group.objects.create(name="Reviewers")
    assign_perm(SUPERVISE, reviewers, cast.other_matter)
    cast.staff_on.groups.add(reviewers)
    inactive = cast.reload(cast.attorney2)
    inactive.is_active = False
    users: list[User | AnonymousUser] = [
        cast.attorney, cast.attorney2, cast.staff_on, cast.staff_off, cast.screened,
        cast.vendor_a_user, inactive, AnonymousUser()]
    for user in users:
        for codename in (VIEW, SUPERVISE):
            sql, params = matter_ids_with_perm_sql(user, codename)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                found = {row[0] for row in cursor.fetchall()}
            expected = set(matters_with_perm(user, codename).values_list("pk", flat=True))
            assert found == expected, (user, codename)
    assert {m.pk for m in matters_with_perm(cast.staff_on, SUPERVISE)} == {cast.other_matter.pk}
