"""Response headers Django has no setting for: Permissions-Policy.

Content-Security-Policy comes from django-csp, Referrer-Policy, X-Content-Type-Options and
Cross-Origin-Opener-Policy from Django's SecurityMiddleware, X-Frame-Options from its
clickjacking middleware (all configured in settings.py, listed in docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


def permissions_policy(features: Mapping[str, Sequence[str]]) -> str:
    """`{"camera": [], "publickey-credentials-get": ["self"]}` → `camera=(), publickey-…=(self)`.

    Origins other than the keywords `self` and `*` are quoted, as the header's grammar asks.
    """

    def origin(value: str) -> str:
        return value if value in ("self", "*") else f'"{value}"'

    return ", ".join(
        f"{feature}=({' '.join(origin(value) for value in allowed)})"
        for feature, allowed in features.items()
    )


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header = permissions_policy(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
