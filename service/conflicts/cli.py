"""``baustellen conflicts report|refresh``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.settings import Settings

app = typer.Typer(help="Conflicts between sites and against rules.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="conflicts")


def _factory(settings: Settings):  # noqa: ANN202
    from service.kit.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings))


@app.command("refresh")
def refresh() -> None:
    """Recompute the whole conflict graph (set-based PostGIS self-join) and the dig-once opportunities; record
    that they follow this code's rules revision (the worker does the same on its own when the rules changed).
    Then recompute the requests and rules changed while it ran (as the worker would within seconds)."""
    from service.conflicts import jobs, service
    from service.kit.db import session_scope

    settings = Settings()
    err = Console(stderr=True)
    factory = _factory(settings)
    with session_scope(factory) as session:
        stats = service.refresh_all(session, progress=lambda m: err.print(f"[dim]… {m}[/dim]"), settings=settings)
    table = Table("rows", "count", title="conflicts refreshed")
    for key, value in stats.items():
        table.add_row(key, str(value))
    Console().print(table)
    Console().print(f"stored conflicts follow rules revision {service.RULES_REVISION}")
    drained = jobs.drain(factory, settings, progress=lambda kind, target: err.print(
        f"[dim]… changed meanwhile: {kind} {target}[/dim]"))
    if drained.done or drained.left:
        Console().print(f"changed while it ran: {drained.done} recomputed"
                        + (f", {drained.left} still queued (the worker recomputes them)" if drained.left else ""))


@app.command("report")
def report(
    geojson: Annotated[Path | None, typer.Option(help="write the conflicts as a GeoJSON FeatureCollection")] = None,
    refresh_first: Annotated[bool, typer.Option("--refresh/--no-refresh", help="recompute before reporting")] = True,
) -> None:
    """How many conflicting pairs the stored requests contain, by kind (hard vs same owner)."""
    from service.cli import refused
    from service.conflicts import service
    from service.kit.db import session_scope
    from service.kit.encode import to_json

    if geojson:  # refuse a path that cannot be written before the (long) refresh, not after it
        problem = _unwritable(geojson)
        if problem:
            raise refused(f"--geojson {geojson}: {problem}")
    settings = Settings()
    with session_scope(_factory(settings)) as session:
        if refresh_first:
            service.refresh_all(session, settings=settings)
        counts = service.report_counts(session)
        features = service.report_features(session) if geojson else []
        state = service.rules_state(session, settings)
        pending = service.pending_count(session)
    table = Table("kind", "hard", "pairs / rows", title="Conflicts by kind")
    for row in counts["by_kind"]:
        table.add_row(row["kind"], "hard" if row["hard"] else "information", str(row["count"]))
    console = Console()
    console.print(table)
    console.print(f"request pairs with at least one hard conflict: [bold]{counts['hard_pairs']}[/bold]")
    console.print(f"request pairs with only same-owner information: [bold]{counts['same_owner_only_pairs']}[/bold]")
    console.print(f"requests against a moratorium or blackout: [bold]{counts['requests_against_rules']}[/bold]")
    if state.stale:
        console.print(f"[yellow]stored with rules revision {state.stored_revision} (this code: "
                      f"{state.current_revision}) or other distance settings: run `baustellen conflicts refresh` "
                      "or start the worker[/yellow]")
    if pending:
        console.print(f"[yellow]{pending} request(s) or rule(s) changed during a full refresh (or at the same "
                      "moment as a neighbouring request) wait for their conflicts to be recomputed: start the worker "
                      "or run `baustellen conflicts refresh`[/yellow]")
    if geojson:
        try:
            geojson.write_text(json.dumps(to_json({"type": "FeatureCollection", "features": features}),
                                          ensure_ascii=False), "utf-8")
        except OSError as exc:
            raise refused(f"--geojson {geojson}: cannot be written ({exc.strerror or exc})") from None
        console.print(f"{len(features)} conflicts written to {geojson}")


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written as a file, or None."""
    parent = path.parent
    if path.is_dir():
        return "is a directory, not a file"
    if not parent.is_dir():
        return f"no such directory {parent}"
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "not writable"
    return None
