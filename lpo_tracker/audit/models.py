"""The append-only, keyed hash-chained audit trail.

Every event is sealed with an HMAC under a key kept outside the database and stores the hash
of the event before it, in the whole trail and in its matter's own chain, so forging,
changing or removing any row breaks a chain (`manage.py verify_audit` names the first broken
event; `lpo_tracker.audit.chain` defines the format). The database itself refuses UPDATE,
DELETE (migration 0002) and TRUNCATE (migration 0004) on this table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(db_index=True)
    # No foreign-key constraint and DO_NOTHING: deleting a user must never rewrite evidence.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300, blank=True)
    matter_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=20, default="web")
    # The key that sealed the event (empty: a legacy event from before keyed chains).
    key_id = models.CharField(max_length=32, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The matter's own chain: the previous event of the same matter, and this event's seal
    # under the matter's key. Empty for events of no matter and for legacy events.
    matter_prev_hash = models.CharField(max_length=64, blank=True, default="")
    matter_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["matter_id", "occurred_at"], name="audit_matter_time_idx"),
            # The previous event of a matter, read on every append to that matter's chain.
            models.Index(fields=["matter_id", "id"], name="audit_matter_chain_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"
