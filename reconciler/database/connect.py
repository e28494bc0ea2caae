"""Connections to environments, with errors that name the environment and never the URL."""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from policies.errors import EXIT_UNREACHABLE, SchemawardenError
from reconciler.environments import EnvironmentConfig

log = logging.getLogger(__name__)


class EnvironmentUnreachable(SchemawardenError):
    """The environment's database could not be reached or refused us (exit code 3)."""

    exit_code = EXIT_UNREACHABLE


@dataclass(frozen=True)
class Target:
    """Where a URL leads: host (or Unix socket directory), port and database; never user or password.

    `port` is a number, or the URL's text when it lists several (`5432,5433` for two hosts).
    """

    host: str
    port: int | str
    database: str
    hostaddr: str = ""
    """libpq's `hostaddr` (numeric addresses, one per host, used instead of resolving `host`)."""

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    def as_json(self) -> dict[str, Any]:
        """`{"host", "port", "database"}` as the JSON of plan, apply and status gives it."""
        return {"host": self.host, "port": self.port, "database": self.database}


def target_of(url: str) -> Target:
    """The target of a connection URL or conninfo string, as libpq would connect to it.

    What the URL leaves out comes from libpq's defaults (the `PG*` variables, the user's name for
    the database, the default socket directory for the host). Raises `ValueError` for a URL that
    cannot be parsed; the message never contains the URL.
    """
    try:
        given = {k: v for k, v in conninfo_to_dict(url).items() if v not in (None, "")}
    except psycopg.Error:
        raise ValueError("not a valid PostgreSQL URL or conninfo string") from None
    defaults = {
        option.keyword.decode(): option.val.decode() for option in pq.Conninfo.get_defaults() if option.val
    }
    settings = {**defaults, **given}
    host = str(settings.get("host") or settings.get("hostaddr") or _default_socket_directory())
    port_text = str(settings.get("port") or "5432")
    port: int | str = int(port_text) if port_text.isdigit() else port_text
    database = str(settings.get("dbname") or settings.get("user") or "")
    return Target(host=host, port=port, database=database, hostaddr=str(given.get("hostaddr") or ""))


def same_database(a: Target, b: Target) -> bool:
    """Whether two targets lead to the same database: the same database name and port, on hosts
    that are the same machine. Host names are resolved (`localhost` and `127.0.0.1` are one host),
    and a Unix socket directory, a loopback address and a name resolving to one all mean this
    machine. A name that does not resolve is compared as written (case-insensitively)."""
    if a.database != b.database:
        return False
    return any(
        port_a == port_b and (host_a.lower() == host_b.lower() or _host_identity(host_a) & _host_identity(host_b))
        for host_a, port_a in _endpoints(a)
        for host_b, port_b in _endpoints(b)
    )


def _endpoints(target: Target) -> list[tuple[str, str]]:
    """The (host or address, port) pairs libpq may connect to for `target`: a host list with one
    port or a port each, `hostaddr` used instead of the name where given, an empty entry the
    default (PostgreSQL documentation, libpq "Parameter Key Words": host, hostaddr, port)."""
    hosts = target.host.split(",")
    addresses = target.hostaddr.split(",") if target.hostaddr else []
    ports = str(target.port).split(",")
    pairs = []
    for index, host in enumerate(hosts):
        address = addresses[index].strip() if index < len(addresses) else ""
        port = (ports[index] if len(ports) > 1 and index < len(ports) else ports[0]).strip()
        pairs.append((address or host.strip(), port or "5432"))
    return pairs


_LOCAL = "local"


@functools.lru_cache(maxsize=64)
def _host_identity(host: str) -> frozenset[str]:
    """What a host may be: `_LOCAL` for this machine, else its resolved addresses (or its lowercased
    name when it does not resolve)."""
    name = host.strip()
    if not name or name.startswith(("/", "@")):  # a Unix socket directory (or abstract namespace)
        return frozenset({_LOCAL})
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return frozenset({name.lower()})
    return frozenset(_LOCAL if ipaddress.ip_address(a.split("%")[0]).is_loopback else a for a in addresses)


def _default_socket_directory() -> str:
    """The Unix socket directory libpq uses when no host is given (compiled in: /var/run/postgresql, /tmp).

    libpq only says it through a connection object: start one to a local socket (no network is
    touched) and ask it, then close it.
    """
    attempt = pq.PGconn.connect_start(b"port=5432 connect_timeout=1")
    try:
        return (attempt.host or b"/tmp").decode()
    finally:
        attempt.finish()


def connect_environment(
    env: EnvironmentConfig, url: str, application_name: str
) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection; transactions are opened explicitly where they belong.

    Raises `EnvironmentUnreachable` (naming the environment and its target, never the URL or
    password) when the server cannot be reached or refuses the login.
    """
    try:
        target: Target | str = target_of(url)
    except ValueError:
        target = "an unparsable URL"
    log.info("connecting to %s at %s as %r", env.label, target, application_name)
    try:
        conn = psycopg.connect(url, autocommit=True, application_name=application_name, connect_timeout=10)
    except psycopg.Error as exc:
        reason = scrub_secrets(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, url
        )
        raise EnvironmentUnreachable(
            f"cannot connect to {env.label} at {target}: {reason}. Check its URL "
            f"({env.url_variable}), that the server is up and that the role may log in"
        ) from None
    except ValueError as exc:  # a malformed URL
        raise EnvironmentUnreachable(
            f"the URL of {env.label} is malformed ({scrub_secrets(str(exc), url)}); fix {env.url_variable}"
        ) from None
    log.info(
        "connected to %s: PostgreSQL %s, backend pid %s",
        env.label,
        conn.info.parameter_status("server_version") or conn.info.server_version,
        conn.info.backend_pid,
    )
    return conn


def server_major(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The server's major version (16 for 16.2)."""
    return conn.info.server_version // 10000


@dataclass(frozen=True)
class ServerError:
    """What PostgreSQL said about an error, field by field (docs: protocol-error-fields.html).

    `position` is the 1-based character in the statement sent where PostgreSQL places the error,
    when it gives one; `context` is its CONTEXT (the call stack: a DO block's line is there).
    """

    sqlstate: str | None
    message: str
    detail: str | None = None
    hint: str | None = None
    position: int | None = None
    context: str | None = None

    @classmethod
    def of(cls, exc: psycopg.Error) -> ServerError:
        diag = exc.diag
        message = diag.message_primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        given = diag.statement_position or ""
        position = int(given) if given.isdigit() else None
        return cls(exc.sqlstate, message, diag.message_detail, diag.message_hint, position, diag.context)

    def describe(self) -> str:
        """`message (SQLSTATE x). DETAIL: ... HINT: ...`, as the messages of apply and proof give it."""
        text = self.message + (f" (SQLSTATE {self.sqlstate})" if self.sqlstate else "") + "."
        if self.detail:
            text += f" DETAIL: {self.detail}"
        if self.hint:
            text += f" HINT: {self.hint}"
        return text


def scrub_secrets(text: str, url: str) -> str:
    """Remove the URL and its password from a message, whatever the driver put in it."""
    cleaned = text.replace(url, "<url>")
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    if password:
        cleaned = cleaned.replace(str(password), "***")
    return cleaned
