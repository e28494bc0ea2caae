"""Settings of the PR bot's service commands (`serve`, `worker`, `setup`): webhook secrets, the
control database, GitHub credentials and the repositories served with their environments' URLs,
read once into `ServiceSettings`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from bot.settings.commands import URL_VARIABLE
from policies.errors import ConfigurationError

if TYPE_CHECKING:
    from bot.github.config import GitHubConfig

DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
"""GitHub caps a webhook payload at 25 MB; a pull_request or push event is tens of KB (a push
lists at most 20 commits), so 5 MiB refuses nothing GitHub sends for the events we act on."""

SERVICE_VARIABLES: tuple[tuple[str, str], ...] = (
    ("SCHEMAWARDEN_WEBHOOK_SECRET", "the GitHub App's webhook secret; several, comma-separated, during rotation"),
    (
        "SCHEMAWARDEN_CONTROL_URL",
        "control database (queue, deliveries, approvals); default: database schemawarden_control "
        "on the embedded server",
    ),
    ("SCHEMAWARDEN_DATA_DIR", "folder of the embedded PostgreSQL (default: .schemawarden/pgdata)"),
    ("SCHEMAWARDEN_GITHUB_APP_ID", "GitHub App id (with SCHEMAWARDEN_GITHUB_PRIVATE_KEY[_PATH])"),
    ("SCHEMAWARDEN_GITHUB_PRIVATE_KEY", "the App's private key (PEM text); or _PRIVATE_KEY_PATH, a file"),
    ("SCHEMAWARDEN_GITHUB_TOKEN", "a token instead of an App (commit statuses instead of check runs)"),
    ("SCHEMAWARDEN_GITHUB_API_URL", f"GitHub's REST API (default {DEFAULT_GITHUB_API_URL}; GHES: https://HOST/api/v3)"),
    (
        "SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES",
        "pause between two writes to GitHub of one installation (default 1, GitHub's advice)",
    ),
    ("SCHEMAWARDEN_ENV_<NAME>_URL", "the owner role's URL of environment NAME (one repository served)"),
    ("SCHEMAWARDEN_READONLY_<NAME>_URL", "a read-only role's URL of NAME, for reading its history (optional)"),
    ("SCHEMAWARDEN_STATUS_TOKEN", "bearer token for /, /api/environments and /metrics beyond loopback"),
    ("SCHEMAWARDEN_SCRATCH_URL", "superuser URL of the scratch server where pull requests are proven (default: the embedded PostgreSQL)"),
    ("SCHEMAWARDEN_WEBHOOK_MAX_BYTES", f"largest webhook body accepted (default {DEFAULT_MAX_BODY_BYTES})"),
    (
        "SCHEMAWARDEN_REPOSITORIES",
        'for several repositories: JSON {"owner/name": {"ENV": {"url_variable": "VAR", "label": "deploy:ENV"}}}',
    ),
)
"""Every environment variable the service commands read, for `--help` (name, meaning)."""


class ServedEnvironment(BaseModel):
    """An environment of a repository served by the bot: its name, label, where its URLs are, and
    the URLs (secrets, read from those variables; never from the JSON map)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
    url_variable: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str = ""
    """The pull-request label that approves this environment; empty means `deploy:<name>`."""
    readonly_url_variable: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The variable of a read-only role's URL (history, statistics); default
    `SCHEMAWARDEN_READONLY_<NAME>_URL`, used when set."""
    url: SecretStr | None = Field(default=None, exclude=True, repr=False)
    """The owner role's URL (apply), from `url_variable`."""
    readonly_url: SecretStr | None = Field(default=None, exclude=True, repr=False)
    """The read-only role's URL, from `readonly_url_variable`, when set."""

    @property
    def approval_label(self) -> str:
        return self.label or f"deploy:{self.name}"

    @property
    def reading_url(self) -> SecretStr | None:
        """The URL to read history and statistics with: the read-only role's, else the owner's."""
        return self.readonly_url or self.url


@dataclass(frozen=True)
class GitHubAppAuth:
    """GitHub App authentication: the App id and its private key (PEM)."""

    app_id: int
    private_key: SecretStr


@dataclass(frozen=True)
class GitHubTokenAuth:
    """Authentication with a token (a token cannot create check runs: commit statuses instead)."""

    token: SecretStr


@dataclass(frozen=True)
class ServiceSettings:
    """What `serve`, `worker` and `setup` need, read once from the environment.

    `repositories` is None for a service serving one repository (whichever sends webhooks; its
    environments are those with a `SCHEMAWARDEN_ENV_<NAME>_URL` variable), or the map from
    `owner/name` to that repository's environments; a repository outside the map is not served.
    """

    webhook_secrets: tuple[SecretStr, ...]
    control_url: SecretStr | None
    data_dir: Path
    github_auth: GitHubAppAuth | GitHubTokenAuth | None
    github_api_url: str
    status_token: SecretStr | None
    max_body_bytes: int
    repositories: dict[str, tuple[ServedEnvironment, ...]] | None
    single_repository_environments: tuple[ServedEnvironment, ...] = ()
    github_seconds_between_writes: float = 1.0
    """Pause between two writes of one installation (GitHub's advice against its secondary limits)."""
    scratch_url: SecretStr | None = None
    """`SCHEMAWARDEN_SCRATCH_URL`: where pull requests' migrations are proven (None: the embedded server)."""

    def github_config(self) -> GitHubConfig:
        """The GitHub client's configuration from these settings (the one place they meet).

        Raises ConfigurationError when no credentials are set, naming the variables to set.
        """
        from bot.github.config import GitHubConfig

        auth = self.github_auth
        if auth is None:
            raise ConfigurationError(
                "no GitHub credentials: set SCHEMAWARDEN_GITHUB_APP_ID with SCHEMAWARDEN_GITHUB_PRIVATE_KEY "
                "(or SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH) for a GitHub App, or SCHEMAWARDEN_GITHUB_TOKEN"
            )
        values: dict[str, Any] = {
            "api_url": self.github_api_url,
            "seconds_between_writes": self.github_seconds_between_writes,
        }
        if isinstance(auth, GitHubAppAuth):
            values.update(app_id=auth.app_id, private_key=auth.private_key)
        else:
            values["token"] = auth.token
        return GitHubConfig.build(**values)

    def environments_of(self, repository: str) -> tuple[ServedEnvironment, ...] | None:
        """The environments of `repository` (`owner/name`), or None when it is not served."""
        if self.repositories is None:
            return self.single_repository_environments
        return self.repositories.get(repository.lower())

    def all_environments(self) -> list[tuple[str | None, ServedEnvironment]]:
        """Every (repository, environment) the service reconciles; repository None with one repository."""
        if self.repositories is None:
            return [(None, env) for env in self.single_repository_environments]
        return [(repo, env) for repo, envs in sorted(self.repositories.items()) for env in envs]

    def require_webhook_secrets(self) -> tuple[SecretStr, ...]:
        """The secrets, or ConfigurationError when none is set (the web service cannot verify)."""
        if not self.webhook_secrets:
            raise ConfigurationError(
                "SCHEMAWARDEN_WEBHOOK_SECRET is not set: the service cannot verify GitHub's signatures. "
                "Set it to the GitHub App's webhook secret (several, comma-separated, while rotating)"
            )
        return self.webhook_secrets


def load_service_settings(environ: dict[str, str] | None = None) -> ServiceSettings:
    """The service's settings from `environ` (default: the process environment).

    Raises ConfigurationError naming the variable (never its value) for a bad value.
    """
    environ = dict(os.environ) if environ is None else environ

    def value(name: str) -> str | None:
        text = environ.get(name)
        return text if text not in (None, "") else None

    secrets = _webhook_secrets(value("SCHEMAWARDEN_WEBHOOK_SECRET"))
    control = value("SCHEMAWARDEN_CONTROL_URL")
    status_token = value("SCHEMAWARDEN_STATUS_TOKEN")
    scratch = value("SCHEMAWARDEN_SCRATCH_URL")
    return ServiceSettings(
        webhook_secrets=secrets,
        control_url=SecretStr(control) if control else None,
        data_dir=Path(value("SCHEMAWARDEN_DATA_DIR") or ".schemawarden/pgdata"),
        github_auth=_github_auth(value),
        github_api_url=_api_url(value("SCHEMAWARDEN_GITHUB_API_URL") or DEFAULT_GITHUB_API_URL),
        status_token=SecretStr(status_token) if status_token else None,
        max_body_bytes=_positive_int("SCHEMAWARDEN_WEBHOOK_MAX_BYTES", value("SCHEMAWARDEN_WEBHOOK_MAX_BYTES"))
        or DEFAULT_MAX_BODY_BYTES,
        repositories=_repositories(value("SCHEMAWARDEN_REPOSITORIES"), environ),
        single_repository_environments=tuple(
            _with_urls(ServedEnvironment(name=m.group(1).lower(), url_variable=key), environ)
            for key in sorted(environ)
            if (m := URL_VARIABLE.match(key)) and environ[key]
        ),
        github_seconds_between_writes=_seconds(
            "SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES", value("SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES"), 1.0
        ),
        scratch_url=SecretStr(scratch) if scratch else None,
    )


def _with_urls(env: ServedEnvironment, environ: dict[str, str]) -> ServedEnvironment:
    """`env` with its owner URL and, when its variable is set, its read-only URL."""
    readonly_variable = env.readonly_url_variable or f"SCHEMAWARDEN_READONLY_{env.name.upper()}_URL"
    owner = environ.get(env.url_variable) or None
    readonly = environ.get(readonly_variable) or None
    return env.model_copy(update={
        "url": SecretStr(owner) if owner else None,
        "readonly_url": SecretStr(readonly) if readonly else None,
    })


def _seconds(name: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 60:
        raise ConfigurationError(f"{name} must be a number of seconds from 0 to 60")
    return seconds


def _webhook_secrets(text: str | None) -> tuple[SecretStr, ...]:
    if text is None:
        return ()
    parts = [part.strip() for part in text.split(",")]
    if any(not part for part in parts):
        raise ConfigurationError(
            "SCHEMAWARDEN_WEBHOOK_SECRET holds an empty secret (two commas, or one at an end): "
            "list the secrets separated by single commas"
        )
    return tuple(SecretStr(part) for part in parts)


def _positive_int(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) <= 0:
        raise ConfigurationError(f"{name} must be a positive whole number")
    return int(text)


def _api_url(text: str) -> str:
    if not re.match(r"^https?://[^\s/]+", text):
        raise ConfigurationError(
            "SCHEMAWARDEN_GITHUB_API_URL must be an http(s) URL such as https://api.github.com "
            "or https://HOST/api/v3 for GitHub Enterprise Server"
        )
    return text.rstrip("/")


def _github_auth(value: Any) -> GitHubAppAuth | GitHubTokenAuth | None:
    app_id = value("SCHEMAWARDEN_GITHUB_APP_ID")
    key = value("SCHEMAWARDEN_GITHUB_PRIVATE_KEY")
    key_path = value("SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH")
    token = value("SCHEMAWARDEN_GITHUB_TOKEN")
    if app_id is None:
        if key or key_path:
            raise ConfigurationError(
                "a GitHub App private key is set but SCHEMAWARDEN_GITHUB_APP_ID is not: set the App's id"
            )
        return GitHubTokenAuth(SecretStr(token)) if token else None
    if token:
        raise ConfigurationError(
            "both SCHEMAWARDEN_GITHUB_APP_ID and SCHEMAWARDEN_GITHUB_TOKEN are set: choose one "
            "(an App can create check runs; a token cannot)"
        )
    if not app_id.strip().isdigit():
        raise ConfigurationError("SCHEMAWARDEN_GITHUB_APP_ID must be the App's numeric id")
    if key and key_path:
        raise ConfigurationError(
            "both SCHEMAWARDEN_GITHUB_PRIVATE_KEY and SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH are set: choose one"
        )
    if key_path:
        try:
            key = Path(key_path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a PEM text file"
            raise ConfigurationError(
                f"cannot read the file named by SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH: {reason}"
            ) from None
    if not key:
        raise ConfigurationError(
            "SCHEMAWARDEN_GITHUB_APP_ID is set without the App's private key: set "
            "SCHEMAWARDEN_GITHUB_PRIVATE_KEY (PEM text) or SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH (a file)"
        )
    if "-----BEGIN" not in key or "PRIVATE KEY-----" not in key:
        source = "SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH's file" if key_path else "SCHEMAWARDEN_GITHUB_PRIVATE_KEY"
        raise ConfigurationError(
            f"{source} is not a PEM private key (-----BEGIN ... PRIVATE KEY-----): use the .pem file "
            "GitHub generated for the App"
        )
    return GitHubAppAuth(app_id=int(app_id), private_key=SecretStr(key))


_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _repositories(
    text: str | None, environ: dict[str, str]
) -> dict[str, tuple[ServedEnvironment, ...]] | None:
    """`SCHEMAWARDEN_REPOSITORIES`: {"owner/name": {"ENV": {"url_variable": "VAR", "label": "..."}}}."""
    if text is None:
        return None
    name = "SCHEMAWARDEN_REPOSITORIES"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f'{name} must be a JSON object: {{"owner/name": {{"staging": {{...}}}}}}')
    repositories: dict[str, tuple[ServedEnvironment, ...]] = {}
    for repository, environments in raw.items():
        if not _REPOSITORY.match(repository):
            raise ConfigurationError(f"{name}: {repository!r} is not a repository name of the form owner/name")
        if not isinstance(environments, dict):
            raise ConfigurationError(f"{name}: {repository} must map environment names to objects")
        served = []
        for env_name, table in environments.items():
            if not isinstance(table, dict):
                raise ConfigurationError(
                    f'{name}: {repository}.{env_name} must be an object such as {{"url_variable": "VAR"}}'
                )
            secret = next((key for key in ("url", "readonly_url") if key in table), None)
            if secret is not None:
                raise ConfigurationError(
                    f"{name}: {repository}.{env_name}.{secret}: database URLs are secrets and are not read "
                    "from this map; name their variables with url_variable and readonly_url_variable"
                )
            try:
                env = ServedEnvironment.model_validate({"name": env_name, **table})
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(str(p) for p in error["loc"])
                raise ConfigurationError(f"{name}: {repository}.{env_name}.{where}: {error['msg']}") from None
            if not environ.get(env.url_variable):
                raise ConfigurationError(
                    f"{name}: {repository}.{env_name} names {env.url_variable}, which is not set: set it to "
                    "the environment's database URL"
                )
            served.append(_with_urls(env, environ))
        repositories[repository.lower()] = tuple(served)
    return repositories
