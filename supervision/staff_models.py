"""What the vendor's people and the responsible attorney put on record about a matter's
outsourcing: a vendor user's acknowledgement of a matter's instructions and confidentiality
terms, and the attorney's rating of a vendor at an engagement's end.

Imported by `supervision.models`, so these are models of the supervision app. Rules:
`supervision.acknowledgements` and `supervision.ratings`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class MatterAcknowledgement(models.Model):
    """A vendor user read and accepted the matter's instructions and confidentiality terms
    before first access. The text's SHA-256 and the terms' version say exactly what; a new
    version of either needs a new acknowledgement. Never edited."""

    member = models.ForeignKey(
        "vendors.VendorUser", on_delete=models.PROTECT, related_name="acknowledgements"
    )
    matter = models.ForeignKey(
        "matters.Matter", on_delete=models.PROTECT, related_name="acknowledgements"
    )
    terms_version = models.CharField(max_length=20)
    text_sha256 = models.CharField(max_length=64)
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "member", "-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "matter", "text_sha256"], name="uniq_acknowledgement_of_text"
            ),
            models.CheckConstraint(
                condition=Q(text_sha256__regex=r"^[0-9a-f]{64}$"), name="acknowledgement_sha256_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member.user} acknowledged {self.matter.number} ({self.terms_version})"


RATING_CRITERIA = ("quality", "timeliness", "communication", "value")


def _score(label: str) -> models.PositiveSmallIntegerField:  # type: ignore[type-arg]
    return models.PositiveSmallIntegerField(label, help_text="1 (poor) to 5 (excellent)")


class EngagementRating(models.Model):
    """The responsible attorney's rating of the vendor once an engagement has ended: one per
    engagement, never edited."""

    engagement = models.OneToOneField(
        "matters.Engagement", on_delete=models.PROTECT, related_name="rating"
    )
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    quality = _score("quality")
    timeliness = _score("timeliness")
    communication = _score("communication")
    value = _score("value")
    comments = models.TextField(blank=True)
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-rated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{name}__gte": 1 for name in RATING_CRITERIA})
                & Q(**{f"{name}__lte": 5 for name in RATING_CRITERIA}),
                name="rating_scores_1_to_5",
                violation_error_message="Each score is from 1 to 5.",
            ),
        ]

    def __str__(self) -> str:
        return f"Rating of {self.engagement}"

    @property
    def average(self) -> float:
        return sum(getattr(self, name) for name in RATING_CRITERIA) / len(RATING_CRITERIA)
