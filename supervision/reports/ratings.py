"""The responsible attorneys' ratings of vendors at their engagements' ends, for the vendor
scorecard: per vendor, the number of ratings and the mean of each criterion (all ratings to
date, whatever the period: an engagement is rated once, when it ends), and the latest
comments. A rating of a matter the reader is screened from counts for nothing on their
page (a wall beats every grant). Two queries for all vendors."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, QuerySet

from lpo_tracker.admin_utils import without_walled_matters
from supervision.models import EngagementRating
from supervision.staff_models import RATING_CRITERIA

TENTH = Decimal("0.1")
LATEST_COMMENTS = 3


@dataclass
class VendorRatings:
    vendor_id: int
    vendor_name: str
    count: int
    means: dict[str, Decimal]
    latest: list[EngagementRating] = field(default_factory=list)

    @property
    def overall(self) -> Decimal:
        return (sum(self.means.values(), Decimal(0)) / len(self.means)).quantize(
            TENTH, rounding=ROUND_HALF_UP
        )


def _readable(user: object) -> QuerySet[EngagementRating]:
    return without_walled_matters(EngagementRating.objects.all(), user, "engagement__matter")


def vendor_ratings(user: object) -> list[VendorRatings]:
    """Every rated vendor, by name: query 1 the means, query 2 the latest rated comments."""
    rows = (
        _readable(user)
        .values("engagement__vendor_id", "engagement__vendor__name")
        .annotate(count=Count("pk"), **{name: Avg(name) for name in RATING_CRITERIA})
        .order_by("engagement__vendor__name")
    )
    summaries = {
        row["engagement__vendor_id"]: VendorRatings(
            vendor_id=row["engagement__vendor_id"],
            vendor_name=row["engagement__vendor__name"],
            count=row["count"],
            means={
                name: Decimal(str(row[name])).quantize(TENTH, rounding=ROUND_HALF_UP)
                for name in RATING_CRITERIA
            },
        )
        for row in rows
    }
    recent = (
        _readable(user)
        .exclude(comments="")
        .select_related("engagement__matter", "rated_by")
        .order_by("-rated_at", "-pk")
    )
    for rating in recent.filter(engagement__vendor_id__in=list(summaries))[:200]:
        summary = summaries[rating.engagement.vendor_id]
        if len(summary.latest) < LATEST_COMMENTS:
            summary.latest.append(rating)
    return list(summaries.values())
