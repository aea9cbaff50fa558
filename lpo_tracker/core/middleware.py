"""Request plumbing: health endpoints answered first, and a request id on every request.

`HealthCheckMiddleware` comes first in MIDDLEWARE: `/healthz` and `/readyz` are answered
before host validation, the HTTPS redirect, sessions and login, so a load balancer or a
container health check reaches them by plain HTTP on any host name, and they never create a
session. `RequestIdMiddleware` gives every other request an id that the audit trail and every
log line record, and echoes it in a response header.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from lpo_tracker.core.client_ip import client_ip
from lpo_tracker.core.context import RequestContext, request_context
from lpo_tracker.core.health import health_readiness

HEALTHZ = "/healthz"
READYZ = "/readyz"

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Trust an id from the proxy only if it is short and plain: it ends up in the audit.
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        ip = client_ip(request)  # the proxy's X-Forwarded-For, only from a trusted proxy
        request.request_id = request_id  # type: ignore[attr-defined]  # read by the log filter
        with request_context(RequestContext(request_id=request_id, ip_address=ip)):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/") or "/"
        if path not in (HEALTHZ, READYZ):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response: HttpResponse = JsonResponse({"error": "GET only"}, status=405)
            response["Allow"] = "GET, HEAD"
        elif path == HEALTHZ:
            response = JsonResponse({"status": "ok"})
        else:
            readiness = health_readiness(now=timezone.now())
            response = JsonResponse(readiness.as_json(), status=readiness.http_status)
        response["Cache-Control"] = "no-store"
        return response
