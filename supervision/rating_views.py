"""The rating page of an ended engagement, for the matter's responsible attorney: the form
while the rating is open to them, the recorded rating afterwards (to anyone who may see the
matter). Vendor users get 404; other staff who may see the matter see the rating or a 403."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from lpo_tracker.errors import NotEligible, RuleViolation
from supervision.models import EngagementRating
from supervision.ratings import engagement_rate, get_engagement_for_rating, rating_refusal
from supervision.staff_models import RATING_CRITERIA
from vendors.access import signed_in_user, staff_view

SCORES = [(score, str(score)) for score in range(1, 6)]


class RatingForm(forms.Form):
    quality = forms.TypedChoiceField(
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        help_text="Accuracy and completeness of the work.",
    )
    timeliness = forms.TypedChoiceField(
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        help_text="Deadlines met, corrections turned round.",
    )
    communication = forms.TypedChoiceField(
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        help_text="Questions raised early, clear updates.",
    )
    value = forms.TypedChoiceField(
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        help_text="What the work was worth for what it cost.",
    )
    comments = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))


@staff_view
@require_http_methods(["GET", "POST"])
def engagement_rating(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = get_engagement_for_rating(request.user, pk)
    rating = (
        EngagementRating.objects.select_related("rated_by").filter(engagement=engagement).first()
    )
    refusal = rating_refusal(request.user, engagement)
    if rating is None and refusal is not None and refusal.code == "forbidden":
        raise PermissionDenied(refusal.message)
    form = RatingForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if refusal is not None:
            raise PermissionDenied(refusal.message)
        if form.is_valid():
            try:
                engagement_rate(
                    actor=signed_in_user(request), engagement=engagement, **form.cleaned_data
                )
            except NotEligible as exc:
                raise PermissionDenied(exc.message) from exc
            except RuleViolation as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Your rating of {engagement.vendor} is recorded.")
                return HttpResponseRedirect(
                    reverse("supervision:engagement_rating", args=[engagement.pk])
                )
    return render(
        request,
        "supervision/engagement_rating.html",
        {
            "engagement": engagement,
            "rating": rating,
            "form": form if refusal is None else None,
            "refusal": refusal,
            "criteria": RATING_CRITERIA,
        },
        status=400 if form.is_bound else 200,
    )
