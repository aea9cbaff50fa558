"""The default performer rule: patent work is performed by a registered patent practitioner
(editable in the admin afterwards)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

DEFAULTS = [
    (
        "patent_support",
        ["patent_practitioner"],
        "patent prosecution support is practice before the patent office",
    ),
]


def add_defaults(apps: Any, schema_editor: Any) -> None:
    requirement = apps.get_model("vendors", "PerformerRequirement")
    for task_type, kinds, reason in DEFAULTS:
        requirement.objects.get_or_create(
            task_type=task_type, defaults={"qualifications": kinds, "reason": reason}
        )


def remove_defaults(apps: Any, schema_editor: Any) -> None:
    requirement = apps.get_model("vendors", "PerformerRequirement")
    requirement.objects.filter(task_type__in=[row[0] for row in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("vendors", "0004_staff_qualifications_training")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
