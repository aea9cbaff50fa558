"""The matter list's export (`/matters/?format=csv|xlsx`): the list's own selection and
filters, every page of it; walls apply; vendor users get 404."""

from __future__ import annotations

import pytest
from django.test import Client

from matters.services import wall_add
from tests.conftest import Cast
from tests.exports import csv_rows, xlsx_rows

pytestmark = pytest.mark.django_db


def exported_numbers(user: object, query: str = "") -> list[str]:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    rows = csv_rows(client.get("/matters/?format=csv" + query))
    assert rows[0][:3] == ["Matter", "Title", "Client"]
    return [row[0] for row in rows[1:]]


def test_the_export_holds_the_readers_matters_only(cast: Cast) -> None:
    assert exported_numbers(cast.staff_on) == [cast.matter.number]
    assert exported_numbers(cast.staff_off) == [cast.other_matter.number]
    assert exported_numbers(cast.screened) == []  # on the team, behind a wall
    wall_add(actor=cast.admin, matter=cast.matter, user=cast.staff_on, reason="Conflict")
    assert exported_numbers(cast.staff_on) == []


def test_the_export_follows_the_filters_and_counts(cast: Cast) -> None:
    assert exported_numbers(cast.attorney, "&q=Initech") == []
    assert exported_numbers(cast.attorney2, "&q=Initech") == [cast.other_matter.number]
    client = Client()
    client.force_login(cast.staff_on)
    rows = xlsx_rows(client.get("/matters/?format=xlsx"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Matter"] == cast.matter.number
    assert record["Draft tasks"] == 1 and record["Open tasks"] == 0
    assert record["Budget"] == float(cast.matter.budget)


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_vendor_users_get_404_and_anonymous_the_sign_in(cast: Cast, export_format: str) -> None:
    for user in (cast.vendor_a_user, cast.vendor_b_user):
        client = Client()
        client.force_login(user)
        assert client.get(f"/matters/?format={export_format}").status_code == 404
    assert Client().get(f"/matters/?format={export_format}").status_code == 302


def test_a_bad_filter_gets_the_page_not_a_file(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.staff_on)
    response = client.get("/matters/?format=csv&status=nonsense")
    assert response.status_code == 400
    assert not response.streaming
