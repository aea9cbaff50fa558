"""Request bodies are refused before anything reads them.

Each request carries a body whose reads are counted (`CountingBody`): a refusal must leave
the count at zero, which proves the refusal came before Django (or the CSRF check) touched
the body, whatever the machine's speed. The clients enforce CSRF checks as browsers meet
them, so CsrfViewMiddleware would read the body of any POST that got past the guards.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client, RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from lpo_tracker.core.client_ip import client_ip
from lpo_tracker.core.request_limits import RequestBodyLimitMiddleware
from supervision.models import Submission
from tests import factories as f
from tests.conftest import Cast
from tests.vendors.builders import vendor_manager

pytestmark = pytest.mark.django_db

TOO_LARGE = 250 * 1024 * 1024


class CountingBody(io.RawIOBase):
    """A request body of `size` bytes (or `data`) that counts what is read from it."""

    def __init__(self, data: bytes = b"", size: int | None = None) -> None:
        super().__init__()
        self.data = data
        self.size = len(data) if size is None else size
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.size - self.bytes_read)
        chunk = (self.data[self.bytes_read:self.bytes_read + wanted]
                 if self.data else b"x" * wanted)
        buffer[:len(chunk)] = chunk
        self.bytes_read += len(chunk)
        return len(chunk)


def post_body(client: Client, url: str, body: CountingBody, *, length: int | None = None,
              **headers: str) -> Any:
    """POST `body` as a multipart upload; length -1 sends no Content-Length at all."""
    declared = {} if length == -1 else {"CONTENT_LENGTH": str(length or body.size)}
    environ = {"wsgi.input": body, "CONTENT_TYPE": MULTIPART_CONTENT, **declared, **headers}
    return client.generic("POST", url, b"", **environ)  # type: ignore[arg-type]


def signed_in(user: User | None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


@dataclass(frozen=True)
class UploadUrl:
    url: Callable[[Cast], str]
    allowed: Callable[[Cast], User]
    refused: Callable[[Cast], User]
    refused_status: int


UPLOAD_URLS = {
    "work product, staff": UploadUrl(
        lambda c: reverse("supervision:submission_upload", args=[c.task.pk]),
        lambda c: c.staff_on, lambda c: c.staff_off, 404),
    "work product, staff who may see but not upload": UploadUrl(
        lambda c: reverse("supervision:submission_upload", args=[c.task.pk]),
        lambda c: c.staff_on, lambda c: c.attorney, 403),
    "work product, portal": UploadUrl(
        lambda c: reverse("portal:submission_upload", args=[c.task.pk]),
        lambda c: c.vendor_a_user, lambda c: c.vendor_b_user, 404),
    "diligence evidence": UploadUrl(
        lambda c: reverse("vendors:diligence_add", args=[c.engagement_a.vendor_id]),
        lambda c: vendor_manager(), lambda c: c.staff_on, 403),
    "consent evidence": UploadUrl(
        lambda c: reverse("engagements:consent", args=[c.engagement_a.pk]),
        lambda c: c.staff_on, lambda c: c.staff_off, 404),
}


@pytest.fixture
def in_progress(cast: Cast) -> Cast:
    cast.advance(cast.task, "in_progress")
    return cast


@pytest.mark.parametrize("name", UPLOAD_URLS)
def test_an_oversized_body_is_refused_with_413_unread_anonymous_or_signed_in(
    in_progress: Cast, name: str
) -> None:
    case = UPLOAD_URLS[name]
    url = case.url(in_progress)
    for user in (None, case.allowed(in_progress)):
        body = CountingBody(size=TOO_LARGE)

        response = post_body(signed_in(user), url, body)

        assert response.status_code == 413, user
        assert "limited to 200" in response.content.decode()
        assert body.bytes_read == 0, user


@pytest.mark.parametrize("name", UPLOAD_URLS)
def test_anonymous_and_unauthorised_uploads_are_refused_before_the_body_is_read(
    in_progress: Cast, name: str
) -> None:
    case = UPLOAD_URLS[name]
    url = case.url(in_progress)
    anonymous_body, refused_body = CountingBody(size=1024 * 1024), CountingBody(size=1024 * 1024)

    anonymous = post_body(signed_in(None), url, anonymous_body)
    refused = post_body(signed_in(case.refused(in_progress)), url, refused_body)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert refused.status_code == case.refused_status
    assert (anonymous_body.bytes_read, refused_body.bytes_read) == (0, 0)


def test_an_authorised_upload_is_read_in_full_and_stored(in_progress: Cast) -> None:
    """The control for the tests above: the same counting body, let through, is read and
    the version stored, with the CSRF check done after authorisation."""
    client = signed_in(in_progress.vendor_a_user)
    client.get(reverse("portal:task", args=[in_progress.task.pk]))
    token = client.cookies["csrftoken"].value
    payload = encode_multipart(BOUNDARY, {"csrfmiddlewaretoken": token, "note": "",
                                          "file": f.pdf_upload()})
    body = CountingBody(payload)

    response = post_body(client, reverse("portal:submission_upload", args=[in_progress.task.pk]),
                         body)

    assert response.status_code == 302
    assert body.bytes_read == len(payload)
    assert Submission.objects.filter(task=in_progress.task).count() == 1


def test_an_upload_without_the_csrf_token_is_still_refused(in_progress: Cast) -> None:
    payload = encode_multipart(BOUNDARY, {"note": "", "file": f.pdf_upload()})

    response = post_body(signed_in(in_progress.vendor_a_user),
                         reverse("portal:submission_upload", args=[in_progress.task.pk]),
                         CountingBody(payload))

    assert response.status_code == 403
    assert not Submission.objects.filter(task=in_progress.task).exists()


def test_a_view_that_takes_no_upload_refuses_a_large_body_unread(in_progress: Cast) -> None:
    body = CountingBody(size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = post_body(signed_in(in_progress.vendor_a_user),
                         reverse("portal:task_start", args=[in_progress.task.pk]), body)

    assert response.status_code == 413
    assert body.bytes_read == 0


def test_a_streamed_body_without_a_length_is_refused_unread(in_progress: Cast) -> None:
    body = CountingBody(size=TOO_LARGE)

    response = post_body(signed_in(in_progress.vendor_a_user),
                         reverse("portal:submission_upload", args=[in_progress.task.pk]), body,
                         length=-1, HTTP_TRANSFER_ENCODING="chunked")

    assert response.status_code == 411
    assert body.bytes_read == 0


@pytest.mark.parametrize("length", ["lots", "-5"])
def test_a_malformed_content_length_is_a_400(client: Client, length: str) -> None:
    body = CountingBody(size=10)

    response = client.generic("POST", reverse("login"), b"",
                              **{"wsgi.input": body, "CONTENT_LENGTH": length})  # type: ignore[arg-type]

    assert response.status_code == 400
    assert body.bytes_read == 0


def test_the_limit_is_the_upload_limit_plus_the_form_around_it(settings: Any) -> None:
    settings.MAX_REQUEST_BYTES = settings.MAX_UPLOAD_BYTES + 1024 * 1024
    passed = HttpResponse("passed")
    middleware = RequestBodyLimitMiddleware(lambda request: passed)

    def post(length: int) -> HttpResponseBase:
        return middleware(RequestFactory().generic("POST", "/", CONTENT_LENGTH=str(length)))

    assert post(settings.MAX_REQUEST_BYTES) is passed
    assert post(settings.MAX_REQUEST_BYTES + 1).status_code == 413


# --- The client's address behind the proxy -------------------------------------------------


def _request(remote: str, forwarded: str | None = None) -> HttpRequest:
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


def test_the_forwarded_address_is_believed_only_from_a_trusted_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["172.28.0.10", "10.1.0.0/16"]

    # Through our proxy: the address it appended (right-most); the client's own claim
    # (left of it) is ignored.
    assert client_ip(_request("172.28.0.10", "6.6.6.6, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(_request("10.1.4.2", "198.51.100.20")) == "198.51.100.20"
    # Straight to the app, with a forged header: the peer address.
    assert client_ip(_request("198.51.100.99", "10.0.0.1")) == "198.51.100.99"
    # From the proxy but with no header: the proxy's own address, not nothing.
    assert client_ip(_request("172.28.0.10")) == "172.28.0.10"


def test_without_trusted_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.TRUSTED_PROXIES = []

    assert client_ip(_request("127.0.0.1", "203.0.113.7")) == "127.0.0.1"


def test_the_audit_trail_records_the_address_the_proxy_forwarded(
    in_progress: Cast, settings: Any
) -> None:
    from lpo_tracker.audit.models import AuditEvent

    settings.TRUSTED_PROXIES = ["172.28.0.10"]
    client = Client(REMOTE_ADDR="172.28.0.10", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    client.force_login(in_progress.vendor_a_user)

    response = client.post(reverse("portal:submission_upload", args=[in_progress.task.pk]),
                           {"file": f.pdf_upload(), "note": ""})

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="submission.created")
    assert event.ip_address == "203.0.113.7"
