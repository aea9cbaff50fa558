import pytest

from matters.models import TaskStatus


@pytest.mark.django_db
def test_full_flow_reaches_delivered(cast):
    task = cast.advance(cast.task, TaskStatus.DELIVERED)
    assert task.status == TaskStatus.DELIVERED
    assert task.approved_signoff.sha256 == task.submissions.get().sha256
