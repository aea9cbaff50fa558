"""Forms of the matter pages. They validate input and shape it for the services; the rules
themselves (who may, which state, which vendor) stay in `matters.services`.

Deadlines are typed as wall-clock time in the MATTER's time zone (a deadline on a New York
matter means 17:00 in New York, wherever the person typing it sits) and stored in UTC.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from lpo_tracker.fields import Priority, TaskType
from matters.models import (
    ConflictCheckStatus,
    DueDateKind,
    Engagement,
    Matter,
    Task,
    TaskTemplate,
)

# --- Task templates -----------------------------------------------------------------------


def template_initial(template: TaskTemplate) -> dict[str, Any]:
    """The new-task form pre-filled from a template. The due date is left empty: the service
    counts it from the template in the matter's business calendar when the task is saved."""
    return {
        "template": template.pk,
        "title": template.title,
        "task_type": template.task_type,
        "requires_legal_judgment": template.requires_legal_judgment,
        "instructions": template.instructions,
        "priority": template.priority,
        "estimated_hours": template.estimated_hours,
        "document_count": template.document_count,
    }


class TaskTemplateForm(forms.ModelForm):
    """Create or edit a task template (the staff page); `task_template_save` writes it."""

    class Meta:
        model = TaskTemplate
        fields = ["name", "title", "task_type", "priority", "requires_legal_judgment",
                  "instructions", "estimated_hours", "document_count", "due_in_business_days",
                  "is_active"]
        labels = {"task_type": "Type of work", "due_in_business_days": "Due in business days",
                  "is_active": "Offered on the new-task page"}
        widgets = {"instructions": forms.Textarea(attrs={"rows": 5})}


# --- Fields -------------------------------------------------------------------------------


class ZonedDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read and shown as wall-clock time in a given zone.

    Django's DateTimeField converts with the *active* time zone (UTC on this site); this
    field converts with the zone it is given (the matter's), and keeps Django's refusal of
    times that do not exist or happen twice at a DST change.
    """

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, *, zone_name: str = "UTC", **kwargs: Any) -> None:
        self.zone_name = zone_name
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:
        with timezone.override(zoneinfo.ZoneInfo(self.zone_name)):
            return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        with timezone.override(zoneinfo.ZoneInfo(self.zone_name)):
            return super().prepare_value(value)


def zone_help(matter: Matter, what: str) -> str:
    return (
        f"{what} in the matter's time zone, {matter.time_zone}. Stored in UTC; the vendor "
        "sees it in their own zone."
    )


def _future(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value <= timezone.now():
        raise forms.ValidationError("This date and time has already passed.", code="past")
    return value


# --- Tasks --------------------------------------------------------------------------------


def _active_templates() -> QuerySet[TaskTemplate]:
    return TaskTemplate.objects.filter(is_active=True).order_by("name")


class TaskTemplateChoiceForm(forms.Form):
    """The "start from a template" picker (GET): it only pre-fills the task form."""

    template = forms.ModelChoiceField(
        label="Start from a template",
        required=False,
        queryset=TaskTemplate.objects.none(),
        empty_label="Blank task",
        help_text="Fills in the form below; you can change anything before saving.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["template"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _active_templates()


class TaskCreateForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=TaskTemplate.objects.none(), required=False, widget=forms.HiddenInput
    )
    title = forms.CharField(max_length=250)
    task_type = forms.ChoiceField(label="Type of work", choices=TaskType.choices)
    requires_legal_judgment = forms.BooleanField(
        label="Requires legal judgment",
        required=False,
        initial=True,
        help_text=str(Task._meta.get_field("requires_legal_judgment").help_text),
    )
    instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Shared with the vendor. Never paste privileged content the vendor does not "
        "need.",
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    estimated_hours = forms.DecimalField(
        label="Estimated hours", min_value=0, max_digits=8, decimal_places=2, initial=0
    )
    document_count = forms.IntegerField(label="Documents (approx.)", min_value=0, initial=0)
    sla_due_at = ZonedDateTimeField(label="Vendor due (SLA)", required=False)

    def __init__(self, *args: Any, matter: Matter, default_due: str = "", **kwargs: Any
                 ) -> None:
        """`default_due`: in words, the deadline the firm's rules would give (shown as the
        field's help, so a person sees what leaving it empty means)."""
        super().__init__(*args, **kwargs)
        self.matter = matter
        template = self.fields["template"]
        assert isinstance(template, forms.ModelChoiceField)
        template.queryset = _active_templates()
        due = self.fields["sla_due_at"]
        assert isinstance(due, ZonedDateTimeField)
        due.zone_name = matter.time_zone
        due.help_text = (
            "Leave empty for the firm's default, counted in the matter's business calendar "
            "when you save" + (f" (now: {default_due})" if default_due else "") + ". Or type "
            "a date and time to override it: " + zone_help(matter, "wall-clock time")
        )

    def clean_sla_due_at(self) -> dt.datetime | None:
        return _future(self.cleaned_data.get("sla_due_at"))

    def service_fields(self) -> dict[str, Any]:
        """The cleaned data as `task_create` keyword arguments (the template included: it
        sets the default deadline)."""
        return dict(self.cleaned_data)


class DueDateChangeForm(forms.Form):
    """Move one of a task's due dates, with the reason kept in its history."""

    kind = forms.ChoiceField(label="Which deadline", choices=DueDateKind.choices,
                             widget=forms.RadioSelect, initial=DueDateKind.SLA)
    new_value = ZonedDateTimeField(label="New due date and time")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
        help_text="Kept in the task's due-date history and told to the vendor and the team.",
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        due = self.fields["new_value"]
        assert isinstance(due, ZonedDateTimeField)
        due.zone_name = task.matter.time_zone
        due.help_text = zone_help(task.matter, "Date and time")
        if task.review_due_at is None:
            # No review window yet (it opens at the first version): only the vendor's.
            kind = self.fields["kind"]
            assert isinstance(kind, forms.ChoiceField)
            kind.choices = [(DueDateKind.SLA.value, DueDateKind.SLA.label)]

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the due date changes.", code="required")
        return reason

    def clean_new_value(self) -> dt.datetime | None:
        return _future(self.cleaned_data.get("new_value"))


class EngagementChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Engagement) -> str:  # type: ignore[override]
        return str(obj.vendor)


class TaskAssignForm(forms.Form):
    engagement = EngagementChoiceField(
        label="Vendor", queryset=Engagement.objects.none(), empty_label=None,
        widget=forms.RadioSelect,
    )

    def __init__(
        self, *args: Any, task: Task, engagements: QuerySet[Engagement], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.task = task
        engagement_field = self.fields["engagement"]
        assert isinstance(engagement_field, EngagementChoiceField)
        engagement_field.queryset = engagements
        if task.sla_due_at is None:
            # The service refuses an assignment without a deadline; ask for it here.
            self.fields["sla_due_at"] = ZonedDateTimeField(
                label="Vendor due (SLA)",
                zone_name=task.matter.time_zone,
                help_text=zone_help(task.matter, "Date and time"),
            )

    def clean_sla_due_at(self) -> dt.datetime | None:
        return _future(self.cleaned_data.get("sla_due_at"))


class TaskReassignForm(forms.Form):
    engagement = EngagementChoiceField(
        label="New vendor", queryset=Engagement.objects.none(), empty_label=None,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the audit trail and shown to the matter team.",
    )

    def __init__(
        self, *args: Any, engagements: QuerySet[Engagement], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        engagement_field = self.fields["engagement"]
        assert isinstance(engagement_field, EngagementChoiceField)
        engagement_field.queryset = engagements


class TaskCancelForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the audit trail; the vendor sees that the task was cancelled.",
    )


class BulkAssignForm(forms.Form):
    """Assign drafts / reassign open work of one matter to one engagement in a single step.

    Each task goes through its own service call (and transaction): one refusal does not undo
    the others, and each outcome is reported."""

    tasks = forms.ModelMultipleChoiceField(
        queryset=Task.objects.none(), error_messages={"required": "Select at least one task."}
    )
    engagement = EngagementChoiceField(
        label="Vendor", queryset=Engagement.objects.none(), empty_label="Choose a vendor…"
    )
    # Required by the service for each task already with a vendor; the page says so.
    reason = forms.CharField(label="Reason (for reassignments)", required=False)

    def __init__(
        self, *args: Any, tasks: QuerySet[Task], engagements: QuerySet[Engagement],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        task_field = self.fields["tasks"]
        engagement_field = self.fields["engagement"]
        assert isinstance(task_field, forms.ModelMultipleChoiceField)
        assert isinstance(engagement_field, EngagementChoiceField)
        task_field.queryset = tasks
        engagement_field.queryset = engagements


# --- Engagements --------------------------------------------------------------------------


class ConflictCheckForm(forms.Form):
    result = forms.ChoiceField(
        choices=[
            (ConflictCheckStatus.CLEARED, "Cleared – no conflict"),
            (ConflictCheckStatus.FLAGGED, "Flagged – a conflict was found"),
        ],
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when a conflict is flagged, and when clearing despite search hits "
        "(which needs the firm's conflicts permission).",
    )
    # The fingerprint of the hits the page showed: a decision is refused if they changed.
    hits_sha256 = forms.CharField(required=False, widget=forms.HiddenInput)


class ConsentForm(forms.Form):
    given_by = forms.CharField(
        label="Consent given by", max_length=200,
        help_text="The client representative, e.g. “Jane Roe, General Counsel”.",
    )
    given_on = forms.DateField(
        label="Date of consent", widget=forms.DateInput(attrs={"type": "date"})
    )
    scope = forms.CharField(
        label="Scope of consent", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the client agreed may be shared with this provider.",
    )
    expires_on = forms.DateField(
        label="Consent expires on", required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty if the consent has no end date.",
    )
    task_types = forms.MultipleChoiceField(
        label="Task types covered", required=False, choices=TaskType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the consent covers every type of task.",
    )
    countries = forms.CharField(
        label="Countries covered", required=False, max_length=200,
        help_text="ISO codes where the data may be handled, e.g. “US, GB”; empty: no limit "
        "beyond the client's own.",
    )

    def clean_countries(self) -> list[str]:
        return [code.strip().upper() for code in self.cleaned_data.get("countries", "")
                .replace(";", ",").split(",") if code.strip()]


class ConsentRevokeForm(forms.Form):
    reason = forms.CharField(
        label="How the client withdrew its consent", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Takes effect at once: no new work goes to this vendor on this matter.",
    )


# --- Audit export -------------------------------------------------------------------------


class AuditExportForm(forms.Form):
    """A date range of the matter's audit trail, both days included, read in the matter's
    time zone."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, matter: Matter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matter = matter

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date is before the start date.")
        return cleaned

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as UTC-comparable instants: local midnight to the next local midnight."""
        zone = zoneinfo.ZoneInfo(self.matter.time_zone)
        start: dt.date = self.cleaned_data["start"]
        end: dt.date = self.cleaned_data["end"]
        return (
            dt.datetime.combine(start, dt.time.min, tzinfo=zone),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
        )
