"""Where the control database is, and connections to it that never print its URL.

`SCHEMAWARDEN_CONTROL_URL`, else database `schemawarden_control` on the embedded server (whose
data lives in `SCHEMAWARDEN_DATA_DIR`). Several replicas and workers share one control database;
PostgreSQL is their only coordinator.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bot.settings import ServiceSettings
from policies.errors import EXIT_UNREACHABLE, SchemawardenError
from reconciler.database.connect import scrub_secrets, target_of
from reconciler.database.embedded import EmbeddedPostgres

CONTROL_DATABASE = "schemawarden_control"
APPLICATION_NAME = "schemawarden-control"


class ControlDatabaseUnreachable(SchemawardenError):
    """The control database could not be reached or refused us (exit code 3)."""

    exit_code = EXIT_UNREACHABLE


def control_url(settings: ServiceSettings) -> str:
    """The control database's URL (a secret: never log it); starts the embedded server if needed."""
    if settings.control_url is not None:
        return settings.control_url.get_secret_value()
    return EmbeddedPostgres(settings.data_dir).database_url(CONTROL_DATABASE)


def describe(url: str) -> str:
    """How messages name the control database: `host:port/database`, never user or password."""
    try:
        return f"the control database at {target_of(url)}"
    except ValueError:
        return "the control database (its URL cannot be parsed)"


def unreachable(url: str, exc: BaseException) -> ControlDatabaseUnreachable:
    """The error for a failed connection, naming the target and the fix, never the URL."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ControlDatabaseUnreachable(
        f"cannot connect to {describe(url)}: {scrub_secrets(first, url)}. Check "
        "SCHEMAWARDEN_CONTROL_URL and that the server is up"
    )


def connect(url: str, *, application_name: str = APPLICATION_NAME) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection to the control database; ControlDatabaseUnreachable when it fails."""
    try:
        return psycopg.connect(url, autocommit=True, application_name=application_name, connect_timeout=10)
    except (psycopg.Error, ValueError) as exc:
        raise unreachable(url, exc) from None


async def connect_async(
    url: str, *, application_name: str = APPLICATION_NAME
) -> psycopg.AsyncConnection[tuple[Any, ...]]:
    """As `connect`, for the asyncio side (the web service, the queue's workers)."""
    try:
        return await psycopg.AsyncConnection.connect(
            url, autocommit=True, application_name=application_name, connect_timeout=10
        )
    except (psycopg.Error, ValueError) as exc:
        raise unreachable(url, exc) from None
