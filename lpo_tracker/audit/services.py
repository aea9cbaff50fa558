"""Writing and verifying the audit trail.

`audit_record` must be called inside the transaction of the change it describes, so the
event and the change commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone

from lpo_tracker.audit.chain import (
    GENESIS_HASH,
    LEGACY_KEY_ID,
    EventFields,
    event_hash,
    event_matter_hash,
    matter_key,
)
from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.core.context import current_context

# Any constant works; it only has to be the same for every writer of the chain.
_CHAIN_LOCK_KEY = 0x4C504F41


def _normalise(value: Any) -> Any:
    """Round-trip through JSON so the hashed form equals what the database gives back."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))


def chain_keys() -> dict[str, bytes]:
    """Every configured chain key by id: the current one and the retired ones."""
    return {key_id: secret.encode() for key_id, secret in settings.AUDIT_HMAC_KEYS.items()}


def _current_key() -> tuple[str, bytes]:
    key_id: str = settings.AUDIT_HMAC_KEY_ID
    return key_id, chain_keys()[key_id]


def event_fields(event: AuditEvent) -> EventFields:
    """The event in the exact form its seal covers (the CSV export writes the same form)."""
    return EventFields(
        occurred_at=event.occurred_at.astimezone(dt.UTC).isoformat(),
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        object_repr=event.object_repr,
        matter_id=event.matter_id,
        before=event.before,
        after=event.after,
        request_id=event.request_id,
        ip_address=event.ip_address,
        source=event.source,
        key_id=event.key_id,
        prev_hash=event.prev_hash,
        matter_prev_hash=event.matter_prev_hash,
    )


def _seal(event: AuditEvent, key: bytes) -> None:
    fields = event_fields(event)
    event.hash = event_hash(fields, key)
    if event.matter_id is not None:
        event.matter_hash = event_matter_hash(fields, matter_key(key, event.matter_id))


def _lock_chain() -> None:
    """Serialise appends so two writers never chain onto the same predecessor.

    SQLite already serialises writers (IMMEDIATE transactions); PostgreSQL takes a
    transaction-scoped advisory lock, released at commit or rollback.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    matter_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change")
    context = current_context()
    user = actor if actor is not None and actor.is_authenticated else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    _lock_chain()
    key_id, key = _current_key()
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    matter_prev = GENESIS_HASH
    if matter_id is not None:
        # A matter's chain starts at its first keyed event (legacy events have no seal).
        matter_prev = (
            AuditEvent.objects.filter(matter_id=matter_id).exclude(key_id=LEGACY_KEY_ID)
            .order_by("-id").values_list("matter_hash", flat=True).first()
        ) or GENESIS_HASH
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_id=user.pk if user is not None else None,
        actor_label=user.get_username() if user is not None else context.source,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(obj)[:300] if obj is not None else "",
        matter_id=matter_id,
        before=_normalise(before),
        after=_normalise(after),
        request_id=context.request_id,
        ip_address=context.ip_address,
        source=context.source,
        key_id=key_id,
        prev_hash=last or GENESIS_HASH,
        matter_prev_hash=matter_prev if matter_id is not None else "",
    )
    _seal(event, key)
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    reason: str
    legacy: int = 0
    # The last verified seal: the matter's `matter_hash` for a matter's chain.
    head: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def _iter_events(batch_size: int = 2000) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size)


def _seal_problem(event: AuditEvent, keys: dict[str, bytes], keyed_seen: bool) -> str:
    """Why the event's own seal is wrong, or "" when it is right."""
    fields = event_fields(event)
    if event.key_id == LEGACY_KEY_ID:
        if keyed_seen:
            return "it claims to be a legacy (unkeyed) event after keyed ones"
        return "" if event_hash(fields, None) == event.hash else (
            "its content does not match its hash")
    key = keys.get(event.key_id)
    if key is None:
        return f"it is sealed with key {event.key_id!r}, which is not configured"
    if event_hash(fields, key) != event.hash:
        return "its content does not match its hash (or it was sealed with another key)"
    if event.matter_id is not None and event_matter_hash(
        fields, matter_key(key, event.matter_id)
    ) != event.matter_hash:
        return "its content does not match its matter hash"
    return ""


def audit_verify_chain(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Recompute every seal in order; report the first event whose seal or links are wrong.

    1. Each event's `prev_hash` must be the hash of the event before it (genesis first).
    2. Each keyed event of a matter must link to that matter's previous keyed event.
    3. Each seal is recomputed with the key its key id names (legacy events: plain SHA-256,
       only before the first keyed event).
    """
    keys = chain_keys()
    expected_prev = GENESIS_HASH
    matter_heads: dict[int, str] = {}
    keyed_seen = False
    checked = legacy = 0
    for event in events if events is not None else _iter_events():
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.pk, "its link to the previous event is broken",
                               legacy)
        problem = _seal_problem(event, keys, keyed_seen)
        if problem:
            return ChainReport(checked, event.pk, problem, legacy)
        if event.key_id == LEGACY_KEY_ID:
            legacy += 1
        else:
            keyed_seen = True
            if event.matter_id is not None:
                if event.matter_prev_hash != matter_heads.get(event.matter_id, GENESIS_HASH):
                    return ChainReport(
                        checked, event.pk,
                        f"its link to the previous event of matter {event.matter_id} is broken",
                        legacy,
                    )
                matter_heads[event.matter_id] = event.matter_hash
        expected_prev = event.hash
        checked += 1
    return ChainReport(checked, None, "", legacy)


def audit_verify_matter(matter_id: int) -> ChainReport:
    """One matter's own chain, on its own: links and matter seals (the export's check)."""
    keys = chain_keys()
    expected = GENESIS_HASH
    checked = 0
    events = (AuditEvent.objects.filter(matter_id=matter_id).exclude(key_id=LEGACY_KEY_ID)
              .order_by("id").iterator(chunk_size=2000))
    for event in events:
        if event.matter_prev_hash != expected:
            return ChainReport(checked, event.pk,
                               "its link to the matter's previous event is broken")
        key = keys.get(event.key_id)
        if key is None or event_matter_hash(
            event_fields(event), matter_key(key, matter_id)
        ) != event.matter_hash:
            return ChainReport(checked, event.pk, "its content does not match its matter hash")
        expected = event.matter_hash
        checked += 1
    return ChainReport(checked, None, "", head=expected if checked else "")
