"""Anchors: the chain's head (count and hash) recorded outside the database.

The keyed chain stops anyone without the key from forging or re-hashing events, but two
things only a record kept elsewhere can reveal: a chain cut at its end (the last events
removed; what is left still verifies) and a chain rewritten by someone who also holds the
key. The periodic `audit.anchor_head` task writes the head to the log, a file and the
compliance mailbox; `manage.py verify_audit --since-anchor FILE` checks the database still
holds every anchored event with the anchored hash.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Max

from lpo_tracker.audit.chain import GENESIS_HASH
from lpo_tracker.audit.models import AuditEvent

logger = logging.getLogger("lpo_tracker.audit.anchor")


@dataclass(frozen=True)
class Anchor:
    at: str
    count: int
    last_id: int | None
    head: str
    key_id: str

    def to_json(self) -> str:
        return json.dumps({"lpo_audit_anchor": 1, **asdict(self)}, sort_keys=True)


def audit_anchor_take(*, now: dt.datetime) -> Anchor:
    """The head as one consistent read: the count and last id in one statement."""
    head = AuditEvent.objects.aggregate(count=Count("id"), last_id=Max("id"))
    last_id = head["last_id"]
    head_hash, key_id = GENESIS_HASH, ""
    if last_id is not None:
        head_hash, key_id = AuditEvent.objects.values_list("hash", "key_id").get(pk=last_id)
    return Anchor(at=now.astimezone(dt.UTC).isoformat(), count=head["count"],
                  last_id=last_id, head=head_hash, key_id=key_id)


def audit_anchor_record(*, now: dt.datetime) -> Anchor:
    """Take an anchor and write it to the log and, if configured, the anchor file.

    The file is appended to and flushed to disk; each line is one JSON anchor, the same text
    the compliance e-mail carries, so either can be given to `verify_audit --since-anchor`.
    """
    anchor = audit_anchor_take(now=now)
    line = anchor.to_json()
    logger.info("audit anchor %s", line)
    path = settings.AUDIT_ANCHOR_FILE
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")
            stream.flush()
            os.fsync(stream.fileno())
    return anchor


def audit_anchor_mail(*, anchor_json: str) -> int:
    """E-mail an anchor to the compliance addresses; returns how many messages went out."""
    recipients = list(settings.AUDIT_ANCHOR_EMAILS)
    if not recipients:
        return 0
    anchor = json.loads(anchor_json)
    subject = (f"[{settings.FIRM_NAME}] LPO Tracker audit anchor: {anchor['count']} events, "
               f"head {anchor['head'][:16]}")
    body = (
        "Keep this message. It records the head of LPO Tracker's audit trail at "
        f"{anchor['at']}.\nTo check later that no event up to here was removed or rewritten, "
        "save the line below to a file and run\n"
        "  python manage.py verify_audit --since-anchor FILE\n\n"
        f"{anchor_json}\n"
    )
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients,
                     fail_silently=False)


def read_anchors(path: str | Path) -> list[Anchor]:
    """Every anchor line in a file (an anchor file, or a saved e-mail: other lines ignored)."""
    anchors = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.pop("lpo_audit_anchor", None) == 1:
            anchors.append(Anchor(**data))
    return anchors


def audit_check_anchors(anchors: Iterable[Anchor]) -> list[str]:
    """What no longer matches each anchor: the anchored event gone, its hash changed, or a
    different number of events up to it. An empty list: every anchor holds.

    Anchors are checked in id order and events counted between consecutive anchors, so a
    file of many anchors costs one pass over the trail, not one per anchor.
    """
    problems = []
    anchored = sorted((a for a in anchors if a.last_id is not None),
                      key=lambda a: a.last_id or 0)
    stored = dict(AuditEvent.objects.filter(pk__in={a.last_id for a in anchored})
                  .values_list("pk", "hash"))
    counted_to, count = 0, 0
    for anchor in anchored:
        assert anchor.last_id is not None
        label = f"anchor of {anchor.at} ({anchor.count} events)"
        count += AuditEvent.objects.filter(pk__gt=counted_to, pk__lte=anchor.last_id).count()
        counted_to = max(counted_to, anchor.last_id)
        if anchor.last_id not in stored:
            problems.append(f"{label}: event #{anchor.last_id} is gone (the chain was cut)")
        elif stored[anchor.last_id] != anchor.head:
            problems.append(f"{label}: event #{anchor.last_id} has another hash now "
                            "(the chain was rewritten)")
        elif count != anchor.count:
            problems.append(f"{label}: {count} events up to #{anchor.last_id} now, "
                            f"{anchor.count} then (events were removed or inserted)")
    return problems
