"""Two workers running the deadline job at once act on a due deadline once: the one that read the deadline
before the other withheld the deemed approval finds it gone under the request's lock and leaves it alone (one
history row, one ``deemed_approval.withheld`` event, so one notice)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.requests import service as requests_service
from service.requests.schemas import RequestWrite
from service.workflow import repository, service
from service.workflow.models import RequestDeadline
from service.workflow.schemas import ActionBody
from tests.workflow.flow import body_now, new_principal, today


def test_two_workers_withhold_a_deemed_approval_once(engine, settings, clean_database,  # noqa: ANN001
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(engine) as s:
        city = new_principal(s, "city", "submitter", "Stadt Essen")
        utility = new_principal(s, "utility", "submitter", "Stadtwerke Essen")
        coordinator = new_principal(s, "coordinator", "coordinator", "Koordination")
        mine, _ = requests_service.create(s, city, RequestWrite.model_validate(body_now()), settings)
        service.propose(s, coordinator, mine.id, today(), None, None, settings)
        service.accept(s, city, mine.id, ActionBody(), settings)
        # the same street, another owner, approved on days 5..14: mine (days 0..9) clashes with it
        theirs, _ = requests_service.create(s, utility, RequestWrite.model_validate(body_now()), settings)
        service.propose(s, coordinator, theirs.id, today() + timedelta(days=5), None, None, settings)
        service.accept(s, utility, theirs.id, ActionBody(), settings)
        service.approve(s, coordinator, theirs.id, ActionBody(override=True, reason="Test"), settings,
                        if_match=None)
        rid = mine.id
        due = s.get(RequestDeadline, rid).due_at
        s.commit()

    real_due_deadlines = repository.due_deadlines
    first: dict[str, service.DeadlineReport] = {}

    def due_then_the_other_worker_acts(session: Session, now, limit: int = 500):  # noqa: ANN001, ANN202
        found = real_due_deadlines(session, now, limit)
        if not first:  # worker B has read the deadline; worker A now acts on it and commits
            first["report"] = service.DeadlineReport()
            with Session(engine) as a:
                first["report"] = service.check_deadlines(a, settings, now=now)
                a.commit()
        return found

    monkeypatch.setattr(repository, "due_deadlines", due_then_the_other_worker_acts)
    with Session(engine) as b:
        second = service.check_deadlines(b, settings, now=due)
        b.commit()

    assert first["report"].withheld == [str(rid)]
    assert second.withheld == [] and second.skipped == [str(rid)]
    with Session(engine) as s:
        actions = s.scalars(text("select action from request_history where request_id = :id"), {"id": rid}).all()
        kinds = s.scalars(text("select kind from events where request_id = :id"), {"id": rid}).all()
        status = s.scalar(text("select status from site_requests where id = :id"), {"id": rid})
    assert actions.count("deemed_approval.withheld") == 1
    assert kinds.count("deemed_approval.withheld") == 1
    assert status == "accepted"
