"""Client pages and party forms, mounted at /clients/ (namespace "clients")."""

from __future__ import annotations

from django.urls import URLPattern, path

from matters import client_views as views

app_name = "clients"

urlpatterns: list[URLPattern] = [
    path("", views.client_list, name="list"),
    path("new/", views.client_create, name="create"),
    path("<int:pk>/", views.client_detail, name="detail"),
    path("<int:pk>/edit/", views.client_edit, name="edit"),
    path("<int:pk>/parties/new/", views.client_party_add, name="party_add"),
    path("parties/<int:pk>/", views.party_edit, name="party_edit"),
]
