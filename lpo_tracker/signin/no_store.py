"""`Cache-Control: no-store` on every page the app renders.

Nearly every page shows client data (matters, work product, audit) and the rest are sign-in
pages; a shared or browser cache must keep none of them. Static files are answered by
WhiteNoise before this runs and keep their long cache lifetimes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
