"""The image's HEALTHCHECK: `python -m lpo_tracker.healthprobe` exits 0 when the web process
answers its health page, 1 otherwise. Standard library only, no Django start-up.

It asks gunicorn directly (not through the proxy), so it names one of ALLOWED_HOSTS as the
Host and says the request came over HTTPS, as the proxy would; otherwise production settings
answer 400 (unknown host) or redirect to https.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

HEALTH_PATH = "/healthz"  # liveness, answered before host checks and the HTTPS redirect


def probe_host(allowed_hosts: str) -> str:
    """A host name ALLOWED_HOSTS accepts: the first entry, a wildcard made concrete."""
    first = next((host.strip() for host in allowed_hosts.split(",") if host.strip()), "")
    if first in ("", "*"):
        return "localhost"
    return f"probe{first}" if first.startswith(".") else first


def probe(base_url: str, *, path: str = HEALTH_PATH, allowed_hosts: str = "",
          timeout: float = 5) -> bool:
    request = urllib.request.Request(  # noqa: S310 - a fixed http:// URL of this container
        base_url.rstrip("/") + path,
        headers={"Host": probe_host(allowed_hosts), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main() -> int:
    port = os.environ.get("PORT", "8000")
    healthy = probe(f"http://127.0.0.1:{port}", allowed_hosts=os.environ.get("ALLOWED_HOSTS", ""))
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
