"""The app's URLs plus two views that fail, for the 500 page's tests
(tests/core/test_error_pages.py sets ROOT_URLCONF to this module)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.urls import path

from lpo_tracker.urls import handler403, handler404, handler500, urlpatterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def read_users(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(User.objects.count()))


urlpatterns = [path("test-crash/", crash), path("test-read/", read_users), *urlpatterns]
