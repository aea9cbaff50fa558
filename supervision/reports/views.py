"""Reports for the firm's vendor managers, mounted at /reports/ (namespace "reports"): the
vendor scorecards for a period, on screen and as CSV or XLSX (`lpo_tracker.exports`).

Who: firm users with the `vendors.view_vendor` model permission (403 for other staff, 404 for
vendor users, the login page for anonymous users), as for the vendor pages.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lpo_tracker.clock import firm_today
from lpo_tracker.exports import CSV, XLSX, Column, export_response
from supervision.reports.qc_scores import qc_scores_for
from supervision.reports.ratings import vendor_ratings
from supervision.reports.scorecards import COLUMNS, Period, export_rows, scorecards_for
from vendors.selectors import require_vendor_manager

QUARTER_SHORTCUTS = 4


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date is before the start date.")
        return cleaned


def _period(request: HttpRequest) -> tuple[PeriodForm, Period]:
    """The period asked for, or the last full quarter (also when the form is invalid)."""
    default = Period.last_full_quarter(firm_today())
    if "start" not in request.GET and "end" not in request.GET:
        form = PeriodForm(initial={"start": default.first_day, "end": default.last_day})
        return form, default
    form = PeriodForm(request.GET)
    if form.is_valid():
        return form, Period(form.cleaned_data["start"], form.cleaned_data["end"])
    return form, default


@login_required
@require_GET
def scorecards(request: HttpRequest) -> HttpResponse:
    require_vendor_manager(request.user)
    form, period = _period(request)
    cards = scorecards_for(period)
    qc = qc_scores_for(period, [card.vendor.pk for card in cards])
    query = f"start={period.first_day:%Y-%m-%d}&end={period.last_day:%Y-%m-%d}"
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "reports/scorecards.html", {
        "form": form,
        "period": period,
        "cards": cards,
        "ratings": vendor_ratings(request.user),
        "qc_rows": [(card.vendor, qc[card.vendor.pk]) for card in cards
                    if qc[card.vendor.pk].has_activity],
        "query": query,
        "quarters": Period.last_full_quarter(firm_today()).previous_quarters(
            QUARTER_SHORTCUTS),
    }, status=status)


def _columns() -> list[Column[list[Any]]]:
    return [Column(heading, itemgetter(index)) for index, heading in enumerate(COLUMNS)]


def _export(request: HttpRequest, export_format: str) -> HttpResponseBase:
    require_vendor_manager(request.user)
    _form, period = _period(request)
    return export_response(
        export_format,
        filename=f"vendor-scorecards-{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}",
        sheet_name="Scorecards", columns=_columns(),
        rows=export_rows(scorecards_for(period), period),
    )


@login_required
@require_GET
def scorecards_csv(request: HttpRequest) -> HttpResponseBase:
    return _export(request, CSV)


@login_required
@require_GET
def scorecards_xlsx(request: HttpRequest) -> HttpResponseBase:
    return _export(request, XLSX)
