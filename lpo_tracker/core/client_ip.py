"""The client's address as the audit trail records it.

Behind the reverse proxy every connection comes from the proxy, so the address is taken from
the X-Forwarded-For header the proxy appends, and only when the connection really comes from
a proxy listed in TRUSTED_PROXIES: anyone else could send the header with any address in it.
django-ipware parses the header; the right-most entry is the one our proxy appended (entries
to its left are whatever the client claimed, and are ignored).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip


def _from_trusted_proxy(peer: str) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.TRUSTED_PROXIES
    )


def client_ip(request: HttpRequest) -> str | None:
    """The address of whoever sent the request: the peer, or what a trusted proxy says."""
    peer = request.META.get("REMOTE_ADDR") or None
    if peer is None or not _from_trusted_proxy(peer):
        return peer
    forwarded, _routable = get_client_ip(
        request,
        proxy_count=0,  # the last hop of the chain is the client our proxy saw
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
    )
    return forwarded or peer
