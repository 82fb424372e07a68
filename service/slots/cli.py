"""``baustellen plan``: run a plan in this process, with a progress bar and a summary table."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        from_: Annotated[str, typer.Option("--from", help="first day of the plan, e.g. 2027-01-01")],
        to: Annotated[str, typer.Option(help="last day of the plan, e.g. 2028-12-31")],
        bbox: Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat")] = None,
        zone: Annotated[str | None, typer.Option(help="zone id instead of a bbox")] = None,
    ) -> None:
        """Plan every plannable request in the bbox (or zone) whose window overlaps from..to; writes slots."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from service.cli import refused, session_factory
        from service.kit.db import session_scope
        from service.kit.problems import Problem
        from service.requests.service import parse_bbox
        from service.settings import Settings
        from service.slots import service
        from service.slots.schemas import PlanCreate

        settings = Settings()
        factory = session_factory(settings)
        try:
            days = {}
            for option, value in (("--from", from_), ("--to", to)):
                try:
                    days[option] = date.fromisoformat(value)
                except ValueError as exc:
                    raise ValueError(f"{option} {value!r} is not a date like 2027-01-01") from exc
            body = PlanCreate.model_validate({
                "bbox": list(parse_bbox(bbox)) if bbox else None, "zone": zone,
                "from": days["--from"], "to": days["--to"],
            })
            with session_scope(factory) as session:
                run = service.create_plan(session, None, body, settings)
                plan_id = run.id
        except (Problem, ValueError) as exc:
            raise refused(getattr(exc, "detail", None) or str(exc)) from exc
        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(f"plan {plan_id}", total=1.0)
            try:
                status = service.run_plan(factory, plan_id, settings,
                                          on_progress=lambda p: bar.update(task, completed=p))
            except KeyboardInterrupt:
                # run_plan records only Exceptions: left running, a worker's requeue_orphaned would run it again
                service.mark_failed(factory, plan_id, settings, "interrupted (Ctrl-C) before the slots were written")
                typer.echo(f"plan {plan_id} interrupted: marked failed, no slots written", err=True)
                raise typer.Exit(130) from None
            bar.update(task, completed=1.0)
        with session_scope(factory) as session:
            run = service.get_plan(session, plan_id)
            _print(run)
        if status != "done":
            raise typer.Exit(1)


def _print(run) -> None:  # noqa: ANN001
    from rich.console import Console
    from rich.table import Table

    console = Console()
    params = run.params or {}
    if params.get("from_requested"):  # no slot is granted in the past
        console.print(f"--from {params['from_requested']} lies in the past: the plan starts today, {params['from']}.")
    if run.status != "done":
        console.print(f"[red]plan {run.id} {run.status}[/red]: {run.error}")
        return
    s, f = run.stats, run.fcfs
    table = Table(title=f"plan {run.id}: {params.get('from')} – {params.get('to')}")
    for col in ("", "plan", "FCFS"):
        table.add_column(col, justify="right")
    table.add_row("requests", str(s["requests"]), str(s["requests"]))
    table.add_row("placed", str(s["placed"]), str(f.get("placed", "")))
    table.add_row("unplaced", str(s["unplaced"]), str(f.get("unplaced", "")))
    table.add_row("unplaced work", str(s["objective"]["unplaced_work"]), str(f["objective"]["unplaced_work"]))
    table.add_row("weighted deviation", str(s["objective"]["weighted_deviation"]),
                  str(f["objective"]["weighted_deviation"]))
    table.add_row("days moved (total)", str(s["moved_days_total"]), str(f["moved_days_total"]))
    table.add_row("days moved (max)", str(s["moved_days_max"]), str(f["moved_days_max"]))
    table.add_row("fixed / skipped", f"{s['fixed']} / {s['skipped']}", "")
    table.add_row("conflicts", str(s["conflicts"]), "")
    table.add_row("solver", s["solver_status"], "")
    table.add_row("time (s)", f"{s.get('wall_time_s', s['build_time_s'] + s['solve_time_s']):.1f}", "")
    console.print(table)
