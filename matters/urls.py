"""Matter pages, mounted at /matters/ (namespace "matters")."""

from django.urls import path

from matters import (
    client_views,
    deadline_views,
    intake_views,
    lifecycle_views,
    people_views,
    views,
)

app_name = "matters"

urlpatterns = [
    path("", views.matter_list, name="list"),
    path("<int:pk>/", views.matter_detail, name="detail"),
    # Intake, people, parties and closing (matters/intake_views.py and neighbours).
    path("new/", intake_views.matter_intake, name="intake"),
    path("new/regions/", intake_views.holiday_regions, name="intake_regions"),
    path("<int:pk>/people/", people_views.matter_people, name="people"),
    path("<int:pk>/people/<slug:action>/", people_views.people_change, name="people_change"),
    path("<int:pk>/parties/new/", client_views.matter_party_add, name="party_add"),
    path("<int:pk>/close/", lifecycle_views.matter_close, name="close"),
    path("<int:pk>/audit/export/", views.audit_export, name="audit_export"),
    path("<int:pk>/tasks/new/", views.task_create, name="task_create"),
    path("<int:pk>/tasks/bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("tasks/<int:pk>/assign/", views.task_assign, name="task_assign"),
    path("tasks/<int:pk>/reassign/", views.task_reassign, name="task_reassign"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
    # Deadlines and task templates (matters/deadline_views.py).
    path("tasks/<int:pk>/due-date/", deadline_views.task_due_date, name="task_due_date"),
    path("task-templates/", deadline_views.task_templates, name="task_templates"),
    path("task-templates/new/", deadline_views.task_template_edit, name="task_template_new"),
    path("task-templates/<int:pk>/", deadline_views.task_template_edit,
         name="task_template_edit"),
]
