"""Ship default SLA policies (data, editable in the admin afterwards).

Offsets and escalation delays are business hours. No escalation partner is named: the firm
picks its partner or general counsel in the admin; until then that rung is skipped. A scope
that already has an active policy (set up by hand) is left alone.
"""

from django.db import migrations

DEFAULT_POLICIES = [
    # name, task type, priority, turnaround, review window, reminder offsets, escalation
    # to the responsible attorney after, to the partner after
    ("Standard", "", "", 40, 16, [-24, 0, 24], 8, 24),
    ("Urgent", "", "urgent", 8, 4, [-4, 0, 4], 2, 8),
    ("High priority", "", "high", 24, 8, [-8, 0, 8], 4, 16),
    ("Low priority", "", "low", 80, 24, [-24, 0, 24], 16, 40),
    ("Legal research", "legal_research", "", 40, 24, [-24, 0, 24], 8, 24),
    ("Legal transcription", "legal_transcription", "", 24, 8, [-8, 0, 8], 8, 24),
]


def add_defaults(apps, schema_editor):
    SlaPolicy = apps.get_model("supervision", "SlaPolicy")
    for name, task_type, priority, turnaround, window, offsets, responsible, partner in (
        DEFAULT_POLICIES
    ):
        if SlaPolicy.objects.filter(name=name).exists() or SlaPolicy.objects.filter(
            task_type=task_type, priority=priority, is_active=True
        ).exists():
            continue
        SlaPolicy.objects.create(
            name=name,
            task_type=task_type,
            priority=priority,
            turnaround_business_hours=turnaround,
            review_window_business_hours=window,
            reminder_offsets_hours=offsets,
            escalate_to_responsible_after_hours=responsible,
            escalate_to_partner_after_hours=partner,
            business_day_start_hour=9,
            business_day_end_hour=18,
        )


def remove_defaults(apps, schema_editor):
    SlaPolicy = apps.get_model("supervision", "SlaPolicy")
    SlaPolicy.objects.filter(name__in=[policy[0] for policy in DEFAULT_POLICIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("supervision", "0002_evidence_triggers")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
