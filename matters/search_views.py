"""The search page behind the header's box (`/search/?q=…`); the rules are `matters.search`.

Vendor users get 404 (they have no search); anonymous users go to the sign-in page. An htmx
request aimed at the results (typing in the page's own box) gets only the results.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from matters.search import MIN_QUERY_LENGTH, search_for
from vendors.access import staff_view


@staff_view
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    results = search_for(request.user, request.GET.get("q", ""))
    context = {"results": results, "min_length": MIN_QUERY_LENGTH}
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "search-results":
        return render(request, "matters/_search_results.html", context)
    return render(request, "matters/search.html", context)
