"""Celery tasks of the audit trail: anchoring the chain's head outside the database."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from lpo_tracker.audit.anchors import audit_anchor_mail, audit_anchor_record


@shared_task(name="audit.anchor_head", acks_late=True, ignore_result=True,
             soft_time_limit=240, time_limit=300)
def anchor_head() -> None:
    """Record the head in the log and the anchor file, then mail it (its own retries)."""
    anchor = audit_anchor_record(now=timezone.now())
    if settings.AUDIT_ANCHOR_EMAILS:
        mail_anchor.delay(anchor.to_json())


@shared_task(name="audit.mail_anchor", acks_late=True, ignore_result=True,
             soft_time_limit=60, time_limit=90,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=5,
             retry_backoff_max=300, retry_jitter=True, max_retries=6)
def mail_anchor(anchor_json: str) -> None:
    """Idempotent enough: a retry sends the same anchor again, which does no harm."""
    audit_anchor_mail(anchor_json=anchor_json)
