"""The durable job queue: pgqueuer's tables in the control database, under names of ours.

pgqueuer reads the names of its tables from `PGQUEUER_*` environment variables (and from some
bare ones, such as `CHANNEL` and `FUNCTION`); `QUEUE_NAMES` reads none of them, so that only
`bot.settings` reads the environment and a stray variable cannot move the queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from pgqueuer.adapters.drivers.psycopg import PsycopgDriver
from pgqueuer.adapters.persistence import qb
from pgqueuer.domain.settings import DBSettings
from pgqueuer.domain.types import Channel
from pgqueuer.queries import Queries
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

QUEUE_SCHEMA = "schemawarden_queue"


class _QueueNames(DBSettings):
    """pgqueuer's object names from the arguments alone, never from the environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


QUEUE_NAMES: DBSettings = _QueueNames(db_schema=QUEUE_SCHEMA, channel=Channel("schemawarden_queue"))
QUEUE_TABLE = QUEUE_NAMES.qualified.queue_table
"""`schemawarden_queue.pgqueuer`: one row per queued, running or held (failed) job."""
QUEUE_LOG_TABLE = QUEUE_NAMES.qualified.queue_table_log
"""`schemawarden_queue.pgqueuer_log`: every transition of every job (queued, picked, successful...)."""
CHANNEL = Channel(QUEUE_NAMES.channel)


def queries(connection: psycopg.AsyncConnection[Any], listen: psycopg.AsyncConnection[Any] | None = None) -> Queries:
    """pgqueuer's queries over one autocommit connection (a transaction opened on it is honoured).

    A worker passes a second connection, `listen`, for LISTEN: psycopg holds a connection's lock
    while it waits for notifications (pgqueuer waits up to a second at a time), so on one
    connection every dequeue, heartbeat and status write queued behind that wait (measured: about
    2 jobs a second, and heartbeats a second late).
    """
    driver = PsycopgDriver(connection) if listen is None else _SplitDriver(connection, listen)
    return Queries(
        driver,
        qbe=qb.QueryBuilderEnvironment(QUEUE_NAMES),
        qbq=qb.QueryQueueBuilder(QUEUE_NAMES),
        qbs=qb.QuerySchedulerBuilder(QUEUE_NAMES),
    )


class _SplitDriver(PsycopgDriver):
    """Statements on one connection, LISTEN and its notifications on another (both autocommit)."""

    def __init__(self, connection: psycopg.AsyncConnection[Any], listen: psycopg.AsyncConnection[Any]) -> None:
        super().__init__(connection)
        self._listener = PsycopgDriver(listen)

    @property
    def shutdown(self) -> asyncio.Event:
        return self._listener.shutdown

    @property
    def tm(self) -> Any:
        return self._listener.tm

    async def add_listener(self, channel: str, callback: Any) -> None:
        await self._listener.add_listener(channel, callback)

    async def remove_listener(self, channel: str, callback: Any) -> None:
        await self._listener.remove_listener(channel, callback)

    async def __aenter__(self) -> _SplitDriver:
        await self._listener.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        # pgqueuer's watcher looks for the shutdown between waits of up to a second for a NOTIFY;
        # a worker told to stop need not wait that long: end the wait (it only reads notifications).
        watcher = getattr(self._listener, "_watcher", None)
        if watcher is not None and getattr(self._listener, "_entered", 1) <= 1:
            watcher.cancel()
        await self._listener.__aexit__(*exc)
