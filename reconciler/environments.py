"""An environment's settings: where it is, how carefully to apply, where its history lives.

The URL is a secret (`SecretStr`) and is never printed; everything else may come from the
`[environments.NAME]` table of schemawarden.toml.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StrictBool

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, None: 1}


def parse_duration_ms(value: object) -> int:
    """`2s`, `500ms`, `5min`, `1h` or a number of milliseconds, as PostgreSQL settings read them."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '2s', '500ms', '5min' or milliseconds")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return int(float(match.group(1)) * _UNIT_MS[match.group(2)])
    raise ValueError(f"{value!r} is not a duration: use '2s', '500ms', '5min', '1h' or milliseconds")


DurationMs = Annotated[int, BeforeValidator(parse_duration_ms), Field(ge=0)]


class EnvironmentConfig(BaseModel):
    """One target database and how the reconciler treats it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: SecretStr | None = None
    gate: Literal["auto", "label", "manual"] = "manual"
    lock_timeout: DurationMs = 2_000
    statement_timeout: DurationMs = 30 * 60_000
    lock_retries: int = Field(default=3, ge=0, le=20)
    retry_backoff: DurationMs = 500
    history_schema: str = "drizzle"
    history_table: str = "__drizzle_migrations"
    embedded: StrictBool = False
    """Only then may the environment, lacking a URL, use a database on the embedded server."""

    @property
    def label(self) -> str:
        """How messages name the environment: by name, never by URL."""
        return f"environment {self.name!r}"

    @property
    def url_variable(self) -> str:
        """The environment variable that holds this environment's URL."""
        return url_variable(self.name)


def url_variable(name: str) -> str:
    """`SCHEMAWARDEN_ENV_<NAME>_URL`: where the URL of environment `name` is read from."""
    return f"SCHEMAWARDEN_ENV_{name.upper()}_URL"
