"""The firm's vendor pages, mounted at /vendors/ (namespace "vendors")."""

from __future__ import annotations

from django.urls import URLPattern, path

from vendors import staff_views, views

app_name = "vendors"

urlpatterns: list[URLPattern] = [
    path("", views.vendor_list, name="list"),
    path("new/", views.vendor_create, name="create"),
    path("<int:pk>/", views.vendor_detail, name="vendor_detail"),
    path("<int:pk>/status/", views.vendor_set_status, name="set_status"),
    path("<int:pk>/diligence/new/", views.diligence_add, name="diligence_add"),
    path("<int:pk>/declarations/new/", views.declaration_add, name="declaration_add"),
    path("<int:pk>/rate-cards/new/", views.rate_card_add, name="rate_card_add"),
    path("diligence/<int:pk>/evidence/", views.diligence_evidence, name="diligence_evidence"),
    path("diligence/<int:pk>/revoke/", views.diligence_revoke, name="diligence_revoke"),
    path("rate-cards/<int:pk>/lines/new/", views.rate_line_add, name="rate_line_add"),
    path("people/<int:pk>/qualifications/new/", staff_views.qualification_add,
         name="qualification_add"),
    path("qualifications/<int:pk>/edit/", staff_views.qualification_edit,
         name="qualification_edit"),
    path("qualifications/<int:pk>/verify/", staff_views.qualification_verify,
         name="qualification_verify"),
    path("people/<int:pk>/training/new/", staff_views.training_add, name="training_add"),
    path("training/<int:pk>/evidence/", staff_views.training_evidence,
         name="training_evidence"),
]
