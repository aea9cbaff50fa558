"""The staff task list, mounted at /tasks/ (namespace "tasks"); a task's own pages are
supervision's (/tasks/<id>/)."""

from django.urls import path

from matters import task_list_views

app_name = "tasks"

urlpatterns = [
    path("", task_list_views.task_list, name="list"),
]
