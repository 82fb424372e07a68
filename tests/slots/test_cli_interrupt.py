"""Ctrl-C during `baustellen plan` marks the run failed ("interrupted"): left `running`, a worker would run it
again later (requeue_orphaned)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.cli import app as cli
from service.kit.db import session_scope
from service.slots import repository, service
from service.slots.models import PlanRun


def test_an_interrupted_plan_is_marked_failed(clean_database, database_url, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)

    def interrupted(factory, plan_id, settings, on_progress=None):  # noqa: ANN001, ANN202
        with session_scope(factory) as session:  # as run_plan does before it solves
            repository.get_plan(session, plan_id, for_update=True).status = "running"
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "run_plan", interrupted)
    result = CliRunner().invoke(cli, ["plan", "--bbox", "6.9,51.4,7.1,51.5", "--from", "2027-01-01",
                                      "--to", "2027-12-31"])
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output
    with Session(clean_database) as session:
        (run,) = session.scalars(select(PlanRun)).all()
        assert run.status == "failed" and "interrupted" in run.error and run.finished_at is not None
