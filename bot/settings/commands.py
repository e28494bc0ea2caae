"""Settings of the reconciler commands (`plan`, `apply`, `status`, `check`): the policy file and
the `SCHEMAWARDEN_*` variables, read once into `Settings`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies.errors import ConfigurationError
from policies.policy_file import Policy, load_policy
from reconciler.environments import EnvironmentConfig, url_variable

CONFIG_FILE = "schemawarden.toml"
URL_VARIABLE = re.compile(r"^SCHEMAWARDEN_ENV_([A-Z0-9_]+)_URL$")
_DEFAULT_ENVIRONMENTS: dict[str, dict[str, Any]] = {
    "staging": {"gate": "auto"},
    "production": {"gate": "label"},
}
_URL_ONLY_ENVIRONMENT: dict[str, Any] = {"gate": "auto"}
"""An environment known only by its URL variable: "no configuration file needed" holds."""

ENVIRONMENT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("SCHEMAWARDEN_ENV_<NAME>_URL", "database URL of environment NAME (a secret: never printed)"),
    ("SCHEMAWARDEN_CONFIG", f"the policy file (default: ./{CONFIG_FILE}; --config)"),
    (
        "SCHEMAWARDEN_DATA_DIR",
        "folder of the embedded PostgreSQL (default: .schemawarden/pgdata; --data-dir)",
    ),
    ("SCHEMAWARDEN_ACTOR", "who applies, for the audit log (default: $USER; --actor)"),
    (
        "SCHEMAWARDEN_SCRATCH_URL",
        "superuser URL of the server for scratch databases (check --prove, rollback-sql, revert; default: "
        "the embedded PostgreSQL; never an environment's database)",
    ),
)
"""Every environment variable the reconciler commands read, for `--help` (name, meaning)."""


class ProcessSettings(BaseSettings):
    """Process-wide settings from `SCHEMAWARDEN_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SCHEMAWARDEN_", extra="ignore")

    data_dir: Path = Path(".schemawarden/pgdata")
    config: Path = Path(CONFIG_FILE)
    actor: str | None = None
    scratch_url: SecretStr | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the CLI needs: where the embedded server lives, the file, the environments."""

    data_dir: Path
    config_path: Path | None
    migrations_folder: Path
    environments: dict[str, EnvironmentConfig]
    actor: str
    declared: frozenset[str] = frozenset()
    """Environments the policy file names under [environments] (empty: the defaults are in use)."""
    scratch_url: SecretStr | None = None
    """`SCHEMAWARDEN_SCRATCH_URL`: the scratch server (None: the embedded PostgreSQL)."""

    def listed_environments(self) -> list[EnvironmentConfig]:
        """What `status` shows: declared in the file, given a URL, or marked embedded.

        The built-in staging and production (no [environments] in the file) are left out until
        they have a URL: nobody asked for them, so their missing URL is no error.
        """
        return [
            env
            for env in self.environments.values()
            if env.name in self.declared or env.url is not None or env.embedded
        ]

    def environment(self, name: str) -> EnvironmentConfig:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments)) or "none"
            raise ConfigurationError(
                f"unknown environment {name!r} (known: {known}). Add [environments.{name}] to "
                f"{CONFIG_FILE}, or set {url_variable(name)}"
            ) from None


def load_settings(
    config: Path | None = None,
    migrations: Path | None = None,
    data_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Settings from (in order of precedence) arguments, environment variables and the file."""
    environ = dict(os.environ) if environ is None else environ
    process = _process_settings(environ)
    config_path: Path | None = config or process.config
    policy = Policy.defaults()
    if config_path is not None and config_path.is_file():
        policy = _read_policy(config_path)
    elif config is not None:
        raise ConfigurationError(f"{config}: configuration file not found; check --config")
    else:
        config_path = None

    folder = migrations or Path(policy.migrations.folder)
    urls = {m.group(1).lower(): value for key, value in environ.items() if (m := URL_VARIABLE.match(key))}
    environments = environment_configs(policy.environments, str(config_path), urls)
    actor = process.actor or environ.get("USER") or environ.get("LOGNAME") or "unknown"
    return Settings(
        data_dir=data_dir or process.data_dir,
        config_path=config_path,
        migrations_folder=folder,
        environments=environments,
        actor=actor,
        declared=frozenset(policy.environments),
        scratch_url=process.scratch_url,
    )


def _process_settings(environ: dict[str, str]) -> ProcessSettings:
    known = {
        k: v
        for k, v in environ.items()
        if k in {"SCHEMAWARDEN_DATA_DIR", "SCHEMAWARDEN_CONFIG", "SCHEMAWARDEN_ACTOR", "SCHEMAWARDEN_SCRATCH_URL"}
        and v
    }
    try:
        return ProcessSettings.model_validate(
            {k.removeprefix("SCHEMAWARDEN_").lower(): v for k, v in known.items()}
        )
    except ValidationError as exc:
        raise ConfigurationError(
            f"bad SCHEMAWARDEN_* environment variable: {exc.errors()[0]['msg']}"
        ) from None


def _read_policy(path: Path) -> Policy:
    """The whole file, validated once by the policy model: unknown keys are errors everywhere."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    return load_policy(text, str(path))


def environment_configs(
    configured: dict[str, dict[str, Any]], config_path: str, urls: dict[str, str]
) -> dict[str, EnvironmentConfig]:
    """The environments of a policy's `[environments]` tables (`configured`; none: staging `auto` and
    production `label`) and of the URLs known by lower-case name (one not in the policy: gate
    `auto`), each with its URL. `config_path` names the policy file in errors (ConfigurationError).
    The CLI passes the `SCHEMAWARDEN_ENV_<NAME>_URL` variables; the bot, the environments it serves."""
    tables = {name: dict(table) for name, table in configured.items()} or dict(_DEFAULT_ENVIRONMENTS)
    for name in urls:
        tables.setdefault(name, dict(_URL_ONLY_ENVIRONMENT))
    environments: dict[str, EnvironmentConfig] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigurationError(f"{config_path}: [environments.{name}] must be a table")
        if "url" in table:
            raise ConfigurationError(
                f"{config_path}: environments.{name}.url: database URLs are secrets and are not read "
                f"from the file; set {url_variable(name)} instead"
            )
        url = urls.get(name.lower())
        try:
            environments[name] = EnvironmentConfig(name=name, url=SecretStr(url) if url else None, **table)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(p) for p in error["loc"])
            raise ConfigurationError(f"{config_path}: environments.{name}.{key}: {error['msg']}") from None
    return environments
