"""Log lines an on-call engineer can read (wired in settings.LOGGING).

- `RequestIdFilter` puts the current request id on every record (`-` outside a request), so
  every line of one request can be found with one grep; Celery tasks carry their task id.
- `RefusedRequestFilter` turns Django's 4xx records (a 403 from PermissionDenied, a 404) into
  one line: Django attaches the exception, so each refusal printed a whole traceback. 5xx
  records keep theirs.
- `JsonFormatter` writes one JSON object per line (`LOG_FORMAT=json`) for a log collector.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from lpo_tracker.core.context import current_context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # Django logs a 404 after the middleware has returned, but passes the request.
            request = getattr(record, "request", None)
            record.request_id = (getattr(request, "request_id", None)
                                 or current_context().request_id or "-")
        return True


class RefusedRequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.name.startswith("django.") and isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            line["status"] = status
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
