"""Attacks on the audit trail by someone who can write to the database, and what catches them.

Table-driven: every attack starts from the same trail (a delivered task, then an anchor of
the head, then more events) and is caught either by the keyed chain itself (`verify_audit`)
or, for the attacks that leave a chain that verifies, by the anchor recorded outside the
database (`verify_audit --since-anchor FILE`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings

from lpo_tracker.audit import tasks as audit_tasks
from lpo_tracker.audit.anchors import audit_anchor_record, read_anchors
from lpo_tracker.audit.chain import (
    GENESIS_HASH,
    LEGACY_KEY_ID,
    event_hash,
    event_matter_hash,
    matter_key,
)
from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.services import (
    audit_record,
    audit_verify_chain,
    audit_verify_matter,
    chain_keys,
    event_fields,
)
from lpo_tracker.dbtriggers import truncate_allowed_sql
from lpo_tracker.schedules import BEAT_SCHEDULE
from matters.models import TaskStatus
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@dataclass
class Trail:
    anchor_file: Path
    anchored_id: int


@pytest.fixture
def trail(cast: Cast, tmp_path: Path, settings: Settings) -> Trail:
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    cast.advance(cast.task, TaskStatus.DELIVERED)
    anchor = audit_anchor_record(now=timezone.now())
    assert anchor.last_id is not None
    cast.advance(cast.new_task(title="After the anchor"), TaskStatus.IN_PROGRESS)
    return Trail(anchor_file=tmp_path / "anchors.jsonl", anchored_id=anchor.last_id)


@pytest.fixture
def owner_powers() -> Iterator[None]:
    """What a database owner can do: switch the evidence triggers off."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def reseal_from(first_id: int, key: bytes | None) -> None:
    """Rewrite every event from `first_id` on so that all links hold again, sealed with
    `key` (the real chain key: an insider; None: a plain SHA-256 as without the key)."""
    previous = AuditEvent.objects.filter(pk__lt=first_id).order_by("-id").first()
    prev_hash = previous.hash if previous else GENESIS_HASH
    heads: dict[int, str] = {}
    for event in AuditEvent.objects.filter(pk__lt=first_id).order_by("id"):
        if event.matter_id is not None:
            heads[event.matter_id] = event.matter_hash
    for event in AuditEvent.objects.filter(pk__gte=first_id).order_by("id"):
        event.prev_hash = prev_hash
        if event.matter_id is not None:
            event.matter_prev_hash = heads.get(event.matter_id, GENESIS_HASH)
        fields = event_fields(event)
        if key is None:
            event.hash = hashlib.sha256(json.dumps(fields.__dict__, sort_keys=True,
                                                   default=str).encode()).hexdigest()
        else:
            event.hash = event_hash(fields, key)
            if event.matter_id is not None:
                event.matter_hash = event_matter_hash(fields, matter_key(key, event.matter_id))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET before = %s::jsonb, after = %s::jsonb, "
                "prev_hash = %s, hash = %s, matter_prev_hash = %s, matter_hash = %s "
                "WHERE id = %s",
                [json.dumps(event.before), json.dumps(event.after), event.prev_hash,
                 event.hash, event.matter_prev_hash, event.matter_hash, event.pk],
            )
        prev_hash = event.hash
        if event.matter_id is not None:
            heads[event.matter_id] = event.matter_hash


def rewrite_signoff_event(key: bytes | None) -> int:
    """Change who signed off, then re-seal the rest of the chain."""
    victim = AuditEvent.objects.filter(action="signoff.recorded").get()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = jsonb_set(after, '{attorney_name}', "
                       "'\"Somebody Else\"') WHERE id = %s", [victim.pk])
    reseal_from(victim.pk, key)
    return victim.pk


def forged_event_after_head(key_id: str, key: bytes | None) -> int:
    """Append an event claiming a sign-off, linked to the head, by a plain INSERT."""
    head = AuditEvent.objects.order_by("-id").first()
    assert head is not None
    forged = AuditEvent(
        occurred_at=timezone.now(), actor_label="attorney", action="signoff.recorded",
        object_type="matters.task", object_id="1", object_repr="forged", matter_id=None,
        after={"status": "approved"}, source="web", key_id=key_id, prev_hash=head.hash,
    )
    fields = event_fields(forged)
    forged.hash = (event_hash(fields, None) if key is None
                   else hashlib.sha256(b"guess" + json.dumps(fields.__dict__,
                                                             default=str).encode()).hexdigest())
    forged.save(force_insert=True)
    return forged.pk


# --- Attacks ------------------------------------------------------------------------------


def forged_event_claiming_to_be_legacy(trail: Trail) -> int:
    return forged_event_after_head(LEGACY_KEY_ID, None)


def forged_event_sealed_without_the_key(trail: Trail) -> int:
    return forged_event_after_head(django_settings.AUDIT_HMAC_KEY_ID, b"a guessed key")


def rewritten_and_rehashed_without_the_key(trail: Trail) -> int:
    return rewrite_signoff_event(None)


def rewritten_and_rehashed_with_the_key(trail: Trail) -> int:
    return rewrite_signoff_event(chain_keys()[django_settings.AUDIT_HMAC_KEY_ID])


def removed_and_resealed_with_the_key(trail: Trail) -> int:
    """An event removed from the middle, the rest re-linked and re-sealed by an insider."""
    victim = AuditEvent.objects.filter(action="task.started").order_by("id").first()
    assert victim is not None
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])
    reseal_from(victim.pk, chain_keys()[django_settings.AUDIT_HMAC_KEY_ID])
    return victim.pk


def cut_chain(trail: Trail) -> int:
    """The last events removed, the anchored one among them: what is left verifies."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id >= %s", [trail.anchored_id - 3])
    return trail.anchored_id


def truncated_and_rebuilt(trail: Trail) -> int:
    """TRUNCATE (allowed by the owner's session setting), then a fresh, valid chain."""
    allow = truncate_allowed_sql("postgresql")
    assert allow is not None
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(allow)
        cursor.execute("TRUNCATE audit_auditevent")
    for number in range(3):
        audit_record(actor=None, action="nothing.happened", object_type="x",
                     object_id=str(number))
    return trail.anchored_id


@dataclass(frozen=True)
class Attack:
    tamper: Callable[[Trail], int]
    # "chain": verify_audit alone names the event; "anchor": only the anchor catches it.
    caught_by: str
    message: str


ATTACKS: dict[str, Attack] = {
    "forged audit event claiming to be legacy": Attack(
        forged_event_claiming_to_be_legacy, "chain", "legacy (unkeyed) event after keyed"),
    "forged audit event sealed without the key": Attack(
        forged_event_sealed_without_the_key, "chain", "does not match its hash"),
    "rewritten and re-hashed chain, without the key": Attack(
        rewritten_and_rehashed_without_the_key, "chain", "does not match its hash"),
    "rewritten and re-hashed chain, with the key": Attack(
        rewritten_and_rehashed_with_the_key, "anchor", "has another hash now"),
    "event removed and the rest re-sealed, with the key": Attack(
        removed_and_resealed_with_the_key, "anchor", "has another hash now"),
    "cut chain (last events removed)": Attack(cut_chain, "anchor", "is gone"),
    "truncated and rebuilt chain": Attack(truncated_and_rebuilt, "anchor", "is gone"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_tampering_is_detected(trail: Trail, owner_powers: None, name: str) -> None:
    attack = ATTACKS[name]
    assert audit_verify_chain().ok
    call_command("verify_audit", since_anchor=[str(trail.anchor_file)])

    broken_id = attack.tamper(trail)

    if attack.caught_by == "chain":
        report = audit_verify_chain()
        assert report.first_broken_id == broken_id
        assert attack.message in report.reason
        with pytest.raises(CommandError, match=f"#{broken_id}\\b"):
            call_command("verify_audit")
    else:
        assert audit_verify_chain().ok, "the attack leaves a chain that verifies on its own"
        with pytest.raises(CommandError, match=attack.message):
            call_command("verify_audit", since_anchor=[str(trail.anchor_file)])


def test_forged_event_insert_needs_no_owner_powers_and_is_still_caught(trail: Trail) -> None:
    """A plain INSERT is all an application-level writer has; the key is what stops it."""
    forged_id = forged_event_sealed_without_the_key(trail)

    assert audit_verify_chain().first_broken_id == forged_id


def test_retired_keys_still_verify_older_events(
    trail: Trail, settings: Settings
) -> None:
    """Rotation: a new current key seals new events; the old one, listed as retired, still
    verifies what it sealed."""
    settings.AUDIT_HMAC_KEYS = {**settings.AUDIT_HMAC_KEYS, "k2": "n" * 40}
    settings.AUDIT_HMAC_KEY_ID = "k2"
    with transaction.atomic():
        event = audit_record(actor=None, action="key.rotated", object_type="x", object_id="1")
    assert event.key_id == "k2"
    assert audit_verify_chain().ok

    settings.AUDIT_HMAC_KEYS = {"k2": "n" * 40}
    report = audit_verify_chain()
    assert not report.ok
    assert "not configured" in report.reason


# --- Per-matter chains --------------------------------------------------------------------


def test_each_matter_chain_verifies_on_its_own(trail: Trail, cast: Cast) -> None:
    events = AuditEvent.objects.filter(matter_id=cast.matter.pk).order_by("id")
    first = events.first()
    assert first is not None and first.matter_prev_hash == GENESIS_HASH

    report = audit_verify_matter(cast.matter.pk)

    assert report.ok and report.checked == events.count() > 10


def test_removing_a_matter_event_breaks_that_matters_chain(
    trail: Trail, cast: Cast, owner_powers: None
) -> None:
    victim = AuditEvent.objects.filter(matter_id=cast.matter.pk, action="task.started").first()
    assert victim is not None
    successor = AuditEvent.objects.filter(matter_id=cast.matter.pk, pk__gt=victim.pk).first()
    assert successor is not None
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])

    assert audit_verify_matter(cast.matter.pk).first_broken_id == successor.pk
    with pytest.raises(CommandError, match=f"matter {cast.matter.number}'s chain broken"):
        call_command("verify_audit", matter=cast.matter.number)


# --- Anchoring ----------------------------------------------------------------------------


def test_anchor_task_writes_the_log_the_file_and_the_compliance_mail(
    cast: Cast, tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "var" / "audit-anchors.jsonl")
    settings.AUDIT_ANCHOR_EMAILS = ["compliance@example.com"]
    # The mail goes out in its own task; run it in line (the body is what is tested here).
    monkeypatch.setattr(audit_tasks.mail_anchor, "delay", audit_tasks.mail_anchor)
    head = AuditEvent.objects.order_by("-id").first()
    assert head is not None

    with caplog.at_level("INFO", logger="lpo_tracker.audit.anchor"):
        audit_tasks.anchor_head()

    (anchor,) = read_anchors(settings.AUDIT_ANCHOR_FILE)
    assert (anchor.count, anchor.last_id, anchor.head) == (
        AuditEvent.objects.count(), head.pk, head.hash)
    assert anchor.to_json() in caplog.text
    (message,) = mail.outbox
    assert message.to == ["compliance@example.com"]
    assert anchor.to_json() in message.body
    saved_mail = tmp_path / "anchor-mail.txt"
    saved_mail.write_text(str(message.body))
    assert read_anchors(saved_mail) == [anchor]


def test_the_anchor_runs_hourly_from_the_one_schedule() -> None:
    from lpo_tracker.celery import app

    entry = BEAT_SCHEDULE["anchor-audit-head"]
    assert entry["task"] in app.tasks
    assert entry["schedule"].minute == {30}


def test_since_anchor_without_an_anchor_in_the_file_fails(tmp_path: Path, cast: Cast) -> None:
    empty = tmp_path / "nothing.txt"
    empty.write_text("not an anchor\n")

    with pytest.raises(CommandError, match="No anchor found"):
        call_command("verify_audit", since_anchor=[str(empty)])


def test_audit_events_cannot_be_truncated_by_the_application(cast: Cast) -> None:
    count = AuditEvent.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError, match="TRUNCATE refused"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")

    assert AuditEvent.objects.count() == count
