"""Engagement pages, mounted at /engagements/ (namespace "engagements")."""

from __future__ import annotations

from django.urls import URLPattern, path

from matters import engagement_views as views
from matters import lifecycle_views

app_name = "engagements"

urlpatterns: list[URLPattern] = [
    path("", views.engagement_list, name="list"),
    path("start/", lifecycle_views.engagement_start, name="start"),
    path("new/<int:matter_pk>/", views.engagement_create, name="create"),
    path("<int:pk>/end/", lifecycle_views.engagement_end, name="end"),
    path("<int:pk>/", views.engagement_detail, name="detail"),
    path("<int:pk>/conflict-check/", views.engagement_conflict_check, name="conflict_check"),
    path("<int:pk>/consent/", views.engagement_consent, name="consent"),
    path("<int:pk>/consent/revoke/", views.engagement_consent_revoke, name="consent_revoke"),
    path("<int:pk>/consent/evidence/", views.consent_evidence, name="consent_evidence"),
]
