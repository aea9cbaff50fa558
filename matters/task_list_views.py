"""The staff task list: every task the user may see, across matters, mounted at /tasks/
(namespace "tasks"), with filters, sortable columns, pages of 50, and the same selection as
CSV or XLSX (`?format=csv|xlsx`, `lpo_tracker.exports`).

Rows come from `tasks_visible_to(user)` only (grants and ethical walls, the one definition),
narrowed by `matters.filters.TaskFilter`; the export reads the very same queryset, so a file
never holds a task the page would not show. Vendor users get 404 (they work from their
portal); anonymous users go to the login page.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from lpo_tracker.clock import firm_today
from lpo_tracker.exports import FORMATS, Column, export_response
from matters.filters import DEFAULT_TASK_SORT, TASK_SORTS, TaskFilter, next_due_at
from matters.models import Task
from matters.selectors import tasks_visible_to
from vendors.access import staff_view

TASKS_PER_PAGE = 50
FILTER_KEYS = ("state", "vendor", "task_type", "due", "mine")

# The export's columns. Moments are in UTC (the heading says so); the matter's zone is a
# column of its own, so a reader can convert.
TASK_COLUMNS: list[Column[Task]] = [
    Column("Task", lambda task: task.pk),
    Column("Title", lambda task: task.title),
    Column("Matter", lambda task: task.matter.number),
    Column("Matter title", lambda task: task.matter.title),
    Column("Client", lambda task: task.matter.client.name),
    Column("Vendor", lambda task: task.engagement.vendor.name if task.engagement else None),
    Column("Task type", lambda task: task.get_task_type_display()),
    Column("State", lambda task: task.get_status_display()),
    Column("Priority", lambda task: task.get_priority_display()),
    Column("Next deadline (UTC)", lambda task: task.next_due_at),  # type: ignore[attr-defined]
    Column("Vendor SLA due (UTC)", lambda task: task.sla_due_at),
    Column("Review due (UTC)", lambda task: task.review_due_at),
    Column("Matter time zone", lambda task: task.matter.time_zone),
    Column("Documents", lambda task: task.document_count),
    Column("Updated (UTC)", lambda task: task.updated_at),
]


def sort_key(request: HttpRequest) -> str:
    """The `sort` parameter if it names a sortable column (a leading "-" reverses)."""
    wanted = request.GET.get("sort", DEFAULT_TASK_SORT)
    return wanted if wanted.lstrip("-") in TASK_SORTS else DEFAULT_TASK_SORT


def sorted_tasks(tasks: QuerySet[Task], key: str) -> QuerySet[Task]:
    descending = key.startswith("-")
    fields = TASK_SORTS[key.lstrip("-")]
    order = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in fields
    ]
    return tasks.order_by(*order, "-id" if descending else "id")


def task_list_queryset(request: HttpRequest) -> tuple[TaskFilter, QuerySet[Task], str]:
    """The filter form, the filtered and sorted tasks, and the sort key: the page and the
    export share it."""
    tasks = tasks_visible_to(request.user).annotate(next_due_at=next_due_at())
    filterset = TaskFilter(request.GET or None, queryset=tasks, request=request)
    key = sort_key(request)
    return filterset, sorted_tasks(filterset.qs, key), key


def _columns_for_headings(key: str) -> list[dict[str, Any]]:
    """The sortable headings: each one's next sort (ascending first, then reversed) and
    its aria-sort state."""
    headings = []
    for name, label in (
        ("title", "Task"),
        ("matter", "Matter"),
        ("vendor", "Vendor"),
        ("type", "Type"),
        ("status", "State"),
        ("due", "Next deadline"),
        ("updated", "Updated"),
    ):
        state = "ascending" if key == name else "descending" if key == f"-{name}" else "none"
        headings.append(
            {
                "name": name,
                "label": label,
                "state": state,
                "next": f"-{name}" if key == name else name,
            }
        )
    return headings


@staff_view
@require_GET
def task_list(request: HttpRequest) -> HttpResponseBase:
    """Queries, whatever the number of rows: the vendor choices of the filter form, the
    paginator's COUNT, and one page of tasks with matter, client and vendor joined."""
    filterset, tasks, key = task_list_queryset(request)
    export_format = request.GET.get("format", "")
    wants_file = export_format in FORMATS
    if wants_file and filterset.is_valid():
        return export_response(
            export_format,
            filename=f"tasks-{firm_today():%Y%m%d}",
            sheet_name="Tasks",
            columns=TASK_COLUMNS,
            rows=tasks.iterator(chunk_size=2000),
        )
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page_obj": page,
        "tasks": page.object_list,
        "headings": _columns_for_headings(key),
        "sort": key,
        "is_filtered": any(request.GET.get(name) for name in FILTER_KEYS),
    }
    htmx = getattr(request, "htmx", None)
    partial = htmx and not htmx.history_restore_request
    template = "matters/_task_results.html" if partial else "matters/task_list.html"
    # A file asked for with a bad filter gets the page and its errors, never a wider file.
    response = render(request, template, context, status=400 if wants_file else 200)
    patch_vary_headers(response, ["HX-Request"])
    return response
