"""The header search, mounted at /search/ (URL name "search", no namespace)."""

from django.urls import path

from matters import search_views

urlpatterns = [
    path("", search_views.search, name="search"),
]
