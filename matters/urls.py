"""Matter pages, mounted at /matters/ (namespace "matters")."""

from django.urls import path

from matters import views

app_name = "matters"

urlpatterns = [
    path("", views.matter_list, name="list"),
    path("<int:pk>/", views.matter_detail, name="detail"),
    path("<int:pk>/audit/export/", views.audit_export, name="audit_export"),
    path("<int:pk>/tasks/new/", views.task_create, name="task_create"),
    path("<int:pk>/tasks/bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("tasks/<int:pk>/assign/", views.task_assign, name="task_assign"),
    path("tasks/<int:pk>/reassign/", views.task_reassign, name="task_reassign"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
]
