"""gunicorn settings of the web service (the image's CMD: `gunicorn --config gunicorn.conf.py`).

gunicorn sits behind the reverse proxy (deploy/nginx.conf), which terminates TLS, refuses
bodies over the upload limit and buffers each request in full, so a slow client ties up an
nginx buffer rather than one of these workers. Values can be tuned from the environment.
"""

from __future__ import annotations

import os

wsgi_app = "lpo_tracker.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: each request is short once nginx has buffered it. About 2 per core.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Long enough to hash and malware-scan a 200 MB upload (clamd streams it at LAN speed).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, staggered, so a slow leak never takes the site down.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files on tmpfs (gunicorn's advice for containers): a container's overlay disk can
# stall them and get workers killed. Only gunicorn's own heartbeat files go there.
_TMPFS = "/dev/shm"  # noqa: S108
worker_tmp_dir = _TMPFS if os.path.isdir(_TMPFS) else None
accesslog = "-"
errorlog = "-"
# Request line and headers: gunicorn's limits, stated (the body limit is the app's and nginx's).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# The proxies whose X-Forwarded-Proto gunicorn believes: the app's TRUSTED_PROXIES.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1") or "127.0.0.1"
