"""Forms of the intake, client, party, people and closing pages. They only shape input; the
rules are the services' (`matters.intake`, `matters.services`, `matters.closing`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet

from lpo_tracker.fields import TIME_ZONE_CHOICES
from lpo_tracker.holiday_regions import subdivision_choices
from matters.conflicts import normalise_name
from matters.intake import MatterDraft, NewClient, PartyInput
from matters.models import Client, MatterRole, Party, PartyRole, PracticeArea


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return obj.get_full_name() or obj.get_username()


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return obj.get_full_name() or obj.get_username()


def firm_staff() -> QuerySet[User]:
    """Active users who are not vendor users, by name."""
    return (User.objects.filter(is_active=True, vendor_membership__isnull=True)
            .order_by("last_name", "first_name", "username"))


def attorneys() -> QuerySet[User]:
    return firm_staff().filter(attorney_profile__isnull=False)


def split_aliases(text: str) -> list[str]:
    """Aliases as typed: separated by semicolons or new lines (commas belong in names such
    as "First Lakeshore Bank, N.A.")."""
    return [alias.strip() for line in text.splitlines() for alias in line.split(";")
            if alias.strip()]


# --- Clients and parties --------------------------------------------------------------------


class ClientSearchForm(forms.Form):
    """The client list's filter (rendered by the shared _filters.html)."""

    q = forms.CharField(label="Name or code", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search"}))

    def query(self) -> str:
        return str(self.cleaned_data.get("q") or "").strip() if self.is_valid() else ""


class ClientForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Client
        fields = ["name", "code", "industry", "country", "contact_name", "contact_email",
                  "is_active"]


class PartyForm(forms.Form):
    name = forms.CharField(max_length=250)
    role = forms.ChoiceField(label="Kind", choices=PartyRole.choices)
    aliases = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Other names (former or trading names), separated by semicolons or one "
        "per line. The conflict search compares each of them.",
    )
    notes = forms.CharField(max_length=250, required=False)

    @classmethod
    def for_party(cls, party: Party, **kwargs: Any) -> PartyForm:
        return cls(initial={"name": party.name, "role": party.role,
                            "aliases": "; ".join(party.aliases or []), "notes": party.notes},
                   **kwargs)

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"name": data["name"], "role": data["role"],
                "aliases": split_aliases(data["aliases"]), "notes": data["notes"]}


class IntakePartyForm(forms.Form):
    name = forms.CharField(max_length=250, required=False)
    role = forms.ChoiceField(label="Kind", choices=PartyRole.choices, initial=PartyRole.ADVERSE)
    aliases = forms.CharField(max_length=500, required=False,
                              help_text="Separated by semicolons")


IntakePartyFormSet = forms.formset_factory(IntakePartyForm, extra=5, max_num=30,
                                          validate_max=True)


# --- Intake ---------------------------------------------------------------------------------


class IntakeForm(forms.Form):
    client = forms.ModelChoiceField(
        queryset=Client.objects.filter(is_active=True).order_by("name"), required=False,
        help_text="An existing client, or leave empty and enter a new one below.",
    )
    new_client_name = forms.CharField(label="New client: name", max_length=250, required=False)
    new_client_code = forms.SlugField(label="New client: billing code", max_length=20,
                                      required=False)
    new_client_country = forms.CharField(label="New client: country (ISO code)", max_length=2,
                                         required=False)
    title = forms.CharField(max_length=250)
    practice_area = forms.ChoiceField(choices=PracticeArea.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    responsible_attorney = PersonChoiceField(queryset=User.objects.none())
    supervising_attorneys = PeopleChoiceField(
        queryset=User.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Besides the responsible attorney, who always supervises.",
    )
    team = PeopleChoiceField(queryset=User.objects.none(), required=False,
                             widget=forms.SelectMultiple(attrs={"size": 6}),
                             help_text="Paralegals, associates, legal operations.")
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)
    holiday_country = forms.CharField(
        label="Holiday calendar: country", max_length=2,
        help_text="ISO code of the country whose public holidays the business-day clock skips.",
    )
    holiday_subdivision = forms.ChoiceField(
        label="Holiday calendar: region", required=False, choices=[],
        help_text="Asked where the country's holidays differ by region.",
    )
    budget = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2,
                                initial=Decimal("0"))
    currency = forms.CharField(max_length=3, initial="USD")
    client_consent_required = forms.BooleanField(
        label="Client consent to outsourcing required", required=False, initial=True,
        help_text="ABA Formal Opinion 08-451, Model Rule 1.6: confidential information "
        "leaves the firm only with the client's informed consent.",
    )
    consent_waiver_reason = forms.CharField(
        label="Why no consent is needed", required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when consent is not required; kept in the audit trail.",
    )
    checked = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {
            "time_zone": str(settings.FIRM_TIME_ZONE),
            "holiday_country": settings.FIRM_HOLIDAY_COUNTRY,
            "holiday_subdivision": settings.FIRM_HOLIDAY_SUBDIVISION,
            "team": [actor.pk],
            **kwargs["initial"],
        }
        super().__init__(*args, **kwargs)
        for name in ("responsible_attorney", "supervising_attorneys"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = attorneys()
        team = self.fields["team"]
        assert isinstance(team, forms.ModelChoiceField)
        team.queryset = firm_staff()
        country = (self.data.get(self.add_prefix("holiday_country")) if self.is_bound
                   else self.initial.get("holiday_country")) or ""
        region = self.fields["holiday_subdivision"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = region_choices(str(country))

    def clean_holiday_country(self) -> str:
        return str(self.cleaned_data["holiday_country"]).strip().upper()

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def draft(self, parties: Iterable[PartyInput]) -> MatterDraft:
        data = self.cleaned_data
        new_client = None
        if data["new_client_name"].strip():
            new_client = NewClient(name=data["new_client_name"], code=data["new_client_code"],
                                   country=data["new_client_country"].upper())
        return MatterDraft(
            title=data["title"], practice_area=data["practice_area"],
            responsible_attorney=data["responsible_attorney"], client=data["client"],
            new_client=new_client,
            supervising_attorneys=[user for user in data["supervising_attorneys"]
                                   if user != data["responsible_attorney"]],
            team=list(data["team"]), time_zone=data["time_zone"],
            holiday_country=data["holiday_country"],
            holiday_subdivision=data["holiday_subdivision"], budget=data["budget"],
            currency=data["currency"],
            client_consent_required=data["client_consent_required"],
            consent_waiver_reason=data["consent_waiver_reason"],
            description=data["description"], parties=tuple(parties),
        )


def region_choices(country: str) -> list[tuple[str, str]]:
    regions = subdivision_choices(country)
    if not regions:
        return [("", "The whole country (no regional holidays)")]
    return [("", "Choose the region…"), *regions]


def intake_parties(formset: Any) -> list[PartyInput]:
    return [PartyInput(name=form.cleaned_data["name"], role=form.cleaned_data["role"],
                       aliases=tuple(split_aliases(form.cleaned_data.get("aliases", ""))))
            for form in formset.forms
            if form.cleaned_data.get("name", "").strip()]


def draft_fingerprint(draft: MatterDraft) -> str:
    """What the conflict search was run on: the client and the parties, normalised. Opening
    the matter needs the fingerprint of the search the person saw."""
    client = (f"client:{draft.client.pk}" if draft.client is not None
              else f"new:{normalise_name(draft.new_client.name)}" if draft.new_client else "")
    parties = sorted(
        f"{party.role}:{normalise_name(party.name)}:"
        + "|".join(sorted(normalise_name(alias) for alias in party.aliases))
        for party in draft.parties
    )
    return hashlib.sha256("\n".join([client, *parties]).encode()).hexdigest()[:32]


# --- People, walls, closing -----------------------------------------------------------------


class MemberAddForm(forms.Form):
    user = PersonChoiceField(label="Person", queryset=User.objects.none())
    role = forms.ChoiceField(choices=MatterRole.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = firm_staff()


class MemberRemoveForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.all(), widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=MatterRole.choices, widget=forms.HiddenInput)


class WallAddForm(forms.Form):
    user = PersonChoiceField(label="Person to screen", queryset=User.objects.none())
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Why this person is screened (e.g. former counsel to "
                             "the adverse party). Kept in the audit trail.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(is_active=True).order_by(
            "last_name", "first_name", "username")


class WallRemoveForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.all(), widget=forms.HiddenInput)
    reason = forms.CharField(label="Why the wall comes down",
                             widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(forms.Form):
    note = forms.CharField(label="Closing note", required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
