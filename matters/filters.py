"""The filters of the matter list and of the staff task list (django-filter).

Each FilterSet narrows a queryset it is given: the views pass `matters_visible_to(user)` or
`tasks_visible_to(user)`, already annotated, so the filters can never widen what the user may
see. The exports of both lists filter the same way (the same FilterSet on the same queryset).
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone

from lpo_tracker.fields import TaskType
from matters.models import (
    AWAITING_REVIEW_STATES,
    OPEN_STATES,
    WITH_VENDOR_STATES,
    Client,
    Matter,
    MatterStatus,
    PracticeArea,
    Task,
    TaskStatus,
    overdue_q,
)
from matters.selectors import matters_visible_to, on_my_matters, tasks_visible_to
from vendors.models import Vendor


def clients_of_visible_matters(request: HttpRequest | None) -> QuerySet[Client]:
    """Only clients the user has a visible matter for: the choice list must not reveal the
    firm's other clients."""
    if request is None:
        return Client.objects.none()
    visible = matters_visible_to(request.user).filter(client_id=OuterRef("pk"))
    return Client.objects.filter(Exists(visible)).order_by("name")


class MatterFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Number, title or client", "size": 28}
        ),
    )
    client = django_filters.ModelChoiceFilter(
        queryset=clients_of_visible_matters, empty_label="All clients"
    )
    status = django_filters.ChoiceFilter(choices=MatterStatus.choices, empty_label="Any status")
    practice_area = django_filters.ChoiceFilter(
        label="Practice area", choices=PracticeArea.choices, empty_label="Any practice area"
    )
    overdue = django_filters.BooleanFilter(
        method="only_overdue", label="Has overdue work", widget=forms.CheckboxInput
    )

    class Meta:
        model = Matter
        fields: list[str] = []

    def search(self, queryset: QuerySet[Matter], name: str, value: str) -> QuerySet[Matter]:
        term = value.strip()
        if not term:
            return queryset
        return queryset.filter(
            Q(number__icontains=term) | Q(title__icontains=term) | Q(client__name__icontains=term)
        )

    def only_overdue(self, queryset: QuerySet[Matter], name: str, value: bool) -> QuerySet[Matter]:
        # `overdue_task_count` is annotated by the view (see matters.views.annotate_task_counts).
        if not value:
            return queryset
        return queryset.filter(overdue_task_count__gt=0)  # type: ignore[misc]  # an annotation


# --- The staff task list (across matters) ---------------------------------------------------

OPEN_ANY = "open"
DUE_WINDOWS: dict[str, tuple[str, dt.timedelta | None]] = {
    "overdue": ("Overdue", None),
    "24h": ("Due in the next 24 hours", dt.timedelta(hours=24)),
    "7d": ("Due in the next 7 days", dt.timedelta(days=7)),
    "30d": ("Due in the next 30 days", dt.timedelta(days=30)),
    "none": ("No deadline", None),
}
# Sortable columns: the `sort` parameter (a leading "-" reverses) and what it orders by.
TASK_SORTS: dict[str, tuple[str, ...]] = {
    "due": ("next_due_at",),
    "matter": ("matter__number",),
    "title": ("title",),
    "vendor": ("engagement__vendor__name",),
    "type": ("task_type",),
    "status": ("status",),
    "updated": ("updated_at",),
}
DEFAULT_TASK_SORT = "due"


def next_due_at() -> Case:
    """The deadline a task is waiting on: the vendor's SLA while the work is with the firm's
    draft or the vendor, the review window while it awaits review, none after approval or
    cancellation. The column the list shows and sorts by, and the due-window filter."""
    return Case(
        When(status__in=(TaskStatus.DRAFT, *WITH_VENDOR_STATES), then=F("sla_due_at")),
        When(status__in=AWAITING_REVIEW_STATES, then=F("review_due_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )


def vendors_of_visible_tasks(request: HttpRequest | None) -> QuerySet[Vendor]:
    """Only vendors the user sees a task of: the choice list must not name the others."""
    if request is None:
        return Vendor.objects.none()
    visible = tasks_visible_to(request.user).filter(engagement__vendor_id=OuterRef("pk"))
    return Vendor.objects.filter(Exists(visible)).order_by("name")


class TaskFilter(django_filters.FilterSet):
    """Narrows `tasks_visible_to(user)` annotated with `next_due_at` (the view's queryset):
    never wider than what the user may see."""

    state = django_filters.ChoiceFilter(
        method="in_state", label="State", empty_label="Any state",
        choices=[(OPEN_ANY, "Open (with the vendor or in review)"), *TaskStatus.choices],
    )
    vendor = django_filters.ModelChoiceFilter(
        field_name="engagement__vendor", queryset=vendors_of_visible_tasks,
        empty_label="All vendors",
    )
    task_type = django_filters.ChoiceFilter(
        label="Task type", choices=TaskType.choices, empty_label="Any type")
    due = django_filters.ChoiceFilter(
        method="due_within", label="Due", empty_label="Any time",
        choices=[(key, label) for key, (label, _window) in DUE_WINDOWS.items()],
    )
    mine = django_filters.BooleanFilter(
        method="only_my_matters", label="My matters only", widget=forms.CheckboxInput)

    class Meta:
        model = Task
        fields: list[str] = []

    def in_state(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        if value == OPEN_ANY:
            return queryset.filter(status__in=OPEN_STATES)
        return queryset.filter(status=value)

    def due_within(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        now = timezone.now()
        if value == "overdue":
            return queryset.filter(overdue_q(now))
        if value == "none":
            return queryset.filter(next_due_at__isnull=True)  # type: ignore[misc]  # annotation
        _label, window = DUE_WINDOWS[value]
        assert window is not None
        return queryset.filter(  # type: ignore[misc]  # an annotation (next_due_at)
            next_due_at__gte=now, next_due_at__lt=now + window)

    def only_my_matters(self, queryset: QuerySet[Task], name: str, value: bool) -> QuerySet[Task]:
        """`matters.selectors.on_my_matters`: team, supervising or responsible attorney."""
        if not value or self.request is None:
            return queryset
        return queryset.filter(on_my_matters(self.request.user))
