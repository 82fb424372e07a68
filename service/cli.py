"""The ``baustellen`` command. Every part runs on its own, configured by ``BAUSTELLEN_*`` variables."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from typer.core import TyperGroup

from service.auth.models import OrgKind, Role
from service.domains import modules
from service.kit.schema import alembic_config
from service.settings import Settings, SetupError, describe_settings_error


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class _Commands(TyperGroup):
    """The root command: what every command may run into before it does anything of its own (invalid
    ``BAUSTELLEN_*`` settings, a database it cannot reach, one the migrations never ran on, a missing project
    file) ends it with one line on stderr and exit code 2, not a traceback."""

    def invoke(self, ctx):  # noqa: ANN001, ANN201
        try:
            return super().invoke(ctx)
        except ValidationError as e:
            if e.title != Settings.__name__:
                raise
            message = describe_settings_error(e)
        except SettingsError as e:
            message = describe_settings_error(e)
        except SetupError as e:
            message = str(e)
        except OperationalError as e:
            message = f"database: {_first_line(e)} (check BAUSTELLEN_DATABASE_URL and that the server is up)"
        except ArgumentError as e:
            message = f"BAUSTELLEN_DATABASE_URL: {_first_line(e)}"
        except ProgrammingError as e:
            if getattr(e.orig, "sqlstate", None) != "42P01":  # undefined_table: the migrations did not run
                raise
            message = f"database: {_first_line(e)}: run `baustellen db upgrade`"
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2)


app = typer.Typer(help="Baustellenmanagement Ruhr: slot system for construction sites.", no_args_is_help=True,
                  cls=_Commands)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
demo_app = typer.Typer(help="The bundled Ruhr example.", no_args_is_help=True)
import_app = typer.Typer(help="Import published site data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(key_app, name="key")
app.add_typer(demo_app, name="demo")
app.add_typer(import_app, name="import")

console = Console(stderr=True)


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def session_factory(settings: Settings):  # noqa: ANN201 - sessionmaker
    from service.kit.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings), settings)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (``alembic upgrade head``), then scrub again the stored public titles of the requests made
    with older scrubbing rules (``SCRUB_REVISION``)."""
    from alembic import command
    from alembic.util import CommandError

    from service.feeds.common import SCRUB_REVISION
    from service.kit.db import session_scope
    from service.requests import jobs as request_jobs
    from service.requests import repository as request_repository

    settings = Settings()
    try:
        command.upgrade(alembic_config(settings), revision)
    except CommandError as e:  # an unknown revision
        raise refused(_first_line(e)) from None
    console.print(f"[green]database at {revision}[/green]")
    factory = session_factory(settings)
    with session_scope(factory) as session:
        current_schema = request_repository.has_public_title_rev(session)
    if not current_schema:  # upgraded to a revision before 0024, which records the revision of the rules
        return
    total = request_jobs.refresh_public_titles(factory)
    console.print(f"public titles: {total.refreshed} refreshed (scrubbing rules revision {SCRUB_REVISION}, "
                  f"{total.changed} changed)")


# ignore_unknown_options: `db downgrade -1` (one step back) is the revision -1, not an unknown option
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION: a revision id, -1 for one step back, ``base`` for an empty schema."""
    from alembic import command
    from alembic.util import CommandError

    from service.kit.db import make_engine
    from service.kit.schema import database_heads

    settings = Settings()
    try:
        command.downgrade(alembic_config(settings), revision)
    except CommandError as e:  # an unknown revision, or one ahead of the database
        raise refused(_first_line(e)) from None
    engine = make_engine(settings)
    try:
        console.print(f"[green]database at {', '.join(sorted(database_heads(engine))) or 'base'}[/green]")
    finally:
        engine.dispose()


def refused(message: str) -> typer.Exit:
    """Print why a command was refused (no traceback) and return the exit to raise. Plain text: a message may
    hold brackets (``features[1]``) that rich would take for markup."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@org_app.command("create")
def org_create(name: Annotated[str, typer.Option()], kind: Annotated[OrgKind, typer.Option()]) -> None:
    """Create an organisation and print its id."""
    from pydantic import ValidationError

    from service.auth import service as auth
    from service.auth.schemas import OrganisationCreate
    from service.kit.db import session_scope
    from service.kit.problems import Problem

    try:
        body = OrganisationCreate(name=name, kind=kind)
        with session_scope(session_factory(Settings())) as session:
            org_id = auth.create_organisation(session, name=body.name, kind=body.kind).id
    except ValidationError as e:
        raise refused("; ".join(f"--{err['loc'][0]}: {err['msg']}" for err in e.errors())) from None
    except Problem as e:
        raise refused(e.detail) from None
    typer.echo(org_id)


@org_app.command("list")
def org_list() -> None:
    from service.auth import service as auth
    from service.kit.db import session_scope

    table = Table("id", "name", "kind")
    table.columns[0].no_wrap = True  # a cut id is useless for `key create --org`
    with session_scope(session_factory(Settings())) as session:
        for org in auth.list_organisations(session):
            table.add_row(str(org.id), org.name, org.kind)
    Console().print(table)


@key_app.command("create")
def key_create(org: Annotated[uuid.UUID, typer.Option()], role: Annotated[Role, typer.Option()] = Role.submitter,
               ) -> None:
    """Create an API key and print it. It is shown only this once."""
    from service.auth import service as auth
    from service.kit.db import session_scope
    from service.kit.problems import InvalidField, Problem

    try:
        with session_scope(session_factory(Settings())) as session:
            _, secret = auth.create_key(session, org_id=org, role=role)
    except InvalidField as e:  # a role the organisation may not have
        raise refused(f"--{e.field}: {e.field_detail}") from None
    except Problem as e:
        raise refused(f"--org: {e.detail}") from None
    typer.echo(secret)


@key_app.command("list")
def key_list(org: Annotated[uuid.UUID, typer.Option()]) -> None:
    """The organisation's keys (no secrets): id, role, prefix, created, revoked."""
    from service.auth import service as auth
    from service.kit.db import session_scope
    from service.kit.problems import Problem
    from service.kit.time import tz

    settings = Settings()
    zone = tz(settings)
    table = Table("id", "role", "prefix", f"created ({zone.key})", "revoked")
    for column in table.columns:  # a cut id is useless for `key revoke`, a cut prefix for finding a leaked key
        column.no_wrap = True
    try:
        with session_scope(session_factory(settings)) as session:
            org_row = auth.get_organisation(session, org)
            for k in auth.list_keys(session, auth.system_principal(org_row, Role.admin), org):
                table.add_row(str(k.id), k.role, k.prefix, f"{k.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
                              f"{k.revoked_at.astimezone(zone):%Y-%m-%d %H:%M}" if k.revoked_at else "")
    except Problem as e:
        raise refused(f"--org: {e.detail}") from None
    Console(width=max(Console().width, 120)).print(table)  # whole ids, prefixes and times on any terminal


@key_app.command("revoke")
def key_revoke(org: Annotated[uuid.UUID, typer.Option()], key: Annotated[uuid.UUID, typer.Argument()]) -> None:
    """Revoke the key with id KEY (see ``key list``): it is refused from the next request on."""
    from service.auth import service as auth
    from service.kit.db import session_scope
    from service.kit.problems import Problem

    try:
        with session_scope(session_factory(Settings())) as session:
            org_row = auth.get_organisation(session, org)
            revoked = auth.revoke_key(session, auth.system_principal(org_row, Role.admin), org, key)
            prefix, when = revoked.prefix, revoked.revoked_at
    except Problem as e:
        raise refused(e.detail) from None
    from service.kit.time import tz

    typer.echo(f"revoked {prefix} at {when.astimezone(tz(Settings())):%Y-%m-%d %H:%M:%S %Z}")


def _print_summary(title: str, summary) -> None:  # noqa: ANN001
    table = Table(title=title)
    table.add_column("stored", justify="right")
    table.add_column("repaired", justify="right")
    table.add_column("refused", justify="right")
    table.add_column("already there", justify="right")
    table.add_row(str(summary.stored), str(summary.repaired), str(len(summary.refused)), str(summary.skipped))
    Console().print(table)
    for label, reason in summary.refused:  # escaped: a reason may hold brackets (features[1]) rich takes for markup
        Console().print(f"[red]refused[/red] {escape(str(label))}: {escape(str(reason))}")


@demo_app.command("load")
def demo_load(folder: Path | None = None) -> None:
    """Load the Ruhr example (organisations, requests, and what other domains add). Safe to run twice."""
    from service.kit.db import session_scope
    from service.requests import loaders

    settings = Settings()
    folder = folder or settings.examples_dir / "ruhr"
    total = loaders.count_features(folder / "requests.geojson")
    with progress_bar() as bar, session_scope(session_factory(settings)) as session:
        task = bar.add_task("Ruhr example", total=total)
        summary = loaders.load_example(session, folder, settings, progress=lambda n: bar.advance(task, n))
        for module in modules("demo"):
            if hasattr(module, "load"):
                module.load(session, folder, settings)
        decided = [module.after_load(session, folder, settings) for module in modules("demo")
                   if hasattr(module, "after_load")]
    _print_summary("Ruhr example", summary)
    for result in decided:
        if "plan" in result:
            p = result["plan"]
            Console().print(f"plan {p['from']} .. {p['to']}: {p['placed']} slots placed, {p['unplaced']} unplaced")
        if "approved" in result:
            Console().print(f"coordination office: {result['approved']} slots approved")
        for label, reason in result.get("skipped", []):
            Console().print(f"[yellow]not approved[/yellow] {label}: {reason}")


@import_app.command("karlsruhe")
def import_karlsruhe(path: Path) -> None:
    """Import the City of Karlsruhe's published sites (Datensatz „Baustellen“, CC BY 4.0)."""
    from service.kit.db import session_scope
    from service.requests import loaders

    settings = Settings()
    try:
        total = loaders.count_features(path)
    except loaders.BadFile as exc:  # missing, unreadable or not a FeatureCollection: one line, nothing stored
        raise refused(str(exc)) from None
    with progress_bar() as bar, session_scope(session_factory(settings)) as session:
        task = bar.add_task("Karlsruhe", total=total)
        summary = loaders.load_karlsruhe(session, path, settings, progress=lambda n: bar.advance(task, n))
    _print_summary("Karlsruhe import", summary)


def _check_database(settings: Settings) -> None:
    """Refuse to start on a database that cannot be reached or is not at the code's migration head."""
    from service.kit.db import make_engine
    from service.kit.schema import check_schema

    engine = make_engine(settings)
    try:
        check_schema(settings, engine)
    finally:
        engine.dispose()


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging with the worker's line format: its own and its access lines start with the time (they
    had none), and the service's own loggers (``baustellen.*``) write through the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    from service.worker import LOG_FORMAT

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["default"]["fmt"] = LOG_FORMAT
    config["formatters"]["access"]["fmt"] = LOG_FORMAT.replace(
        "%(message)s", '%(client_addr)s - "%(request_line)s" %(status_code)s')
    config["loggers"]["baustellen"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@app.command()
def serve(host: str = "127.0.0.1", port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
          workers: Annotated[int, typer.Option(min=1, max=256)] = 1) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    _check_database(Settings())
    uvicorn.run("service.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=uvicorn_log_config())


@app.command()
def worker() -> None:
    """Run the background jobs (deadlines, plan runs, notice delivery) in this process."""
    from service.worker import run

    settings = Settings()
    _check_database(settings)
    run(settings)


for _module in modules("cli"):
    _module.register(app)


if __name__ == "__main__":  # python -m service.cli
    app()
