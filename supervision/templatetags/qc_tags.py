"""The vendor page's inspection panel (vendors may not import supervision, but its template
may load this library): the vendor's current Z1.4 inspection severity per task type and the
history of switches, each with its reason."""

from __future__ import annotations

from typing import Any

from django import template

from supervision.qc.selectors import inspection_history, inspection_levels

register = template.Library()


@register.inclusion_tag("supervision/_inspection_panel.html")
def inspection_panel(vendor: Any) -> dict[str, Any]:
    """Two queries: the states, the latest switches."""
    return {"levels": inspection_levels(vendor.pk),
            "switches": list(inspection_history(vendor.pk))}
