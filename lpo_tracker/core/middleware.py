"""Give every request an id that the audit trail records, and echo it in a response header."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from lpo_tracker.core.client_ip import client_ip
from lpo_tracker.core.context import RequestContext, request_context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Trust an id from the proxy only if it is short and plain: it ends up in the audit.
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        ip = client_ip(request)  # the proxy's X-Forwarded-For, only from a trusted proxy
        with request_context(RequestContext(request_id=request_id, ip_address=ip)):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
