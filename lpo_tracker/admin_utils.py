"""What every app's admin shares: audited writes, read-only evidence, transition actions and
a few display helpers.

The admin is one more client of the rules, not a way around them:

1. Every add, change and delete made through it is recorded in the audit trail, in the same
   transaction as the change (the admin wraps its add, change and delete views in one).
2. A change writes only the fields the form changed (`save(update_fields=…)`), so an admin
   edit never writes back a stale status over a transition a service made meanwhile.
3. Evidence is view-only; state changes are admin actions that call the services.
4. Ethical walls bind the admin too (`MatterWallsAdmin`): a screened user, superuser
   included, finds nothing of the matter in any list, search, autocomplete, change, history
   or delete page, and an object they may not see answers exactly like a missing one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import RuleViolation

ModelT = TypeVar("ModelT", bound=models.Model)

# Fields that name who created a row: the admin fills them in, nobody types them.
CREATOR_FIELDS = ("created_by", "recorded_by")


def request_actor(request: HttpRequest) -> User:
    """The signed-in user, typed for the services (the admin only serves signed-in staff)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


# --- Display helpers ----------------------------------------------------------------------


def short_hash(value: str, length: int = 12) -> str:
    return f"{value[:length]}…" if len(value) > length else value


def human_size(num_bytes: int | None) -> str:
    return "" if num_bytes is None else str(filesizeformat(num_bytes))


def pretty_json(value: Any) -> SafeString:
    text = json.dumps(value, indent=2, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html('<pre class="lpo-json">{}</pre>', text)  # lpo/admin.css: no inline style


# --- Audit of admin writes ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A field value as the audit trail stores it: files by name, related rows by key."""
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _concrete_fields(obj: models.Model, names: Iterable[str]) -> list[models.Field[Any, Any]]:
    fields: list[models.Field[Any, Any]] = []
    for name in names:
        try:
            field = obj._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if isinstance(field, models.Field) and field.concrete and not field.many_to_many:
            fields.append(field)
    return fields


def _snapshot(
    obj: models.Model, fields: Iterable[models.Field[Any, Any]] | None = None
) -> dict[str, Any]:
    chosen = obj._meta.concrete_fields if fields is None else fields
    return {field.name: _plain(field.value_from_object(obj)) for field in chosen}


def _matter_id_of(obj: models.Model) -> int | None:
    if obj._meta.label_lower == "matters.matter":
        return int(obj.pk)
    matter_id = getattr(obj, "matter_id", None)
    return matter_id if isinstance(matter_id, int) else None


def _audit(
    request: HttpRequest,
    action: str,
    obj: models.Model,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit_record(
        actor=request.user,
        action=action,
        obj=obj,
        matter_id=_matter_id_of(obj),
        before=before,
        after=after,
    )


def _stamp_creator(obj: models.Model, request: HttpRequest) -> None:
    present = {field.name for field in obj._meta.concrete_fields}
    for name in CREATOR_FIELDS:
        if name in present and getattr(obj, f"{name}_id") is None:
            setattr(obj, name, request_actor(request))


def _save_changes(
    request: HttpRequest, obj: models.Model, changed: Iterable[str], initial: dict[str, Any]
) -> None:
    """Write only the changed fields (plus auto_now stamps) and audit before/after."""
    fields = _concrete_fields(obj, changed)
    if not fields:
        return
    before = {field.name: _plain(initial.get(field.name)) for field in fields}
    auto_now = [f.name for f in obj._meta.concrete_fields if getattr(f, "auto_now", False)]
    obj.save(update_fields=[field.name for field in fields] + auto_now)
    _audit(request, "admin.change", obj, before=before, after=_snapshot(obj, fields))


def _save_new(request: HttpRequest, obj: models.Model) -> None:
    _stamp_creator(obj, request)
    obj.save()
    _audit(request, "admin.add", obj, before=None, after=_snapshot(obj))


def _delete(request: HttpRequest, obj: models.Model) -> None:
    _audit(request, "admin.delete", obj, before=_snapshot(obj), after=None)
    obj.delete()


class LpoModelAdmin(admin.ModelAdmin):
    """The base of every editable admin: audited, partial saves; optional bulk delete."""

    allow_bulk_delete = True

    class Media:
        css = {"all": ["lpo/admin.css"]}

    # Django 6 makes https the default scheme of URL form fields; opt in now.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self.allow_bulk_delete:
            actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: Any) -> None:
        if change:
            _save_changes(request, obj, form.changed_data, form.initial)
        else:
            _save_new(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: Any) -> None:
        initial_by_pk = {f.instance.pk: f.initial for f in formset.initial_forms}
        formset.save(commit=False)  # fills new/changed/deleted_objects without writing
        for obj in formset.deleted_objects:
            _delete(request, obj)
        for obj in formset.new_objects:
            _save_new(request, obj)
        for obj, changed in formset.changed_objects:
            _save_changes(request, obj, changed, initial_by_pk.get(obj.pk, {}))
        formset.save_m2m()

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        _delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        # The "delete selected" action, unlike the delete view, runs outside a transaction.
        with transaction.atomic():
            for obj in queryset:
                _delete(request, obj)


# --- Ethical walls ------------------------------------------------------------------------


def without_walled_matters(queryset: models.QuerySet[Any], user: Any, matter_path: str
                           ) -> models.QuerySet[Any]:
    """`queryset` minus every row of a matter `user` is screened from. `matter_path` is the
    lookup from the row to its matter ("matter", "task__matter", "" for matters themselves,
    "matter_id" for a plain id column). A wall beats every grant, superuser included."""
    wall = apps.get_model("matters", "EthicalWall")
    walled = wall.objects.filter(user_id=getattr(user, "pk", None) or 0).values("matter_id")
    return queryset.exclude(**{f"{matter_path}__in" if matter_path else "pk__in": walled})


class MatterWallsAdmin:
    """For every admin (and inline) that reaches matter data; set `matter_path`.

    1. Every queryset the admin builds starts from `get_queryset`: the changelist, its search
       and filters, autocomplete answers, and the object lookup of the change, history and
       delete pages. Rows of a walled matter are not in it, so a screened user's request for
       one is answered like a request for a row that does not exist.
    2. The history page asks for the model permission before looking the object up (Django
       looks first): without it, an existing and a missing object both answer 403.
    """

    matter_path = "matter"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return self.without_walls(super().get_queryset(request),  # type: ignore[misc]
                                  request.user)

    def without_walls(self, queryset: models.QuerySet[Any], user: Any) -> models.QuerySet[Any]:
        """Override where the matter is not reachable by a lookup path."""
        return without_walled_matters(queryset, user, self.matter_path)

    def history_view(self, request: HttpRequest, object_id: str,
                     extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        response: HttpResponse = super().history_view(  # type: ignore[misc]
            request, object_id, extra_context)
        return response


class ViewOnlyAdmin(LpoModelAdmin):
    """Rows only services write: evidence (the database itself refuses UPDATE and DELETE on
    the audit trail, submissions and sign-offs), grants, walls and history."""

    allow_bulk_delete = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    """Rows shown on their parent for context; each opens in its own admin page."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


# --- Transition actions -------------------------------------------------------------------


def run_for_each(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[ModelT],
    *,
    call: Callable[[ModelT], object],
    describe: Callable[[ModelT], str],
    done: str,
) -> None:
    """Call a service for each selected row; a refusal is reported per row, never a 500.

    1. Each call is its own unit of work: one refusal does not undo the others.
    2. A `RuleViolation` becomes an error message naming the row and the rule.
    3. A closing message counts the rows that went through, e.g. "Cancelled 2 of 3 tasks".
    """
    total = succeeded = 0
    for obj in objects:
        total += 1
        try:
            call(obj)
        except RuleViolation as refusal:
            model_admin.message_user(request, f"{describe(obj)}: {refusal}", level=messages.ERROR)
        else:
            succeeded += 1
    noun = (
        model_admin.model._meta.verbose_name_plural
        if total != 1
        else (model_admin.model._meta.verbose_name)
    )
    model_admin.message_user(
        request,
        f"{done} {succeeded} of {total} selected {noun}.",
        level=messages.SUCCESS if succeeded else messages.WARNING,
    )
