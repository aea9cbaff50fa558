"""Vocabulary shared by more than one app (vendors cannot import matters)."""

from __future__ import annotations

import zoneinfo

from django.db import models

TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class TaskType(models.TextChoices):
    DOCUMENT_REVIEW = "document_review", "Document review"
    CONTRACT_DRAFTING = "contract_drafting", "Contract drafting"
    CONTRACT_ABSTRACTION = "contract_abstraction", "Contract abstraction"
    LEGAL_RESEARCH = "legal_research", "Legal research"
    DUE_DILIGENCE = "due_diligence", "Due diligence"
    DEPOSITION_SUMMARY = "deposition_summary", "Deposition summary"
    PATENT_SUPPORT = "patent_support", "Patent / IP support"
    COMPLIANCE_REVIEW = "compliance_review", "Compliance review"
    LEGAL_TRANSCRIPTION = "legal_transcription", "Legal transcription"
    LEGAL_CODING = "legal_coding", "Legal coding"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class ConfirmationMethod(models.TextChoices):
    """How a person confirmed it was them just before a sign-off (the step-up)."""

    TOTP = "totp", "Authenticator app code"
    RECOVERY_CODE = "recovery_codes", "Recovery code"
    WEBAUTHN = "webauthn", "Security key"
    PASSWORD = "password", "Password"
    DEMO = "demo", "Demo data (seeded, no sign-in)"
