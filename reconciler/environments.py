"""An environment's settings: where it is, how carefully to apply, where its history lives.

The URL is a secret (`SecretStr`) and is never printed; everything else may come from the
`[environments.NAME]` table of schemawarden.toml.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationInfo,
    field_validator,
)

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
    # Readers that arrive while our ACCESS EXCLUSIVE waits queue behind it for up to lock_timeout
    # (ms): short waits, retried often, stall them least (docs/decisions.md, "Defaults that protect
    # readers"). With these defaults apply keeps trying for about 10 to 14 s before it gives up.
    lock_timeout: DurationMs = 500
    statement_timeout: DurationMs = 30 * 60_000
    lock_retries: int = Field(default=10, ge=0, le=20)
    retry_backoff: DurationMs = 250
    retry_backoff_max: DurationMs = 1_000
    history_schema: str = "drizzle"
    history_table: str = "__drizzle_migrations"
    embedded: StrictBool = False
    """Only then may the environment, lacking a URL, use a database on the embedded server."""
    gate_label: str | None = Field(default=None, alias="label")
    """`label` in the policy file: the pull-request label that approves migrations for this
    environment (gate `label`); None: `deploy:<name>`."""
    approvers: tuple[str, ...] = ()
    """GitHub logins allowed to approve through the label; empty: anyone whose permission on the
    repository is `maintain` or above."""

    @field_validator("approvers", mode="before")
    @classmethod
    def _approvers_from_list(cls, value: object) -> object:
        if isinstance(value, list):
            if not all(isinstance(v, str) and v.strip() for v in value):
                raise ValueError("list GitHub logins, such as [\"alice\", \"bob\"]")
            return tuple(v.strip() for v in value)
        return value

    @property
    def approval_label(self) -> str:
        """The label that approves this environment's migrations on a pull request."""
        return self.gate_label or f"deploy:{self.name}"

    @field_validator("retry_backoff_max")
    @classmethod
    def _cap_not_below_the_first_backoff(cls, cap_ms: int, info: ValidationInfo) -> int:
        backoff_ms = info.data.get("retry_backoff")
        if backoff_ms is not None and cap_ms < backoff_ms:
            raise ValueError(
                f"{cap_ms} ms is below retry_backoff ({backoff_ms} ms): raise retry_backoff_max "
                "or lower retry_backoff"
            )
        return cap_ms

    def retry_delay_s(self, attempt: int, jitter: float) -> float:
        """Seconds to wait after lock attempt `attempt` (0 = the first) timed out, before the next.

        Exponential backoff with a cap and "equal jitter": the ceiling is `retry_backoff` (ms)
        doubled per attempt, at most `retry_backoff_max` (ms), and the delay lies between half
        the ceiling and the ceiling. `jitter` is a uniform draw in [0, 1] (0 gives half the
        ceiling, 1 the whole), passed in so that the function stays pure. The cap bounds how long
        after a blocker ends the migration may still be asleep; the jitter keeps retries from
        falling in step with a periodic blocker.
        """
        if attempt < 0 or not 0.0 <= jitter <= 1.0:
            raise ValueError(f"attempt must be >= 0 and jitter in [0, 1], got {attempt} and {jitter}")
        ceiling_ms = min(self.retry_backoff_max, self.retry_backoff << min(attempt, 32))
        return ceiling_ms * (0.5 + 0.5 * jitter) / 1000

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
