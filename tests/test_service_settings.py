"""The service's settings from the environment: every secret a SecretStr, every bad value a
ConfigurationError naming the variable and never its value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import (
    DEFAULT_GITHUB_API_URL,
    DEFAULT_MAX_BODY_BYTES,
    GitHubAppAuth,
    GitHubTokenAuth,
    load_service_settings,
)
from policies.errors import ConfigurationError

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsecretkeymaterial\n-----END RSA PRIVATE KEY-----\n"


def test_defaults_with_nothing_set() -> None:
    s = load_service_settings({})
    assert s.webhook_secrets == () and s.control_url is None and s.github_auth is None
    assert s.github_api_url == DEFAULT_GITHUB_API_URL and s.max_body_bytes == DEFAULT_MAX_BODY_BYTES
    assert s.data_dir == Path(".schemawarden/pgdata") and s.repositories is None
    assert s.environments_of("any/repository") == ()
    with pytest.raises(ConfigurationError, match="SCHEMAWARDEN_WEBHOOK_SECRET is not set"):
        s.require_webhook_secrets()


def test_secrets_rotate_and_stay_secret() -> None:
    s = load_service_settings({
        "SCHEMAWARDEN_WEBHOOK_SECRET": "old-one, new-one",
        "SCHEMAWARDEN_CONTROL_URL": "postgresql://u:pw@h/db",
        "SCHEMAWARDEN_STATUS_TOKEN": "status-t0ken",
        "SCHEMAWARDEN_GITHUB_TOKEN": "ghp_x",
        "SCHEMAWARDEN_GITHUB_API_URL": "https://ghe.example/api/v3/",
    })
    assert [x.get_secret_value() for x in s.webhook_secrets] == ["old-one", "new-one"]
    assert isinstance(s.github_auth, GitHubTokenAuth) and s.github_auth.token.get_secret_value() == "ghp_x"
    assert s.github_api_url == "https://ghe.example/api/v3"
    shown = repr(s) + str(s)
    for secret in ("old-one", "new-one", "pw@", "status-t0ken", "ghp_x"):
        assert secret not in shown


def test_a_single_repository_has_the_environments_of_its_url_variables() -> None:
    s = load_service_settings({"SCHEMAWARDEN_ENV_STAGING_URL": "postgresql://s", "SCHEMAWARDEN_ENV_PRODUCTION_URL": "postgresql://p"})
    assert [(e.name, e.approval_label, e.url_variable) for e in s.environments_of("whoever/sends")] == [
        ("production", "deploy:production", "SCHEMAWARDEN_ENV_PRODUCTION_URL"),
        ("staging", "deploy:staging", "SCHEMAWARDEN_ENV_STAGING_URL"),
    ]
    assert [(r, e.name) for r, e in s.all_environments()] == [(None, "production"), (None, "staging")]


def test_several_repositories_map_to_their_environments() -> None:
    s = load_service_settings({
        "SCHEMAWARDEN_REPOSITORIES": '{"Acme/Shop": {"staging": {"url_variable": "SHOP_STAGING_URL"},'
        ' "production": {"url_variable": "SHOP_PROD_URL", "label": "ship-it"}}, "acme/blog": {}}',
        "SHOP_STAGING_URL": "postgresql://s",
        "SHOP_PROD_URL": "postgresql://p",
    })
    shop = s.environments_of("acme/shop")
    assert shop is not None and [(e.name, e.approval_label) for e in shop] == [("staging", "deploy:staging"), ("production", "ship-it")]
    assert s.environments_of("acme/blog") == ()
    assert s.environments_of("someone/else") is None  # not served
    assert [(r, e.name) for r, e in s.all_environments()] == [("acme/shop", "staging"), ("acme/shop", "production")]


def test_an_app_key_from_a_file(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(PEM)
    s = load_service_settings({"SCHEMAWARDEN_GITHUB_APP_ID": "123", "SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH": str(key)})
    assert isinstance(s.github_auth, GitHubAppAuth) and s.github_auth.app_id == 123
    assert s.github_auth.private_key.get_secret_value() == PEM and "secretkeymaterial" not in repr(s)


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"SCHEMAWARDEN_WEBHOOK_SECRET": "s3cr3t-a,,s3cr3t-b"}, "SCHEMAWARDEN_WEBHOOK_SECRET holds an empty secret"),
        ({"SCHEMAWARDEN_WEBHOOK_MAX_BYTES": "-5"}, "SCHEMAWARDEN_WEBHOOK_MAX_BYTES must be a positive whole number"),
        ({"SCHEMAWARDEN_GITHUB_API_URL": "api.github.com/s3cr3t"}, "SCHEMAWARDEN_GITHUB_API_URL must be an http(s) URL"),
        ({"SCHEMAWARDEN_GITHUB_APP_ID": "12", "SCHEMAWARDEN_GITHUB_TOKEN": "s3cr3t"}, "both SCHEMAWARDEN_GITHUB_APP_ID and SCHEMAWARDEN_GITHUB_TOKEN"),
        ({"SCHEMAWARDEN_GITHUB_APP_ID": "app-s3cr3t", "SCHEMAWARDEN_GITHUB_PRIVATE_KEY": PEM}, "SCHEMAWARDEN_GITHUB_APP_ID must be the App's numeric id"),
        ({"SCHEMAWARDEN_GITHUB_APP_ID": "12"}, "SCHEMAWARDEN_GITHUB_APP_ID is set without the App's private key"),
        ({"SCHEMAWARDEN_GITHUB_APP_ID": "12", "SCHEMAWARDEN_GITHUB_PRIVATE_KEY": "s3cr3t"}, "SCHEMAWARDEN_GITHUB_PRIVATE_KEY is not a PEM private key"),
        ({"SCHEMAWARDEN_GITHUB_APP_ID": "12", "SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH": "/nonexistent/s3cr3t.pem"}, "cannot read the file named by SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH"),
        ({"SCHEMAWARDEN_GITHUB_PRIVATE_KEY": PEM}, "SCHEMAWARDEN_GITHUB_APP_ID is not"),
        ({"SCHEMAWARDEN_REPOSITORIES": "{s3cr3t"}, "SCHEMAWARDEN_REPOSITORIES is not valid JSON"),
        ({"SCHEMAWARDEN_REPOSITORIES": '{"acme/shop": {"staging": {"url_variable": "NOT_SET_S3CR3T"}}}'}, "names NOT_SET_S3CR3T, which is not set"),
        ({"SCHEMAWARDEN_REPOSITORIES": '{"acme/shop": {"staging": {"url": "postgresql://s3cr3t"}}}'}, "SCHEMAWARDEN_REPOSITORIES: acme/shop.staging.url"),
        ({"SCHEMAWARDEN_REPOSITORIES": '{"not a repo": {}}'}, "is not a repository name of the form owner/name"),
    ],
)
def test_a_bad_value_names_the_variable_not_the_value(environ: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_service_settings(environ)
    message = str(raised.value)
    assert names in message
    assert "s3cr3t" not in message.replace("NOT_SET_S3CR3T", "") and "secretkeymaterial" not in message


def test_the_github_client_config_comes_from_the_settings(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(PEM)
    app = load_service_settings({"SCHEMAWARDEN_GITHUB_APP_ID": "7", "SCHEMAWARDEN_GITHUB_PRIVATE_KEY_PATH": str(key),
                                 "SCHEMAWARDEN_GITHUB_API_URL": "https://ghe.example/api/v3",
                                 "SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES": "0.5"}).github_config()
    assert (app.mode, app.app_id, app.api_url, app.seconds_between_writes) == ("app", 7, "https://ghe.example/api/v3", 0.5)
    assert app.private_key is not None and app.private_key.get_secret_value() == PEM
    token = load_service_settings({"SCHEMAWARDEN_GITHUB_TOKEN": "ghp_x"}).github_config()
    assert (token.mode, token.seconds_between_writes) == ("token", 1.0)
    with pytest.raises(ConfigurationError, match="no GitHub credentials: set SCHEMAWARDEN_GITHUB_APP_ID"):
        load_service_settings({}).github_config()
    with pytest.raises(ConfigurationError, match="SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES must be a number"):
        load_service_settings({"SCHEMAWARDEN_GITHUB_SECONDS_BETWEEN_WRITES": "soon"})


def test_an_environment_has_its_owner_url_and_its_read_only_url() -> None:
    s = load_service_settings({
        "SCHEMAWARDEN_ENV_STAGING_URL": "postgresql://owner:pw1@db/app",
        "SCHEMAWARDEN_READONLY_STAGING_URL": "postgresql://reader:pw2@db/app",
        "SCHEMAWARDEN_ENV_PRODUCTION_URL": "postgresql://owner:pw3@db/prod",
    })
    by_name = {e.name: e for e in s.environments_of("any/repo") or ()}
    staging, production = by_name["staging"], by_name["production"]
    assert staging.url is not None and staging.url.get_secret_value().endswith("pw1@db/app")
    assert staging.reading_url is not None and "reader:pw2" in staging.reading_url.get_secret_value()
    assert production.reading_url is production.url  # no read-only role: the owner's URL reads too
    assert "pw" not in repr(s) and "pw" not in staging.model_dump_json()
    mapped = load_service_settings({
        "SCHEMAWARDEN_REPOSITORIES": '{"acme/shop": {"staging": {"url_variable": "SHOP_URL", '
        '"readonly_url_variable": "SHOP_RO_URL"}}}',
        "SHOP_URL": "postgresql://o@db/a", "SHOP_RO_URL": "postgresql://r@db/a",
    })
    (shop,) = mapped.environments_of("acme/shop") or ()
    assert shop.reading_url is not None and shop.reading_url.get_secret_value() == "postgresql://r@db/a"
