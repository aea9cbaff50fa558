"""The supervising attorney's pages and the task pages vendors share, mounted at "/"."""

from __future__ import annotations

from django.urls import URLPattern, path

from supervision import rating_views, views
from supervision.qc import views as qc_views
from supervision.supervision_file import views as file_views

app_name = "supervision"

urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("review/", views.review_queue, name="review_queue"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/start/", views.start, name="start"),
    path("tasks/<int:pk>/submit/", views.submission_upload, name="submission_upload"),
    path("tasks/<int:pk>/start-review/", views.start_review, name="start_review"),
    path("tasks/<int:pk>/review/", views.review, name="review"),
    path("tasks/<int:pk>/approve/", views.approve, name="approve"),
    path("tasks/<int:pk>/request-changes/", views.request_changes, name="request_changes"),
    path("tasks/<int:pk>/deliver/", views.deliver, name="deliver"),
    path("tasks/<int:pk>/qc/", qc_views.qc_page, name="qc"),
    path("tasks/<int:pk>/qc/draw/", qc_views.qc_draw, name="qc_draw"),
    path("tasks/<int:pk>/qc/record/", qc_views.qc_record, name="qc_record"),
    path("tasks/<int:pk>/qc/full-review/", qc_views.qc_full_review, name="qc_full_review"),
    path("submissions/<int:pk>/download/", views.submission_download,
         name="submission_download"),
    path("submissions/<int:pk>/inline/", views.submission_inline, name="submission_inline"),
    path("ratings/engagements/<int:pk>/", rating_views.engagement_rating,
         name="engagement_rating"),
    path("matters/<int:pk>/supervision-file/", file_views.supervision_file_page,
         name="supervision_file"),
    path("matters/<int:pk>/supervision-file/panel/", file_views.supervision_file_panel,
         name="supervision_file_panel"),
    path("matters/<int:pk>/supervision-file/generate/", file_views.supervision_file_generate,
         name="supervision_file_generate"),
    path("supervision-files/<int:pk>/download/", file_views.supervision_file_download,
         name="supervision_file_download"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all,
         name="notifications_read_all"),
]
