"""Party aliases; a consent waiver needs its reason; a closed matter has its closing date.

Rows written before these rules are brought in line first, so the constraints apply:
a waiver without a reason gets one saying so, a closed matter without a date takes its last
update's day, and an open matter loses a stray closing date.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import TruncDate


def bring_rows_in_line(apps, schema_editor):  # type: ignore[no-untyped-def]
    Matter = apps.get_model("matters", "Matter")
    Matter.objects.filter(client_consent_required=False, client_consent_waiver_reason="").update(
        client_consent_waiver_reason="Waived before a reason was required (no reason recorded)."
    )
    Matter.objects.filter(status="closed", closed_on__isnull=True).update(
        closed_on=TruncDate("updated_at"))
    Matter.objects.exclude(status="closed").filter(closed_on__isnull=False).update(
        closed_on=None)


class Migration(migrations.Migration):

    dependencies = [
        ("matters", "0005_task_transition_trigger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='matter',
            name='client_consent_waiver_reason',
            field=models.TextField(blank=True, help_text='Why this matter needs no client consent to outsourcing.'),
        ),
        migrations.AddField(
            model_name='party',
            name='aliases',
            field=models.JSONField(blank=True, default=list, help_text='Other names the party is known by (former names, trading names); the conflict search compares each of them too.'),
        ),
        migrations.RunPython(bring_rows_in_line, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='matter',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'closed'), ('closed_on__isnull', False)), models.Q(models.Q(('status', 'closed'), _negated=True), ('closed_on__isnull', True)), _connector='OR'), name='matter_closed_has_date', violation_error_message='A closed matter has a closing date, an open one none.'),
        ),
        migrations.AddConstraint(
            model_name='matter',
            constraint=models.CheckConstraint(condition=models.Q(('client_consent_required', True), models.Q(('client_consent_waiver_reason', ''), _negated=True), _connector='OR'), name='matter_consent_waiver_has_reason', violation_error_message='Say why this matter needs no client consent.'),
        ),
    ]
