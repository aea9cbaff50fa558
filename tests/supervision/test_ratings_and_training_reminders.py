"""The responsible attorney's rating of a vendor at an engagement's end (who, when, once; the
page for the whole cast; the scorecard section and its fixed query count), and the expiry
reminders of staff training (to the person and the vendor manager, each threshold once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation
from matters.closing import engagement_end
from matters.models import Engagement, EngagementStatus
from supervision.models import EngagementRating, Notification, ReminderKind, ReminderRecord
from supervision.ratings import engagement_rate
from supervision.reminders import reminders_sweep
from tests import factories as f
from tests.conftest import Cast
from tests.vendors.builders import vendor_manager
from vendors.models import StaffTraining, TrainingTopic, VendorUser

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
SCORES: dict[str, Any] = {"quality": 4, "timeliness": 5, "communication": 3, "value": 4}


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def ended(cast: Cast) -> Engagement:
    return engagement_end(actor=cast.staff_on, engagement=cast.engagement_a,
                          reason="Review complete")


# --- Ratings: the service -------------------------------------------------------------------


def test_only_the_responsible_attorney_rates_and_only_after_the_end(cast: Cast) -> None:
    assert cast.matter.responsible_attorney == cast.attorney
    with pytest.raises(InvalidTransition, match="ended"):
        engagement_rate(actor=cast.attorney, engagement=cast.engagement_a, **SCORES)
    engagement = ended(cast)
    for outsider in (cast.attorney2, cast.staff_on, cast.admin, cast.vendor_a_user,
                     cast.lapsed_attorney, cast.screened):
        with pytest.raises(NotEligible):
            engagement_rate(actor=outsider, engagement=engagement, **SCORES)
    rating = engagement_rate(actor=cast.attorney, engagement=engagement, comments="Solid.",
                             **SCORES)
    assert (rating.quality, rating.value, rating.rated_by) == (4, 4, cast.attorney)
    event = AuditEvent.objects.get(action="engagement.rated")
    assert event.matter_id == cast.matter.pk and (event.after or {})["timeliness"] == 5


def test_one_rating_per_engagement_and_scores_from_1_to_5(cast: Cast) -> None:
    engagement = ended(cast)
    with pytest.raises(RuleViolation, match="1 to 5"):
        engagement_rate(actor=cast.attorney, engagement=engagement,
                        **{**SCORES, "quality": 6})
    with pytest.raises(RuleViolation):
        engagement_rate(actor=cast.attorney, engagement=engagement,
                        **{**SCORES, "value": 0})
    engagement_rate(actor=cast.attorney, engagement=engagement, **SCORES)
    with pytest.raises(InvalidTransition, match="already rated"):
        engagement_rate(actor=cast.attorney, engagement=engagement, **SCORES)
    assert EngagementRating.objects.count() == 1


def test_the_database_refuses_a_second_rating_and_a_bad_score(cast: Cast) -> None:
    from django.db import IntegrityError, transaction

    engagement = ended(cast)
    EngagementRating.objects.create(engagement=engagement, rated_by=cast.attorney, **SCORES)
    with pytest.raises(IntegrityError), transaction.atomic():
        EngagementRating.objects.create(engagement=engagement, rated_by=cast.attorney,
                                        **SCORES)
    other = Engagement.objects.get(pk=cast.engagement_b.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        EngagementRating.objects.create(engagement=other, rated_by=cast.attorney2,
                                        **{**SCORES, "communication": 9})


# --- Ratings: the page ----------------------------------------------------------------------


def test_the_rating_page_every_user_of_the_cast(cast: Cast) -> None:
    engagement = ended(cast)
    url = reverse("supervision:engagement_rating", args=[engagement.pk])
    form = {**SCORES, "comments": "Careful privilege calls."}
    # Staff who may see the matter but are not its responsible attorney: 403.
    for who in ("staff_on", "attorney2", "lapsed_attorney"):
        client = client_for(getattr(cast, who))
        assert client.get(url).status_code == 403, who
        assert client.post(url, form).status_code == 403, who
    # Those who may not see the matter, and vendor users: 404.
    for who in ("staff_off", "screened", "vendor_a_user", "vendor_b_user"):
        client = client_for(getattr(cast, who))
        assert client.get(url).status_code == 404, who
        assert client.post(url, form).status_code == 404, who
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    assert not EngagementRating.objects.exists()

    attorney = client_for(cast.attorney)
    assert attorney.get(url).status_code == 200
    assert attorney.post(url, {"quality": 4}).status_code == 400
    assert attorney.post(url, form).status_code == 302
    assert EngagementRating.objects.get().comments == "Careful privilege calls."
    # Afterwards the rating is shown, to the team too, and a second post is refused.
    assert "Careful privilege calls." in client_for(cast.staff_on).get(url).content.decode()
    assert attorney.post(url, form).status_code == 403


def test_an_active_engagement_shows_why_it_cannot_be_rated_yet(cast: Cast) -> None:
    url = reverse("supervision:engagement_rating", args=[cast.engagement_a.pk])
    page = client_for(cast.attorney).get(url)
    assert page.status_code == 200
    assert "once the engagement has ended" in page.content.decode()
    assert client_for(cast.attorney).post(url, SCORES).status_code == 403


# --- Ratings: the scorecard -----------------------------------------------------------------


def test_the_scorecard_shows_the_ratings_in_a_fixed_number_of_queries(
    cast: Cast, django_assert_num_queries: Callable[..., Any]
) -> None:
    manager = vendor_manager()
    client = client_for(manager)
    url = reverse("reports:scorecards")
    engagement_rate(actor=cast.attorney, engagement=ended(cast), comments="Careful work.",
                    **SCORES)

    def count() -> int:
        with django_assert_num_queries(SCORECARD_QUERIES) as context:
            response = client.get(url)
        assert response.status_code == 200
        assert "Careful work." in response.content.decode()
        return len(context.captured_queries)

    few = count()
    for index in range(4):
        matter = f.matter(actor=cast.admin, responsible=cast.attorney, title=f"Matter {index}")
        # Test set-up: an engagement that has ended (how it ends is tested in matters).
        engagement = Engagement.objects.create(
            matter=matter, vendor=f.vetted_vendor(name=f"Vendor {index}"), scope="Review",
            status=EngagementStatus.CLOSED)
        engagement_rate(actor=cast.attorney, engagement=engagement, comments=f"Note {index}",
                        **SCORES)
    assert count() == few


# The scorecard page's queries before the ratings section, plus its two: the means per
# vendor, the latest comments.
SCORECARD_QUERIES = 17  # 11 before the section, 4 for the QC figures, 2 for it


def test_a_screened_reader_does_not_see_the_walled_matters_ratings(cast: Cast) -> None:
    from matters.services import wall_add

    engagement_rate(actor=cast.attorney, engagement=ended(cast), comments="Walled remark.",
                    **SCORES)
    manager = vendor_manager()
    wall_add(actor=cast.admin, matter=cast.matter, user=manager, reason="Conflict")
    page = client_for(manager).get(reverse("reports:scorecards"))
    assert "Walled remark." not in page.content.decode()


# --- Training expiry reminders --------------------------------------------------------------


def test_training_expiry_is_told_at_30_7_and_1_days_each_once(cast: Cast) -> None:
    vendor = cast.engagement_a.vendor
    vendor.manager = cast.staff_on
    vendor.save(update_fields=["manager"])
    member = VendorUser.objects.get(user=cast.vendor_a_user)
    expires = dt.date(2027, 3, 31)
    StaffTraining.objects.filter(member=member, topic=TrainingTopic.DATA_PROTECTION).delete()
    [training] = f.train(member, topics=(TrainingTopic.DATA_PROTECTION,),
                         completed_on=dt.date(2026, 3, 31), expires_on=expires)

    def sweep_days_before(days: int) -> list[str]:
        noon = dt.datetime.combine(expires - dt.timedelta(days=days), dt.time(12),
                                   tzinfo=NEW_YORK)
        reminders_sweep(now=noon)
        return sorted(record.threshold for record in ReminderRecord.objects.filter(
            kind=ReminderKind.TRAINING_EXPIRING))

    assert sweep_days_before(31) == []
    assert sweep_days_before(30) == ["30d:manager", "30d:person"]
    assert sweep_days_before(20) == ["30d:manager", "30d:person"]
    assert sweep_days_before(5) == ["30d:manager", "30d:person", "7d:manager", "7d:person"]
    sweep_days_before(1)
    sweep_days_before(1)  # a second sweep records nothing twice
    assert ReminderRecord.objects.filter(kind=ReminderKind.TRAINING_EXPIRING).count() == 6
    assert set(ReminderRecord.objects.filter(kind=ReminderKind.TRAINING_EXPIRING)
               .values_list("object_id", flat=True)) == {training.pk}
    to_person = Notification.objects.filter(kind=ReminderKind.TRAINING_EXPIRING,
                                            user=cast.vendor_a_user)
    assert to_person.count() == 3
    assert all(n.url == reverse("portal:credentials") for n in to_person)
    to_manager = Notification.objects.filter(kind=ReminderKind.TRAINING_EXPIRING,
                                             user=cast.staff_on)
    assert to_manager.count() == 3
    subjects = [message.subject for message in mail.outbox
                if "training" in message.subject]
    assert len(subjects) == 6 and "Data protection training" in subjects[0]


def test_renewed_training_and_deactivated_people_are_not_chased(cast: Cast) -> None:
    member = VendorUser.objects.get(user=cast.vendor_a_user)
    expires = dt.date(2027, 3, 31)
    f.train(member, topics=(TrainingTopic.CONFIDENTIALITY,), completed_on=dt.date(2026, 1, 1),
            expires_on=expires)  # the factory's 2099 record renews it
    b_member = VendorUser.objects.get(user=cast.vendor_b_user)
    StaffTraining.objects.filter(member=b_member).delete()
    f.train(b_member, topics=(TrainingTopic.CONFIDENTIALITY,), completed_on=dt.date(2026, 1, 1),
            expires_on=expires)
    VendorUser.objects.filter(pk=b_member.pk).update(is_active=False)
    reminders_sweep(now=dt.datetime(2027, 3, 25, 12, tzinfo=NEW_YORK))
    assert not ReminderRecord.objects.filter(kind=ReminderKind.TRAINING_EXPIRING).exists()
