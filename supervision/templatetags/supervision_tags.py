"""Template helpers of the supervision pages. Deadlines use `matters`' `lpo_time` library."""

from __future__ import annotations

from django import template

from matters.models import WITH_VENDOR_STATES, Task
from supervision.models import Notification
from supervision.resolution import DONE_LABELS

register = template.Library()


@register.filter
def short_sha(value: str) -> str:
    """The first 12 hex digits: enough to tell versions apart at a glance."""
    return (value or "")[:12]


@register.filter
def sla_running(task: Task) -> bool:
    """The vendor's SLA clock runs only while the work is with the vendor."""
    return task.status in WITH_VENDOR_STATES


@register.filter
def done_label(notification: Notification) -> str:
    """What a resolved notification came to ("Done: …"); empty while it is still open
    (supervision.resolution)."""
    if notification.resolved_at is None:
        return ""
    return DONE_LABELS.get(notification.kind, "Done")
