"""The matter list's filters (django-filter).

The FilterSet narrows a queryset it is given: the view passes `matters_visible_to(user)`
already annotated with task counts, so the filters can never widen what the user may see.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from matters.models import Client, Matter, MatterStatus, PracticeArea
from matters.selectors import matters_visible_to


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
