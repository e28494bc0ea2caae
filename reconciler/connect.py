"""Connections to environments, with errors that name the environment and never the URL."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict

from policies.errors import SchemawardenError
from reconciler.environments import EnvironmentConfig


class EnvironmentUnreachable(SchemawardenError):
    """The environment's database could not be reached or refused us."""


def connect_environment(
    env: EnvironmentConfig, url: str, application_name: str
) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection; transactions are opened explicitly where they belong."""
    try:
        return psycopg.connect(url, autocommit=True, application_name=application_name, connect_timeout=10)
    except psycopg.Error as exc:
        reason = scrub_secrets(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, url
        )
        raise EnvironmentUnreachable(
            f"cannot connect to {env.label}: {reason}. Check its URL (SCHEMAWARDEN_ENV_"
            f"{env.name.upper()}_URL), that the server is up and that the role may log in"
        ) from None
    except ValueError as exc:  # a malformed URL
        raise EnvironmentUnreachable(
            f"the URL of {env.label} is malformed ({scrub_secrets(str(exc), url)}); "
            f"fix SCHEMAWARDEN_ENV_{env.name.upper()}_URL"
        ) from None


def server_major(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The server's major version (16 for 16.2)."""
    return conn.info.server_version // 10000


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
