"""The scorecards' quality-control figures per vendor, from the QC record of a period:

- **Lots inspected / accepted, acceptance rate %**: the sample results decided in the
  period (a full re-review is not a second lot).
- **Defects per 100 items**: defective items found per 100 sampled items inspected, overall,
  by category and by severity.
- **Inspection level over time**: each switch up to the period's end, with its reason, and
  the level in force at the end.
- **Defect rate by month**: defects per 100 inspected items in each month of the six months
  ending with the period (a chart per vendor, `supervision.reports.charts.bar_chart`).

Four queries for all vendors, whatever the amount of QC data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.safestring import SafeString

from lpo_tracker.clock import firm_zone
from supervision.qc.models import InspectionSwitch, QcCheck, QcResult, ResultKind, Severity
from supervision.reports.charts import Bar, bar_chart
from supervision.reports.scorecards import Period

TENTH = Decimal("0.1")
VENDOR = "submission__task__engagement__vendor_id"
MONTHS_CHARTED = 6


def per_hundred(defects: int, items: int) -> Decimal | None:
    if not items:
        return None
    return (Decimal(defects) * 100 / items).quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass
class QcScore:
    lots: int = 0
    accepted: int = 0
    items: int = 0
    defects: int = 0
    by_severity: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    switches: list[InspectionSwitch] = field(default_factory=list)
    months: list[tuple[dt.date, int, int]] = field(default_factory=list)  # month, items, defects
    chart: SafeString | None = None

    @property
    def acceptance_percent(self) -> Decimal | None:
        return per_hundred(self.accepted, self.lots)

    @property
    def defects_per_100(self) -> Decimal | None:
        return per_hundred(self.defects, self.items)

    def severity_rates(self) -> list[tuple[str, Decimal | None]]:
        return [(label, per_hundred(self.by_severity.get(value, 0), self.items))
                for value, label in (("critical", "Critical"), ("major", "Major"),
                                     ("minor", "Minor"))]

    def category_rates(self) -> list[tuple[str, Decimal | None]]:
        return [(name, per_hundred(count, self.items))
                for name, count in sorted(self.by_category.items())]

    @property
    def level_at_end(self) -> str:
        return self.switches[-1].get_to_severity_display() if self.switches else str(
            Severity.NORMAL.label)

    @property
    def has_activity(self) -> bool:
        return bool(self.lots or self.switches)


def _months(period: Period) -> list[dt.date]:
    last = period.last_day.replace(day=1)
    months = [last]
    while len(months) < MONTHS_CHARTED:
        months.insert(0, (months[0] - dt.timedelta(days=1)).replace(day=1))
    return months


def qc_scores_for(period: Period, vendor_ids: list[int]) -> dict[int, QcScore]:
    """1. Sample results of the period by vendor; 2. their defective checks by vendor,
    category and severity; 3. inspection switches up to the period's end; 4. items and
    defects by vendor and month for the chart."""
    scores = {vendor_id: QcScore() for vendor_id in vendor_ids}
    in_period = Q(kind=ResultKind.SAMPLE, decided_at__gte=period.start,
                  decided_at__lt=period.end)
    for row in (QcResult.objects.filter(in_period).values(VENDOR)
                .annotate(lots=Count("pk"), accepted=Count("pk", filter=Q(accepted=True)),
                          items=Sum("items_checked"), defects=Sum("defects_found"))):
        score = scores.get(row[VENDOR])
        if score is not None:
            score.lots, score.accepted = row["lots"], row["accepted"]
            score.items, score.defects = row["items"] or 0, row["defects"] or 0
    sampled = QcResult.objects.filter(in_period).values("sample_id")
    for row in (QcCheck.objects.filter(defective=True, sample_id__in=sampled)
                .values("sample__lot__submission__task__engagement__vendor_id",
                        "category__name", "severity").annotate(count=Count("pk"))):
        score = scores.get(row["sample__lot__submission__task__engagement__vendor_id"])
        if score is not None:
            score.by_severity[row["severity"]] += row["count"]
            score.by_category[row["category__name"]] += row["count"]
    for switch in (InspectionSwitch.objects.filter(vendor_id__in=vendor_ids,
                                                   switched_at__lt=period.end)
                   .order_by("switched_at", "pk")):
        scores[switch.vendor_id].switches.append(switch)
    months = _months(period)
    start = dt.datetime.combine(months[0], dt.time.min, tzinfo=firm_zone())
    monthly: dict[tuple[int, dt.date], tuple[int, int]] = {}
    for row in (QcResult.objects.filter(kind=ResultKind.SAMPLE, decided_at__gte=start,
                                        decided_at__lt=period.end)
                .annotate(month=TruncMonth("decided_at", tzinfo=firm_zone()))
                .values(VENDOR, "month")
                .annotate(items=Sum("items_checked"), defects=Sum("defects_found"))):
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        monthly[(row[VENDOR], month)] = (row["items"] or 0, row["defects"] or 0)
    for vendor_id, score in scores.items():
        score.months = [(month, *monthly.get((vendor_id, month), (0, 0))) for month in months]
        if any(items for _, items, _ in score.months):
            score.chart = defect_rate_chart(vendor_id, score.months)
    return scores


def defect_rate_chart(vendor_id: int, months: list[tuple[dt.date, int, int]]) -> SafeString:
    """Defects per 100 inspected items, one bar per month."""
    bars, spoken = [], []
    for month, items, defects in months:
        label = f"{month:%b %Y}"
        rate = per_hundred(defects, items)
        if rate is None:
            bars.append(Bar(f"{month:%b}", None, "–"))
            spoken.append(f"{label}: no lot inspected")
        else:
            bars.append(Bar(f"{month:%b}", float(rate), f"{rate}", "bad" if rate > 5 else ""))
            spoken.append(f"{label}: {rate} per 100 ({defects} of {items} items)")
    top = max((float(per_hundred(d, i) or 0) for _, i, d in months), default=0)
    return bar_chart(chart_id=f"qc-chart-{vendor_id}", title="Defects per 100 items by month",
                     description="; ".join(spoken) + ".", bars=bars, max_value=max(top, 5))
