"""Settings: the only place that reads environment variables and the configuration file.

Secrets (database URLs, webhook secrets, tokens, keys) come only from the environment, as
`SecretStr`; the non-secret parts of the reconciler come from `schemawarden.toml`. Lower layers
receive typed objects. `load_settings` serves the reconciler commands, `load_service_settings`
the webhook service and its workers. A bad value is a ConfigurationError that names the
variable, never its value.
"""

from bot.settings.commands import (
    CONFIG_FILE,
    ENVIRONMENT_VARIABLES,
    URL_VARIABLE,
    ProcessSettings,
    Settings,
    environment_configs,
    load_settings,
)
from bot.settings.service import (
    DEFAULT_GITHUB_API_URL,
    DEFAULT_MAX_BODY_BYTES,
    SERVICE_VARIABLES,
    GitHubAppAuth,
    GitHubTokenAuth,
    ServedEnvironment,
    ServiceSettings,
    load_service_settings,
)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_GITHUB_API_URL",
    "DEFAULT_MAX_BODY_BYTES",
    "ENVIRONMENT_VARIABLES",
    "SERVICE_VARIABLES",
    "URL_VARIABLE",
    "GitHubAppAuth",
    "GitHubTokenAuth",
    "ProcessSettings",
    "ServedEnvironment",
    "ServiceSettings",
    "Settings",
    "environment_configs",
    "load_service_settings",
    "load_settings",
]
