"""The four task templates that used to be a list in matters/forms.py, now rows the firm edits.

Their old "due in N calendar days" becomes N business days (a week of calendar days is five
business days): the deadline is counted in the matter's business calendar now.
"""

from decimal import Decimal

from django.db import migrations

TEMPLATES = [
    {
        "name": "First-level privilege review",
        "title": "First-level privilege review",
        "task_type": "document_review",
        "instructions": (
            "Code each document Privileged / Not privileged / Partially privileged using the "
            "review protocol. Flag anything involving in-house or outside counsel for "
            "second-level review. Do not produce or share any document."
        ),
        "priority": "normal",
        "estimated_hours": Decimal("40"),
        "document_count": 2000,
        "due_in_business_days": 8,
    },
    {
        "name": "Deposition summary",
        "title": "Deposition summary",
        "task_type": "deposition_summary",
        "instructions": (
            "Page-line summary of the transcript, with a topical index and a list of exhibits "
            "referred to. Quote admissions verbatim with page and line."
        ),
        "priority": "normal",
        "estimated_hours": Decimal("8"),
        "document_count": 1,
        "due_in_business_days": 4,
    },
    {
        "name": "Contract abstraction batch",
        "title": "Contract abstraction batch",
        "task_type": "contract_abstraction",
        "instructions": (
            "Abstract parties, term, renewal, termination rights, change of control, "
            "assignment, exclusivity, limitation of liability and governing law into the "
            "abstraction template. Mark any clause you are unsure of for attorney review."
        ),
        "priority": "normal",
        "estimated_hours": Decimal("25"),
        "document_count": 100,
        "due_in_business_days": 8,
    },
    {
        "name": "Due-diligence data-room review",
        "title": "Data-room review – material contracts",
        "task_type": "due_diligence",
        "instructions": (
            "Review the material-contracts folder of the data room and list red flags "
            "(consents, change of control, MFN, non-compete) in the issues list."
        ),
        "priority": "high",
        "estimated_hours": Decimal("30"),
        "document_count": 250,
        "due_in_business_days": 5,
    },
]


def create_templates(apps, schema_editor):
    TaskTemplate = apps.get_model("matters", "TaskTemplate")
    for fields in TEMPLATES:
        TaskTemplate.objects.get_or_create(name=fields["name"], defaults=fields)


def remove_templates(apps, schema_editor):
    TaskTemplate = apps.get_model("matters", "TaskTemplate")
    TaskTemplate.objects.filter(name__in=[fields["name"] for fields in TEMPLATES]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("matters", "0012_task_deadline_source_and_templates"),
    ]

    operations = [
        migrations.RunPython(create_templates, remove_templates),
    ]
