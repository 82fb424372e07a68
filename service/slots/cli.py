"""``baustellen plan``: run a plan in this process, with a progress bar and a summary; ``plan show`` / ``plan list``
read past runs; ``baustellen slot lock`` / ``unlock`` fix a request's slot as the coordination office."""

from __future__ import annotations

import textwrap
import uuid
from datetime import date
from typing import Annotated, Any

import typer

# The summary keeps to this many columns (longer titles are cut with "…", reasons wrapped).
WIDTH = 80
# The plan's body fields as the command's options: errors name the option the user typed.
OPTIONS = {"from": "--from", "from_": "--from", "to": "--to", "bbox": "--bbox", "zone": "--zone"}


def option_error(exc: Exception) -> str:
    """A refusal of the plan's body (``InvalidField``, a pydantic error) worded with the command's options."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            parts.append(f"{OPTIONS.get(field, field)}: {err['msg'].removeprefix('Value error, ')}")
        return "; ".join(parts)
    field = getattr(exc, "field", None)
    if field in OPTIONS:
        detail = str(getattr(exc, "field_detail", "")).replace("is before from", "is before --from")
        return f"{OPTIONS[field]}: {detail}"
    return getattr(exc, "detail", None) or str(exc)


def cut(text: str | None, width: int) -> str:
    """``text`` on one line of at most ``width`` characters (cut with "…")."""
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def register(app: typer.Typer) -> None:
    plan_app = typer.Typer(help="Plan runs: run one (with --from/--to and --bbox or --zone), list or show them.")
    slot_app = typer.Typer(help="Slots of requests: lock or unlock one as the coordination office.",
                           no_args_is_help=True)
    app.add_typer(plan_app, name="plan")
    app.add_typer(slot_app, name="slot")

    @plan_app.callback(invoke_without_command=True)
    def plan(
        ctx: typer.Context,
        from_: Annotated[str | None, typer.Option("--from", help="first day of the plan, e.g. 2027-01-01")] = None,
        to: Annotated[str | None, typer.Option(help="last day of the plan, e.g. 2028-12-31")] = None,
        bbox: Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat")] = None,
        zone: Annotated[str | None, typer.Option(help="zone id instead of a bbox")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="compute the plan and its figures, write no slot")
                           ] = False,
    ) -> None:
        """Plan every plannable request in the bbox (or zone) whose window overlaps from..to; writes slots
        (not with --dry-run). `plan show PLAN_ID`, `plan list`: past runs."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from service.cli import refused, session_factory
        from service.kit.db import session_scope
        from service.kit.problems import Problem
        from service.requests.service import parse_bbox
        from service.settings import Settings
        from service.slots import service
        from service.slots.schemas import PlanCreate

        if ctx.invoked_subcommand is not None:
            if any(v is not None for v in (from_, to, bbox, zone)) or dry_run:
                raise refused(f"`plan {ctx.invoked_subcommand}` takes no --from, --to, --bbox, --zone or --dry-run")
            return
        settings = Settings()
        factory = session_factory(settings)
        try:
            days = {}
            for option, value in (("--from", from_), ("--to", to)):
                if value is None:
                    raise ValueError(f"missing option {option} (a date like 2027-01-01)")
                try:
                    days[option] = date.fromisoformat(value)
                except ValueError as exc:
                    raise ValueError(f"{option} {value!r} is not a date like 2027-01-01") from exc
            body = PlanCreate.model_validate({
                "bbox": list(parse_bbox(bbox)) if bbox else None, "zone": zone,
                "from": days["--from"], "to": days["--to"], "dry_run": dry_run,
            })
            with session_scope(factory) as session:
                run = service.create_plan(session, None, body, settings)
                plan_id = run.id
        except (Problem, ValueError) as exc:
            raise refused(option_error(exc)) from exc
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
            _print(run, _titles(session, run))
        if status != "done":
            raise typer.Exit(1)

    @plan_app.command("show")
    def show(plan_id: Annotated[str, typer.Argument(help="the plan run's id")],
             limit: Annotated[int, typer.Option(min=1, help="at most this many requests of each list")] = 20,
             ) -> None:
        """A plan run's summary and the requests it left unplaced (with the reason) and moved (with the dates)."""
        from service.cli import refused, session_factory
        from service.kit.db import session_scope
        from service.kit.problems import Problem
        from service.settings import Settings
        from service.slots import service

        try:
            pid = uuid.UUID(plan_id)
        except ValueError:
            raise refused(f"PLAN_ID: {plan_id!r} is not a plan run's id (baustellen plan list)") from None
        try:
            with session_scope(session_factory(Settings())) as session:
                run = service.get_plan(session, pid)
                _print(run, _titles(session, run))
                lists = {kind: service.plan_requests(session, pid, outcome=kind, cursor=None, limit=limit)
                         for kind in service.OUTCOME_KINDS}
        except Problem as exc:
            raise refused(exc.detail or str(exc)) from None
        _print_outcomes(lists)

    @plan_app.command("list")
    def list_runs(limit: Annotated[int, typer.Option(min=1, max=100, help="the newest this many runs")] = 20,
                  ) -> None:
        """Plan runs, newest first: id, period, placed / unplaced (or the status of a run not done)."""
        from service.cli import session_factory
        from service.kit.db import session_scope
        from service.settings import Settings
        from service.slots import service

        with session_scope(session_factory(Settings())) as session:
            runs, _ = service.list_plans(session, cursor=None, limit=limit)
        typer.echo(f"{'id':<36} {'period':<22} placed / unplaced")
        for r in runs:
            p, s = r["params"] or {}, r["statistics"] or {}
            result = f"{s['placed']} / {s['unplaced']}" if r["status"] == "done" and "placed" in s else r["status"]
            dry = " (dry run)" if p.get("dry_run") else ""
            typer.echo(f"{r['id']} {p.get('from')}..{p.get('to')} {result}{dry}")

    def lock_command(request_id: str, org: str | None, *, locked: bool) -> None:
        from service.auth import service as auth
        from service.auth.models import OrgKind, Role
        from service.cli import refused, session_factory
        from service.kit.db import session_scope
        from service.kit.problems import Problem
        from service.settings import Settings
        from service.slots import repository, service

        try:
            rid = uuid.UUID(request_id)
        except ValueError:
            raise refused(f"REQUEST_ID: {request_id!r} is not a request id") from None
        settings = Settings()
        try:
            with session_scope(session_factory(settings)) as session:
                office = _office(session, org)
                if office.kind != OrgKind.coordinator:
                    raise refused(f"--org: {office.name} is not a coordination office (kind coordinator)")
                principal = auth.system_principal(office, Role.coordinator)
                req = service.set_lock(session, principal, rid, locked=locked, settings=settings)
                warnings = service.lock_warnings(session, req) if locked else []
                slot = repository.get_slot(session, rid)
                line = (f"{'locked' if locked else 'unlocked'}: {cut(req.title, WIDTH - 10)}\n"
                        f"  slot {slot.start} – {slot.end} ({slot.status}), request {rid}")
        except Problem as exc:
            raise refused(exc.detail or str(exc)) from None
        typer.echo(line)
        for w in warnings:
            typer.echo(textwrap.fill(f"warning: {w}", WIDTH, subsequent_indent="  "))

    @slot_app.command("lock")
    def lock(request_id: Annotated[str, typer.Argument(help="the request's id")],
             org: Annotated[str | None, typer.Option(help="the coordination office's organisation id (needed when "
                                                          "there are several)")] = None) -> None:
        """Lock the request's slot (as `POST /v1/requests/{id}/slot/lock`): later plan runs keep it."""
        lock_command(request_id, org, locked=True)

    @slot_app.command("unlock")
    def unlock(request_id: Annotated[str, typer.Argument(help="the request's id")],
               org: Annotated[str | None, typer.Option(help="the coordination office's organisation id (needed "
                                                            "when there are several)")] = None) -> None:
        """Unlock the request's slot: a proposal the next plan run may move."""
        lock_command(request_id, org, locked=False)


def _office(session: Any, org: str | None) -> Any:  # noqa: ANN401 - an Organisation
    """The organisation the CLI acts for: ``--org``, else the only one of kind coordinator."""
    from service.auth import service as auth
    from service.auth.models import OrgKind
    from service.cli import refused
    from service.kit.problems import Problem

    if org is not None:
        try:
            return auth.get_organisation(session, uuid.UUID(org))
        except ValueError:
            raise refused(f"--org: {org!r} is not an organisation id (baustellen org list)") from None
        except Problem as exc:
            raise refused(f"--org: {exc.detail}") from None
    offices = [o for o in auth.list_organisations(session) if o.kind == OrgKind.coordinator]
    if len(offices) == 1:
        return offices[0]
    if not offices:
        raise refused("no organisation of kind coordinator: create one (baustellen org create --kind coordinator)")
    raise refused("several coordination offices: name one with --org (" + ", ".join(str(o.id) for o in offices) + ")")


def _titles(session: Any, run: Any) -> dict[str, str]:  # noqa: ANN401
    """Titles of the requests the summary names (the kept slots that break a rule)."""
    from service.slots import repository

    ids = list((run.stats or {}).get("kept_breaking_rules_requests") or {})
    return {str(r.id): r.title for r in repository.request_states(session, [uuid.UUID(i) for i in ids])}


def _number(value: Any) -> str:  # noqa: ANN401
    return f"{value:,}" if isinstance(value, int) else ("" if value is None else str(value))


def verdict(stats: dict[str, Any], fcfs: dict[str, Any]) -> str:
    """One line comparing the plan with first-come-first-served."""
    if not fcfs:
        return "FCFS comparison: none (nothing movable to plan)"
    p, f = stats["objective"], fcfs["objective"]
    if not fcfs.get("plan_better_or_equal", True):
        return "verdict: the plan is WORSE than FCFS (please report this)"
    if p["unplaced_work"] < f["unplaced_work"]:
        return (f"verdict: better than FCFS, {fcfs['unplaced_work_saved_pct']:g} % less unplaced work "
                f"({_number(p['unplaced_work'])} vs {_number(f['unplaced_work'])} weighted days)")
    if p["weighted_deviation"] < f["weighted_deviation"]:
        return (f"verdict: better than FCFS, as much work placed and {fcfs['deviation_saved_pct']:g} % less "
                f"weighted deviation")
    return "verdict: as good as FCFS (same unplaced work and deviation)"


def _print(run: Any, titles: dict[str, str] | None = None) -> None:  # noqa: ANN401
    from rich.console import Console
    from rich.table import Table

    console = Console(width=min(Console().width, WIDTH))

    def say(text: str = "") -> None:
        console.print(text, markup=False, highlight=False, overflow="fold")

    params = run.params or {}
    if params.get("from_requested"):  # no slot is granted in the past
        say(f"--from {params['from_requested']} lies in the past: the plan starts today, {params['from']}.")
    area = f"zone {params['zone']}" if params.get("zone") else f"bbox {','.join(map(str, params.get('bbox') or []))}"
    say(f"plan {run.id}")
    say(cut(f"{params.get('from')} – {params.get('to')}, {area}", WIDTH))
    if params.get("dry_run"):
        say("DRY RUN: figures only, no slot was written")
    if run.status != "done":
        say(f"plan {run.status}: {run.error or ''}".rstrip(": "))
        return
    s, f = run.stats, run.fcfs or {}
    fo = f.get("objective") or {}
    table = Table(box=None, pad_edge=False)
    table.add_column("")
    for col in ("plan", "FCFS"):
        table.add_column(col, justify="right")
    rows = [
        ("requests planned", s["requests"], s["requests"] if f else None),
        ("placed", s["placed"], f.get("placed")),
        ("unplaced", s["unplaced"], f.get("unplaced")),
        ("unplaced work (weighted days)", s["objective"]["unplaced_work"], fo.get("unplaced_work")),
        ("weighted deviation (weighted days)", s["objective"]["weighted_deviation"], fo.get("weighted_deviation")),
        ("days moved, total", s["moved_days_total"], f.get("moved_days_total")),
        ("days moved, max", s["moved_days_max"], f.get("moved_days_max")),
        ("requests moved", s.get("moved_requests"), None),
        ("fixed slots worked around", s["fixed"], None),
        ("skipped (not planned by this run)", s["skipped"], None),
        ("kept slots breaking a hard rule", s.get("kept_breaking_rules", 0), None),
        ("conflict pairs in the problem", s["conflicts"], None),
        ("violations (checker)", s.get("violations", 0), None),
        ("solver", s["solver_status"], None),
        ("time (s)", f"{s.get('wall_time_s', s['build_time_s'] + s['solve_time_s']):.1f}", None),
    ]
    for label, a, b in rows:
        table.add_row(label, _number(a), _number(b))
    console.print(table)
    say(verdict(s, f))
    written = s.get("slots") or {}
    if written:
        say("slots written: " + ", ".join(f"{written[k]} {k}" for k in ("proposed", "unchanged", "unplaced", "stale")
                                          if k in written))
    reasons = s.get("skipped_by_reason") or {}
    if reasons:
        say(f"skipped {s['skipped']}:")
        for why, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0])):  # JSONB keeps no key order
            say(cut(f"  {n:>5}  {why}", WIDTH))
    breaking = s.get("kept_breaking_rules_requests") or {}
    if breaking:
        say(f"kept slots that break a hard rule ({s['kept_breaking_rules']}): propose other dates or ask the owner")
        for rid, found in breaking.items():
            title = (titles or {}).get(rid, "")
            say(cut(f"  {rid} {title}", WIDTH))
            say(f"      slot {found['start']}..{found['end']} breaks:")
            for rule in found["rules"]:
                say(cut(f"        {_rule_text(rule)}", WIDTH))
    say(f"details: baustellen plan show {run.id}")


def _rule_text(r: dict[str, Any]) -> str:
    if r["kind"] in ("blackout", "moratorium"):
        return f"{r['kind']} \"{r['name']}\" {r['start']}..{r['end']}"
    return f"{r['kind']} conflict with {r['request_id']}"


def _print_outcomes(lists: dict[str, dict[str, Any]]) -> None:
    for kind in ("unplaced", "moved"):
        got = lists[kind]
        total, items = got["counts"][kind], got["items"]
        shown = f" (the first {len(items)})" if len(items) < total else ""
        order = ", most days first" if kind == "moved" else ""
        typer.echo(f"\n{kind} {total}{order}{shown}:")
        for x in items:
            typer.echo(cut(f"  {x['request_id']} {x.get('title') or ''}", WIDTH))
            if kind == "unplaced":
                why = (x.get("reason") or {}).get("en") or ""
                typer.echo(textwrap.fill(why, WIDTH, initial_indent="      ", subsequent_indent="      "))
            else:
                later = "+" if x["start"] >= x["preferred_start"] else "-"
                was = (f", held {x['previous_start']} before" if x.get("previous_start")
                       and x["previous_start"] != x["start"] else "")
                typer.echo(f"      {x['start']}..{x['end']}, wanted {x['preferred_start']} "
                           f"({later}{x['deviation_days']} days){was}")
