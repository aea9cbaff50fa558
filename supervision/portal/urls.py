"""The vendor portal, mounted at /portal/ (namespace "portal")."""

from __future__ import annotations

from django.urls import URLPattern, path

from supervision.portal import staff_views, views

app_name = "portal"

urlpatterns: list[URLPattern] = [
    path("", views.task_list, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/start/", views.task_start_view, name="task_start"),
    path("tasks/<int:pk>/submit/", views.submission_upload, name="submission_upload"),
    path("submissions/<int:pk>/download/", views.submission_download,
         name="submission_download"),
    path("conflicts/", views.conflicts, name="conflicts"),
    path("tasks/<int:pk>/acknowledge/", staff_views.acknowledge, name="acknowledge"),
    path("credentials/", staff_views.my_credentials, name="credentials"),
    path("training/<int:pk>/evidence/", staff_views.training_evidence,
         name="training_evidence"),
]
