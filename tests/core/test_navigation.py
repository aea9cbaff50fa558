"""The main navigation shows only the sections a user may open."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def nav_labels(client: Client) -> list[str]:
    response = client.get("/")
    assert response.status_code == 200
    return [item["label"] for item in response.context["NAV_ITEMS"]]


def test_staff_without_vendor_permission_see_no_vendor_sections(cast: Cast, client: Client) -> None:
    client.force_login(cast.attorney)

    labels = nav_labels(client)

    assert "Vendors" not in labels and "Scorecards" not in labels
    assert {"Dashboard", "Matters", "Review queue", "Notifications"} <= set(labels)


def test_vendor_manager_sees_vendors_and_scorecards(cast: Cast, client: Client) -> None:
    cast.staff_on.user_permissions.add(Permission.objects.get(codename="view_vendor"))
    client.force_login(cast.staff_on)

    assert {"Vendors", "Scorecards"} <= set(nav_labels(client))
    assert client.get("/vendors/").status_code == 200


def test_vendor_user_sees_only_the_portal(cast: Cast, client: Client) -> None:
    client.force_login(cast.vendor_a_user)

    response = client.get("/portal/")

    assert response.status_code == 200
    assert [item["label"] for item in response.context["NAV_ITEMS"]] == [
        "My tasks", "Notifications"]
