"""Forms of the supervision pages. They collect input; the rules live in the services.

The attestation box and the change comments are `required` in the browser only: the
services refuse a sign-off without the attestation and a change request without comments,
and their messages become these forms' errors.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from lpo_tracker.fields import TaskType
from matters.models import Task
from supervision.uploads import CONTENT_TYPES
from vendors.models import VendorUser
from vendors.selectors import vendor_of
from vendors.staff import performers_for

ACCEPTED_EXTENSIONS = ",".join(sorted(CONTENT_TYPES))


class SubmissionForm(forms.Form):
    file = forms.FileField(
        label="Work product file",
        # An empty file reaches the upload checks, which say so in their own words.
        allow_empty_file=True,
        widget=forms.FileInput(attrs={"accept": ACCEPTED_EXTENSIONS}),
    )
    note = forms.CharField(
        label="What changed in this version",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    performed_by = forms.ModelChoiceField(
        label="Performed by", required=False, queryset=VendorUser.objects.none(),
        empty_label="The uploader",
        help_text="Who at the vendor did the work; they need current confidentiality and "
        "data-protection training, and some task types a verified qualification.",
    )
    # Bulk work is a lot of items (supervision.qc): its count, and optionally their ids.
    item_count = forms.IntegerField(
        label="Items in this lot", required=False, min_value=1,
        help_text="Bulk work (document review, coding, abstraction, transcription): how many "
        "items (documents, records) this version covers.",
    )
    manifest = forms.FileField(
        label="Manifest of item ids (optional)", required=False, allow_empty_file=True,
        widget=forms.FileInput(attrs={"accept": ".csv,.txt"}),
        help_text="CSV, one item id (e.g. control number) per row in the first column.",
    )

    def __init__(self, *args: Any, task: Task | None = None, uploader: Any = None,
                 **kwargs: Any) -> None:
        """`task`: offer its vendor's people as performers (the uploading vendor user first
        by default); without it the choice is empty and only the default applies."""
        membership = vendor_of(uploader) if uploader is not None else None
        if membership is not None:
            kwargs.setdefault("initial", {}).setdefault("performed_by", membership.pk)
        super().__init__(*args, **kwargs)
        if task is not None and task.engagement_id is not None:
            field = self.fields["performed_by"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = performers_for(task.engagement.vendor_id)  # type: ignore[union-attr]
        limit = settings.MAX_UPLOAD_BYTES
        self.fields["file"].help_text = (
            f"{', '.join(sorted(CONTENT_TYPES))}; up to {filesizeformat(limit)}."
        )
        self.fields["file"].widget.attrs["data-max-bytes"] = str(limit)


class _VersionForm(forms.Form):
    """Names the exact version the attorney looked at, so a newer upload is never approved
    or sent back unseen."""

    submission = forms.IntegerField(widget=forms.HiddenInput)


class ApproveForm(_VersionForm):
    attestation_accepted = forms.BooleanField(
        label="I have read and accept the attestation",
        required=False,
        widget=forms.CheckboxInput(
            attrs={"required": True, "aria-describedby": "attestation-text"}
        ),
    )
    comments = forms.CharField(
        label="Comments for the record (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RequestChangesForm(_VersionForm):
    comments = forms.CharField(
        label="What must change (the vendor sees this)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "required": True}),
    )
    internal_notes = forms.CharField(
        label="Internal notes (firm only, never shown to the vendor)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DeliverForm(forms.Form):
    note = forms.CharField(label="Delivery note (optional)", required=False, max_length=500)


class ReviewQueueFilterForm(forms.Form):
    """The queue's filters. The matter is a search field (number or title), not a list of
    every supervised matter: an attorney may supervise hundreds, and rendering them as
    options was most of the page's cost (docs/performance.md). The template renders the
    fields with plain loops, not the widget templates."""

    matter = forms.CharField(label="Matter", required=False, max_length=100, strip=True)
    vendor = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    task_type = forms.ChoiceField(
        label="Task type", required=False, choices=[("", "All types"), *TaskType.choices]
    )

    def __init__(self, *args: Any, vendors: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vendor_field = self.fields["vendor"]
        assert isinstance(vendor_field, forms.TypedChoiceField)
        vendor_field.choices = [("", "All vendors"), *vendors]
