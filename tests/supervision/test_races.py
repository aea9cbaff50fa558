"""Races on real PostgreSQL: two threads, two connections, one task.

Whatever order the database serialises them in, the outcome is one of the legal ones: exactly
one sign-off per task, and never an approved task whose sign-off is not of its latest version.
The "holding the lock" variants pause the first thread right after it has locked the task row,
so the second one is certain to arrive while the first is mid-transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, transaction

from lpo_tracker.audit.services import audit_verify_chain
from lpo_tracker.errors import InvalidTransition, RuleViolation
from matters import services as matters_services
from matters.models import SIGNED_STATES, Task, TaskStatus
from supervision import services
from supervision.models import SignOff, Submission
from supervision.services import latest_submission, signoff_record, submission_create
from tests import factories as f
from tests.conftest import Cast, build_cast
from tests.waits import EVENT_TIMEOUT_SECONDS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 3
HOLDER = "lock-holder"


@pytest.fixture
def cast() -> Cast:
    """Built and committed in the test's own transaction-less database."""
    return build_cast()


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in parallel threads released at the same instant by a barrier.

    Each result is the return value or the RuleViolation raised; anything else re-raises.
    """
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait(timeout=EVENT_TIMEOUT_SECONDS)
            return call()
        except RuleViolation as refusal:
            return refusal
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=EVENT_TIMEOUT_SECONDS) for future in futures]



def wait_until_another_session_is_blocked_by_this_one() -> None:
    """Poll PostgreSQL from inside the holder's transaction: is any backend waiting on us?

    The holder keeps its lock until then (an event, not a guess at how fast the machine is).
    """
    deadline = time.monotonic() + EVENT_TIMEOUT_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh pg_stat_activity
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity "
                           "WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid)))")
            row = cursor.fetchone()
            if row is not None and row[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError("the second thread never blocked on the task's row lock")
            time.sleep(0.02)


class LockHolder:
    """Pauses the thread named HOLDER inside its transaction, right after it has locked the
    task row: `latest_submission` is the first read after the lock in both `signoff_record`
    and `submission_create`."""

    def __init__(self) -> None:
        self.locked = threading.Event()


@pytest.fixture
def holder(monkeypatch: pytest.MonkeyPatch) -> LockHolder:
    holder = LockHolder()
    real = services.latest_submission

    def latest_after_a_pause(task: Task) -> Submission | None:
        if threading.current_thread().name == HOLDER:
            holder.locked.set()
            wait_until_another_session_is_blocked_by_this_one()
        return real(task)

    monkeypatch.setattr(services, "latest_submission", latest_after_a_pause)
    return holder


def run_first_holding_the_lock(
    holder: LockHolder, first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[Any, Any]:
    """`first` locks the task and pauses; `second` starts while the lock is held.

    Each result is the return value or the RuleViolation raised; anything else re-raises.
    """
    results: dict[str, Any] = {}

    def run(name: str, call: Callable[[], Any]) -> None:
        try:
            if name != HOLDER and not holder.locked.wait(timeout=EVENT_TIMEOUT_SECONDS):
                raise AssertionError("the first thread never took the lock")
            results[name] = call()
        except Exception as outcome:  # handed to the test's thread below
            results[name] = outcome
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(HOLDER, first), name=HOLDER),
               threading.Thread(target=run, args=("second", second), name="second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=EVENT_TIMEOUT_SECONDS)
    for outcome in results.values():
        if isinstance(outcome, Exception) and not isinstance(outcome, RuleViolation):
            raise outcome
    return results[HOLDER], results["second"]


def in_review(cast: Cast, title: str) -> Task:
    return cast.advance(cast.new_task(title=title), TaskStatus.IN_REVIEW)


def assert_no_approval_without_a_signoff_of_the_latest_version() -> None:
    for task in Task.objects.filter(status__in=SIGNED_STATES).select_related(
        "approved_signoff"
    ):
        latest = latest_submission(task)
        assert task.approved_signoff is not None
        assert latest is not None and task.approved_signoff.submission_id == latest.pk, task


def sign(attorney: Any, task: Task, submission: Submission | None = None) -> Callable[[], Any]:
    version = submission or latest_submission(task)
    assert version is not None
    f.opened(version, attorney)
    return lambda: signoff_record(actor=attorney, task=task, submission=version,
                                  attestation_accepted=True, confirmation=f.fresh_confirmation())


def upload(cast: Cast, task: Task) -> Callable[[], Any]:
    return lambda: submission_create(actor=cast.vendor_a_user, task=task,
                                     upload=f.pdf_upload("version raced in"))


# --- Two attorneys ---------------------------------------------------------------------------


def test_two_attorneys_signing_off_at_once_yield_exactly_one_signoff(cast: Cast) -> None:
    for round_number in range(ROUNDS):
        task = in_review(cast, f"Round {round_number}")

        results = run_together(sign(cast.attorney, task),
                               sign(cast.attorney2, task))

        signoffs = list(SignOff.objects.filter(task=task))
        assert len(signoffs) == 1
        winners = [r for r in results if isinstance(r, SignOff)]
        losers = [r for r in results if isinstance(r, RuleViolation)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert winners[0].pk == signoffs[0].pk
        assert isinstance(losers[0], InvalidTransition)
        assert losers[0].code == "wrong_state"
        saved = Task.objects.get(pk=task.pk)
        assert saved.status == TaskStatus.APPROVED
        assert saved.approved_signoff_id == signoffs[0].pk
    assert_no_approval_without_a_signoff_of_the_latest_version()
    assert audit_verify_chain().ok


def test_second_signer_waits_for_the_first_and_is_refused(
    cast: Cast, holder: LockHolder
) -> None:
    task = in_review(cast, "Held lock")

    first, second = run_first_holding_the_lock(
        holder, sign(cast.attorney, task), sign(cast.attorney2, task)
    )

    assert isinstance(first, SignOff) and first.attorney_id == cast.attorney.pk
    assert isinstance(second, InvalidTransition), second
    assert "cannot be approved now" in second.message
    assert SignOff.objects.filter(task=task).count() == 1


# --- Approval against a new upload -----------------------------------------------------------


def test_approval_racing_a_new_upload_never_leaves_a_stale_approval(cast: Cast) -> None:
    outcomes = set()
    for round_number in range(ROUNDS):
        task = in_review(cast, f"Upload race {round_number}")
        version1 = latest_submission(task)

        signed, uploaded = run_together(sign(cast.attorney, task, version1),
                                        upload(cast, task))

        assert isinstance(uploaded, Submission) and uploaded.version == 2, uploaded
        saved = Task.objects.get(pk=task.pk)
        # Both orders end with the new version waiting for review and no approval on it.
        assert saved.status == TaskStatus.SUBMITTED
        assert saved.approved_signoff_id is None
        if isinstance(signed, SignOff):
            outcomes.add("approval first, then withdrawn by the upload")
            assert signed.submission_id == version1.pk  # type: ignore[union-attr]
        else:
            outcomes.add("upload first, approval refused as stale")
            assert isinstance(signed, InvalidTransition), signed
            assert signed.code in {"stale_version", "wrong_state"}
            assert not SignOff.objects.filter(task=task).exists()
    assert outcomes  # which orders occurred is up to the scheduler
    assert_no_approval_without_a_signoff_of_the_latest_version()
    assert audit_verify_chain().ok


def test_upload_holding_the_lock_makes_the_racing_approval_stale(
    cast: Cast, holder: LockHolder
) -> None:
    task = in_review(cast, "Upload holds the lock")
    version1 = latest_submission(task)

    uploaded, signed = run_first_holding_the_lock(
        holder, upload(cast, task), sign(cast.attorney, task, version1)
    )

    assert isinstance(uploaded, Submission) and uploaded.version == 2
    # The task went back to submitted, which still awaits review; the version is what's stale.
    assert isinstance(signed, InvalidTransition), signed
    assert signed.code == "stale_version"
    assert not SignOff.objects.filter(task=task).exists()
    saved = Task.objects.get(pk=task.pk)
    assert (saved.status, saved.approved_signoff_id) == (TaskStatus.SUBMITTED, None)


def test_approval_holding_the_lock_is_withdrawn_by_the_racing_upload(
    cast: Cast, holder: LockHolder
) -> None:
    task = in_review(cast, "Approval holds the lock")
    version1 = latest_submission(task)

    signed, uploaded = run_first_holding_the_lock(
        holder, sign(cast.attorney, task, version1), upload(cast, task)
    )

    assert isinstance(signed, SignOff) and signed.submission_id == version1.pk  # type: ignore[union-attr]
    assert isinstance(uploaded, Submission) and uploaded.version == 2
    saved = Task.objects.get(pk=task.pk)
    assert (saved.status, saved.approved_signoff_id) == (TaskStatus.SUBMITTED, None)
    assert_no_approval_without_a_signoff_of_the_latest_version()
    assert audit_verify_chain().ok


# --- Locks are no wider than the task --------------------------------------------------------


def test_moving_a_task_does_not_lock_its_matter(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one task is being assigned (its row locked), another task can still be created
    on the same matter: the matter row is not locked along with the task."""
    locked, created = threading.Event(), threading.Event()
    real_check = matters_services._check_engagement

    def check_while_holding_the_lock(task: Task, engagement: Any) -> None:
        locked.set()
        # Keep the task lock until the other thread is done.
        created.wait(timeout=EVENT_TIMEOUT_SECONDS)
        real_check(task, engagement)

    monkeypatch.setattr(matters_services, "_check_engagement", check_while_holding_the_lock)
    results: dict[str, Any] = {}

    def assign() -> None:
        try:
            results["assign"] = matters_services.task_assign(
                actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)
        finally:
            connection.close()

    def create() -> None:
        try:
            assert locked.wait(timeout=EVENT_TIMEOUT_SECONDS)
            with transaction.atomic():
                with connection.cursor() as cursor:  # fail fast instead of queueing
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                results["create"] = matters_services.task_create(
                    actor=cast.staff_on, matter=cast.matter, title="Meanwhile",
                    task_type="document_review")
        except Exception as error:  # handed to the test's thread below
            results["create"] = error
        finally:
            created.set()
            connection.close()

    threads = [threading.Thread(target=assign), threading.Thread(target=create)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=EVENT_TIMEOUT_SECONDS)

    assert isinstance(results["create"], Task), results["create"]
    assert results["assign"].status == TaskStatus.ASSIGNED
