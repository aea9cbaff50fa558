"""Reports, mounted at /reports/ (namespace "reports")."""

from __future__ import annotations

from django.urls import URLPattern, path

from supervision.reports import views

app_name = "reports"

urlpatterns: list[URLPattern] = [
    path("scorecards/", views.scorecards, name="scorecards"),
    path("scorecards.csv", views.scorecards_csv, name="scorecards_csv"),
    path("scorecards.xlsx", views.scorecards_xlsx, name="scorecards_xlsx"),
]
