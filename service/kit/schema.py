"""The database schema's Alembic revision against the code's: ``serve`` and ``worker`` refuse to start on a
database the migrations have not (all) run on, instead of answering 500 and logging tracebacks."""

from __future__ import annotations

from sqlalchemy import Engine

from service.settings import Settings, SetupError, project_file


class SchemaNotCurrent(SetupError):
    """The database is not at the revision the code needs."""


def alembic_config(settings: Settings):  # noqa: ANN201 - alembic Config
    """The Alembic configuration of the project directory (``Settings.project_dir``), bound to the settings'
    database."""
    from alembic.config import Config

    cfg = Config(str(project_file(settings, "alembic.ini")))
    cfg.set_main_option("script_location", str(project_file(settings, "migrations")))
    cfg.attributes["database_url"] = settings.database_url
    return cfg


def code_heads(settings: Settings) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())


def database_heads(engine: Engine) -> set[str]:
    """The revisions the database is at; empty when the migrations never ran on it."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def check_schema(settings: Settings, engine: Engine) -> None:
    """:class:`SchemaNotCurrent` with one line saying what to do, unless the database is at the code's head."""
    need, have = code_heads(settings), database_heads(engine)
    if have == need:
        return
    needed = ", ".join(sorted(need))
    if not have:
        raise SchemaNotCurrent(f"the database is not initialised (no Alembic revision), the code needs {needed}: "
                               f"run `baustellen db upgrade`")
    at = ", ".join(sorted(have))
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(settings))
    known = all(_known(script, rev) for rev in have)
    if not known:
        raise SchemaNotCurrent(f"the database is at revision {at}, which this code does not know (it needs "
                               f"{needed}): run the newer code, or its `baustellen db downgrade {needed}` first")
    raise SchemaNotCurrent(f"the database is at revision {at}, the code needs {needed}: run `baustellen db upgrade`")


def _known(script, revision: str) -> bool:  # noqa: ANN001
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False
