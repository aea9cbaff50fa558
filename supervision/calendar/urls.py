"""Calendar feeds, mounted at /calendar/ (namespace "calendar")."""

from __future__ import annotations

from django.urls import URLPattern, path

from supervision.calendar import views

app_name = "calendar"

urlpatterns: list[URLPattern] = [
    path("", views.calendar_settings, name="settings"),
    path("new/", views.calendar_issue, name="issue"),
    path("revoke/", views.calendar_revoke, name="revoke"),
    path("feed/<str:token>.ics", views.calendar_feed, name="feed"),
]
