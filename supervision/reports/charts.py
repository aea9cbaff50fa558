"""Small bar charts drawn on the server as inline SVG: no JavaScript, no chart library.

Each chart is an `<svg role="img">` named by its `<title>` and described by a `<desc>` that
reads out every value; the page also prints the same numbers in a visually hidden table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from supervision.reports.dashboard import AgeBucket, WeekCompliance

WIDTH = 480
HEIGHT = 220
MARGIN_TOP = 24
MARGIN_BOTTOM = 40
MARGIN_SIDE = 12
PLOT_HEIGHT = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data, drawn as an empty slot
    value_text: str
    tone: str = ""  # extra CSS modifier, e.g. "bad" for a bar that needs attention


def _num(value: float) -> str:
    """A coordinate, formatted before format_html (which would escape a float to a string)."""
    return f"{value:.1f}"


def bar_chart(
    *, chart_id: str, title: str, description: str, bars: Sequence[Bar], max_value: float
) -> SafeString:
    """An accessible SVG bar chart; `max_value` is the top of the scale (at least 1)."""
    scale = max(max_value, 1)
    slot = (WIDTH - 2 * MARGIN_SIDE) / max(len(bars), 1)
    bar_width = slot * 0.6
    baseline = MARGIN_TOP + PLOT_HEIGHT
    parts = []
    for index, bar in enumerate(bars):
        x = MARGIN_SIDE + index * slot + (slot - bar_width) / 2
        centre = MARGIN_SIDE + index * slot + slot / 2
        height = 0.0 if bar.value is None else PLOT_HEIGHT * bar.value / scale
        tone = f" chart__bar--{bar.tone}" if bar.tone else ""
        parts.append(
            format_html(
                '<rect class="chart__bar{}" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<text class="chart__value" x="{}" y="{}" text-anchor="middle">{}</text>'
                '<text class="chart__label" x="{}" y="{}" text-anchor="middle">{}</text>',
                tone, _num(x), _num(baseline - height), _num(bar_width), _num(height),
                _num(centre), _num(baseline - height - 6), bar.value_text,
                _num(centre), _num(baseline + 18), bar.label,
            )
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc" '
        'focusable="false"><title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
        '<line class="chart__axis" x1="{}" x2="{}" y1="{}" y2="{}"></line>{}</svg>',
        WIDTH, HEIGHT, chart_id, chart_id, chart_id, title, chart_id, description,
        MARGIN_SIDE, WIDTH - MARGIN_SIDE, baseline, baseline,
        format_html_join("", "{}", ((part,) for part in parts)),
    )


def sla_compliance_chart(weeks: Sequence[WeekCompliance]) -> SafeString:
    """Share of deliveries that met the vendor SLA, one bar per week."""
    bars = []
    spoken = []
    for week in weeks:
        label = f"{week.week_start:%-d %b}"
        percent = week.percent
        if percent is None:
            bars.append(Bar(label, None, "–"))
            spoken.append(f"week of {label}: no deliveries")
        else:
            bars.append(Bar(label, percent, f"{percent}%", "" if percent >= 90 else "bad"))
            spoken.append(
                f"week of {label}: {percent}% ({week.on_time} of {week.delivered} on time)"
            )
    return bar_chart(
        chart_id="sla-chart",
        title="SLA compliance by week",
        description="Deliveries on or before the SLA deadline: " + "; ".join(spoken) + ".",
        bars=bars,
        max_value=100,
    )


def review_age_chart(buckets: Sequence[AgeBucket]) -> SafeString:
    """Reviews waiting, by how long since the version was submitted."""
    oldest = len(buckets) - 1
    bars = [
        # The oldest bucket is past any review window: show it as needing attention.
        Bar(bucket.label, bucket.count, str(bucket.count),
            "bad" if index == oldest and bucket.count else "")
        for index, bucket in enumerate(buckets)
    ]
    spoken = "; ".join(f"{bucket.label}: {bucket.count}" for bucket in buckets)
    return bar_chart(
        chart_id="age-chart",
        title="Reviews waiting by age",
        description=f"Reviews waiting since the version was submitted: {spoken}.",
        bars=bars,
        max_value=max((bucket.count for bucket in buckets), default=0),
    )
