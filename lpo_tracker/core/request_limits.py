"""Request bodies are refused before anything reads them, not after.

Django parses a multipart body in full as soon as anything touches `request.POST` or
`request.FILES`, and CsrfViewMiddleware touches it for every POST before the view runs. So:

1. `RequestBodyLimitMiddleware.__call__`: a Content-Length over MAX_REQUEST_BYTES is a 413,
   a malformed one a 400, and a streamed (chunked) body without a length a 411; Django's
   own LimitedStream then never reads past the declared length. Nothing has read a byte.
2. `RequestBodyLimitMiddleware.process_view`, listed before CsrfViewMiddleware: a view that
   takes no upload gets no body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (413).
3. `accepts_upload(authorise)` on each upload view: the view is exempt from the middleware's
   CSRF check; the decorator runs `authorise` (404/403 for someone who may not upload here)
   and only then Django's CSRF check, which reads the body. Anonymous requests are sent to
   the sign-in page by `login_required` before any of this.

In production nginx applies the same limit and buffers the body before gunicorn sees it
(deploy/nginx.conf).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_protect

View = Callable[..., HttpResponseBase]
V = TypeVar("V", bound=View)


class RequestEntityTooLarge(HttpResponse):
    status_code = 413


def _refusal(response_class: type[HttpResponse], status: int, message: str) -> HttpResponse:
    response = response_class(message, content_type="text/plain; charset=utf-8", status=status)
    # The client may still be sending; closing tells it (and gunicorn) not to wait for more.
    response["Connection"] = "close"
    return response


def declared_length(request: HttpRequest) -> int | None:
    """The body's Content-Length; None when absent. ValueError when malformed."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    if raw.strip() == "":
        return None
    length = int(raw)
    if length < 0:
        raise ValueError(raw)
    return length


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            length = declared_length(request)
        except ValueError:
            return _refusal(HttpResponse, 400, "The Content-Length header is not a number.")
        if length is None and request.META.get("HTTP_TRANSFER_ENCODING"):
            # Django reads only Content-Length bytes: a streamed body would silently arrive
            # empty. The proxy buffers uploads and sends the length; direct clients must too.
            return _refusal(HttpResponse, 411, "Send the request with a Content-Length.")
        if length is not None and length > settings.MAX_REQUEST_BYTES:
            return _refusal(
                RequestEntityTooLarge, 413,
                f"The request is {filesizeformat(length)}; uploads are limited to "
                f"{filesizeformat(settings.MAX_UPLOAD_BYTES)}. Nothing was stored.",
            )
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: View, args: Any, kwargs: Any
    ) -> HttpResponseBase | None:
        length = declared_length(request) or 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE and not getattr(
            view, "accepts_upload", False
        ):
            return _refusal(
                RequestEntityTooLarge, 413,
                f"This address takes no upload; the request is {filesizeformat(length)}.",
            )
        return None


def accepts_upload(authorise: Callable[..., object]) -> Callable[[V], V]:
    """Mark a view that takes a file: it may receive up to MAX_REQUEST_BYTES, and `authorise`
    (called with the view's arguments; raises Http404 or PermissionDenied) decides who may
    send it before the CSRF check reads the body. Place it under `login_required`."""

    def decorator(view: V) -> V:
        protected = csrf_protect(view)

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            authorise(request, *args, **kwargs)
            return protected(request, *args, **kwargs)

        # CsrfViewMiddleware would read the body before `authorise`; csrf_protect above runs
        # the same check afterwards. Both attributes travel outwards through @wraps.
        wrapped.csrf_exempt = True  # type: ignore[attr-defined]
        wrapped.accepts_upload = True  # type: ignore[attr-defined]
        return cast(V, wrapped)

    return decorator
